"""The light head: one ``.tflite`` graph from the landmark model's face crop to the light direction.

Everything after landmarks runs inside that graph, so Python and a phone compute the same thing by
construction: light-point lookup, disc sampling, ``gray_logz`` features, the card's standardisation, the
regressor, mirror averaging, head axes and the rotation into the camera frame.

Inputs (one face; names are the graph's signature names):

* ``crop``: ``(36864, 3)`` uint8 **RGB**, the pixels of the rotated 192x192 face crop the face-landmark
  model saw, row by row (the crop's own buffer, viewed flat: MediaPipe's ROI, 1.5x the face box, rotated so
  the eyes are level);
* ``landmarks``: ``(468, 3)`` float32, the mesh in crop pixels (u right, v down, depth toward the camera);
* ``crop_to_image``: ``(2, 3)`` float32 affine, ``image_uv = A @ (u_crop, v_crop, 1)``: a rotation and uniform
  scale (determinant > 0, as every mesh crop is; the head axes assume it);
* ``image_size``: ``(2,)`` float32, the frame's width and height in pixels.

Outputs (all float32): ``direction`` (3, unit, camera frame of :mod:`lightest.frames`), ``direction_norm``
(length of the raw averaged direction, ~1 in distribution), one scalar per extra output (``ambient``,
``distance_m``, ...), ``valid_fraction``, ``light_points`` (K, 2, image pixels), ``rgb`` (K, 3) and ``gray`` (K,)
disc means (0-255), ``valid`` (K,: 1.0 inside the frame, else 0.0), ``features`` (K,: the regressor's input
before standardisation) and ``head_rotation`` (3, 3), ``contrast`` (the standard deviation of log linear gray
over the valid light-points, before ``gray_logz`` divides by it: how much shading the face shows, a signal for
confidence). The graph is built by ``python -m export lighthead``; its card (``*.card.json``, ``"kind":
"light_head"``) records all of this plus the file's sha256.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from lightest.face.landmarker import CROP_SIZE
from lightest.face.roi import ROI_SCALE
from lightest.litert import open_interpreter
from lightest.sampling import disc_radius

__all__ = [
    "CROP_DISC_RADIUS",
    "CROP_SIZE",
    "INPUTS",
    "LIGHT_HEAD_KIND",
    "LightHead",
    "LightHeadCard",
    "LightHeadOutput",
]

LIGHT_HEAD_KIND = "light_head"
#: Disc radius in crop pixels: lightest's sampling rule (1.5 % of the face size) for a face spanning
#: CROP_SIZE / ROI_SCALE pixels, as every face does in the mesh model's crop (:mod:`lightest.face.roi`).
CROP_DISC_RADIUS = disc_radius(CROP_SIZE / ROI_SCALE)
#: name -> (shape, dtype) of the graph's inputs (the order of the docs; the graph's signature lists them
#: alphabetically, and their tensor positions are in the card's ``tensor_positions``).
INPUTS: dict[str, tuple[tuple[int, ...], str]] = {
    "crop": ((CROP_SIZE * CROP_SIZE, 3), "uint8"),
    "landmarks": ((468, 3), "float32"),
    "crop_to_image": ((2, 3), "float32"),
    "image_size": ((2,), "float32"),
}
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LightHeadCard:
    """What travels with a light-head ``.tflite``: how to feed it, what it returns, where it came from.

    Attributes:
        name: model name (``lighthead-<regressor>``).
        sha256: hex digest of the ``.tflite`` file; checked before the file is opened.
        light_points: light-point set sampled (:data:`lightest.lightpoints.LIGHT_POINT_SETS`).
        features: feature blocks the regressor reads (:mod:`lightest.features`).
        extras: names of the scalar outputs besides the direction (e.g. ``ambient``, ``distance_m``).
        crop_size / disc_radius: the crop side and the disc radius, in crop pixels.
        mirror_average: whether the graph averages the face with its mirror image.
        extra: everything else (the embedded regressor's card, ops, GPU-delegate check) kept verbatim.
    """

    name: str
    sha256: str
    light_points: str
    features: tuple[str, ...]
    extras: tuple[str, ...]
    crop_size: int = CROP_SIZE
    disc_radius: int = CROP_DISC_RADIUS
    mirror_average: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": LIGHT_HEAD_KIND,
            "name": self.name,
            "sha256": self.sha256,
            "light_points": self.light_points,
            "features": list(self.features),
            "extras": list(self.extras),
            "crop_size": self.crop_size,
            "disc_radius": self.disc_radius,
            "mirror_average": self.mirror_average,
            "inputs": {k: {"shape": list(s), "dtype": d} for k, (s, d) in INPUTS.items()},
            **self.extra,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "card") -> LightHeadCard:
        if data.get("kind") != LIGHT_HEAD_KIND or data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{source} is not a light-head card (kind {LIGHT_HEAD_KIND!r}, schema {SCHEMA_VERSION})")
        # the card's own fields plus what to_json adds; everything else is kept verbatim in ``extra``
        known = {f.name for f in fields(cls) if f.name != "extra"} | {"schema_version", "kind", "inputs"}
        try:
            card = cls(
                name=str(data["name"]),
                sha256=str(data["sha256"]),
                light_points=str(data["light_points"]),
                features=tuple(data["features"]),
                extras=tuple(data["extras"]),
                crop_size=int(data["crop_size"]),
                disc_radius=int(data["disc_radius"]),
                mirror_average=bool(data["mirror_average"]),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except KeyError as exc:
            raise ValueError(f"{source} lacks field {exc}") from exc
        if card.crop_size != CROP_SIZE:
            raise ValueError(f"{source}: crop_size {card.crop_size}, but the face mesh crops {CROP_SIZE} px")
        return card


@dataclass(frozen=True)
class LightHeadOutput:
    """The light head's answer for one face (arrays as the graph returned them).

    The per-point diagnostics (``rgb``, ``gray``, ``valid``, ``features``) and ``head_rotation`` are None when
    :meth:`LightHead.run` was asked for the answer only (``details=False``: what the Estimator does).
    """

    direction: np.ndarray  # (3,) unit camera-frame direction; NaN when the graph could not form one
    direction_norm: float
    extras: dict[str, float]
    valid_fraction: float
    light_points: np.ndarray  # (K, 2) image pixels
    contrast: float  # std of log linear gray over the valid light-points
    rgb: np.ndarray | None = None  # (K, 3) disc means, 0-255
    gray: np.ndarray | None = None  # (K,) disc means, 0-255 (BT.601 luma)
    valid: np.ndarray | None = None  # (K,) bool: the light-point lies inside the frame
    features: np.ndarray | None = None  # (K,) regressor input before standardisation
    head_rotation: np.ndarray | None = None  # (3, 3) head axes (columns) in the camera frame


class LightHead:
    """Run a light-head graph (:mod:`lightest.lighthead`) with LiteRT.

    Not thread-safe on its own (one interpreter); :class:`lightest.Estimator` serialises calls.
    """

    def __init__(self, model_path: str | os.PathLike[str], card: LightHeadCard, num_threads: int = 1) -> None:
        self.card = card
        self.path = Path(model_path)
        self._interp = open_interpreter(self.path, num_threads=num_threads, sha256=card.sha256)
        signature = self._interp.get_signature_runner()
        in_details, out_details = signature.get_input_details(), signature.get_output_details()
        missing = sorted(set(INPUTS) - set(in_details))
        if missing:
            raise ValueError(f"{self.path}: light-head graph lacks inputs {missing}")
        self._inputs = {name: in_details[name]["index"] for name in INPUTS}
        self._outputs = {name: d["index"] for name, d in out_details.items()}
        expected = {"direction", "direction_norm", "valid_fraction", "light_points", "rgb", "gray", "valid",
                    "features", "head_rotation", "contrast", *card.extras}
        if set(self._outputs) != expected:
            raise ValueError(f"{self.path}: outputs {sorted(self._outputs)} differ from its card's {sorted(expected)}")

    def run(
        self,
        crop: np.ndarray,
        landmarks: np.ndarray,
        crop_to_image: np.ndarray,
        image_size: tuple[int, int],
        details: bool = True,
    ) -> LightHeadOutput:
        """The light of one face. ``crop`` is the uint8 RGB crop (192x192x3, or its pixels flat), ``landmarks``
        the mesh in its pixels.

        ``details=False`` reads back only what a :class:`lightest.LightEstimate` needs (each output read is a
        copy and a Python call, so the per-point diagnostics are left in the graph unless asked for).
        """
        interp, idx = self._interp, self._inputs
        interp.set_tensor(idx["crop"], np.ascontiguousarray(crop, dtype=np.uint8).reshape(-1, 3))
        interp.set_tensor(idx["landmarks"], np.asarray(landmarks, dtype=np.float32))
        interp.set_tensor(idx["crop_to_image"], np.asarray(crop_to_image, dtype=np.float32))
        interp.set_tensor(idx["image_size"], np.asarray(image_size, dtype=np.float32))
        interp.invoke()
        get, out = interp.get_tensor, self._outputs
        more: dict[str, Any] = {}
        if details:
            more = {name: get(out[name]) for name in ("rgb", "gray", "features")}
            more["valid"] = get(out["valid"]) > 0.5
            more["head_rotation"] = get(out["head_rotation"]).astype(np.float64)
        return LightHeadOutput(
            direction=get(out["direction"]).astype(np.float64),
            direction_norm=float(get(out["direction_norm"])),
            extras={name: float(get(out[name])) for name in self.card.extras},
            valid_fraction=float(get(out["valid_fraction"])),
            light_points=get(out["light_points"]),
            contrast=float(get(out["contrast"])),
            **more,
        )
