"""Model cards: the JSON that travels with every ``.tflite`` and says how to feed and read it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CARD_SUFFIX", "DIRECTION_OUTPUTS", "OUTPUT_NAMES", "ModelCard", "card_path_for"]

CARD_SUFFIX = ".card.json"
SCHEMA_VERSION = 1

#: Output names the runtime knows how to turn into a LightEstimate.
#:   dir_x/dir_y/dir_z: light direction, camera frame (normalised by the runtime)
#:   head_dir_x/y/z: light direction in the head frame of lightest.headpose (rotated to the camera frame)
#:   pos_x/y/z: light position relative to the face centre in a fixed render frame (the seed thesis's
#:     models); ``position_to_camera`` (3x3) turns it into a camera-frame direction: ``pos @ M``
#:   distance_m: face-to-light distance in metres; ambient: ambient ratio in [0, 1]
#:   intensity: directional strength on the skin (0-1 pixel scale)
#: How a model can express the light direction: kind -> its three output names.
DIRECTION_OUTPUTS = {
    "camera": ("dir_x", "dir_y", "dir_z"),
    "head": ("head_dir_x", "head_dir_y", "head_dir_z"),
    "seed_position": ("pos_x", "pos_y", "pos_z"),
}
OUTPUT_NAMES = (*(n for names in DIRECTION_OUTPUTS.values() for n in names), "distance_m", "ambient", "intensity")


def card_path_for(model_path: str | os.PathLike[str]) -> Path:
    """``model.tflite`` -> ``model.card.json`` beside it."""
    p = Path(model_path)
    return p.with_name(p.stem + CARD_SUFFIX)


@dataclass(frozen=True)
class ModelCard:
    """How a regressor was trained, so the runtime feeds it exactly the features it learned from.

    Attributes:
        light_points: light-point set name (:data:`lightest.lightpoints.LIGHT_POINT_SETS`).
        features: feature blocks in input order (:data:`lightest.features.FEATURE_BLOCKS`).
        input_mean / input_std: per-input standardisation ``(x - mean) / std`` applied before the model.
        outputs: names of the model outputs, in order (:data:`OUTPUT_NAMES`).
        output_scale: the model's raw outputs times these give the named quantities (keeps int8 ranges
            similar across outputs); ones when omitted.
        position_to_camera: (seed position models) 3x3 taking ``pos_x/y/z`` to a camera-frame direction.
        mirror_average: run the model on the face and on its mirror image and average (lightest.mirror);
            needs a direction output and a light-point set with a mirror table.
        sha256: hex digest of the ``.tflite`` file; the runtime refuses a file that does not match.
        extra: anything else (training data hash, metrics, version) kept verbatim.
    """

    light_points: str
    features: tuple[str, ...]
    input_mean: tuple[float, ...]
    input_std: tuple[float, ...]
    outputs: tuple[str, ...]
    output_scale: tuple[float, ...] = ()
    position_to_camera: tuple[tuple[float, float, float], ...] | None = None
    mirror_average: bool = False
    name: str = "unnamed"
    sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.input_mean) != len(self.input_std):
            raise ValueError("model card: input_mean and input_std differ in length")
        if any(s <= 0 for s in self.input_std):
            raise ValueError("model card: input_std must be positive")
        unknown = [o for o in self.outputs if o not in OUTPUT_NAMES]
        if unknown:
            raise ValueError(f"model card: unknown outputs {unknown}; known: {OUTPUT_NAMES}")
        kinds = [k for k, names in DIRECTION_OUTPUTS.items() if set(names) <= set(self.outputs)]
        if len(kinds) != 1:
            raise ValueError(f"model card: outputs must hold exactly one direction triple of {DIRECTION_OUTPUTS}")
        if kinds[0] == "seed_position" and self.position_to_camera is None:
            raise ValueError("model card: pos_x/y/z outputs need position_to_camera (3x3)")
        if self.mirror_average and kinds[0] == "seed_position":
            raise ValueError("model card: mirror_average needs a direction output, not a seed position")
        if not self.output_scale:
            object.__setattr__(self, "output_scale", (1.0,) * len(self.outputs))
        if len(self.output_scale) != len(self.outputs):
            raise ValueError("model card: output_scale and outputs differ in length")

    @property
    def direction_kind(self) -> str:
        """Which :data:`DIRECTION_OUTPUTS` triple the model predicts."""
        return next(k for k, names in DIRECTION_OUTPUTS.items() if set(names) <= set(self.outputs))

    @property
    def input_size(self) -> int:
        return len(self.input_mean)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "light_points": self.light_points,
            "features": list(self.features),
            "input_mean": list(self.input_mean),
            "input_std": list(self.input_std),
            "outputs": list(self.outputs),
            "output_scale": list(self.output_scale),
            **({"mirror_average": True} if self.mirror_average else {}),
            **({} if self.sha256 is None else {"sha256": self.sha256}),
            **(
                {}
                if self.position_to_camera is None
                else {"position_to_camera": [list(r) for r in self.position_to_camera]}
            ),
            **self.extra,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCard:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"model card not found: {p} (every .tflite needs its {CARD_SUFFIX})")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"model card {p} is not valid JSON: {exc}") from exc
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"model card {p}: schema_version {data.get('schema_version')} != {SCHEMA_VERSION}")
        known = {
            "schema_version",
            "name",
            "light_points",
            "features",
            "input_mean",
            "input_std",
            "outputs",
            "output_scale",
            "position_to_camera",
            "mirror_average",
            "sha256",
        }
        try:
            return cls(
                name=str(data.get("name", "unnamed")),
                light_points=str(data["light_points"]),
                features=tuple(data["features"]),
                input_mean=tuple(float(v) for v in data["input_mean"]),
                input_std=tuple(float(v) for v in data["input_std"]),
                outputs=tuple(data["outputs"]),
                output_scale=tuple(float(v) for v in data.get("output_scale", ())),
                position_to_camera=None
                if data.get("position_to_camera") is None
                else tuple(tuple(float(v) for v in row) for row in data["position_to_camera"]),
                mirror_average=bool(data.get("mirror_average", False)),
                sha256=None if data.get("sha256") is None else str(data["sha256"]),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except KeyError as exc:
            raise ValueError(f"model card {p} lacks field {exc}") from exc
