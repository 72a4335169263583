"""A finished training run folder (``runs/NAME``): its Keras model, standardisation and outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lightest import frames
from lightest.features import LightPointObservation
from training.features import FeatureSet
from training.train import TrainConfig, load_features, predict_observations


@dataclass
class KerasRun:
    """A trained run folder: its Keras model, standardisation and outputs."""

    path: Path
    run: dict[str, Any]
    model: Any

    @classmethod
    def load(cls, path: Path) -> KerasRun:
        import keras

        from training.models import CUSTOM_OBJECTS

        run_file = path / "run.json"
        if not run_file.is_file():
            raise FileNotFoundError(f"{path} is not a training run (no run.json)")
        model = keras.models.load_model(path / "model.keras", custom_objects=CUSTOM_OBJECTS, compile=False)
        return cls(path, json.loads(run_file.read_text()), model)

    @property
    def name(self) -> str:
        return self.run["config"]["name"]

    @property
    def config(self) -> TrainConfig:
        return TrainConfig(**self.run["config"])

    def features(self) -> FeatureSet:
        """The features the run was trained on, refused (``ValueError``) when a file at the config's paths now
        holds other data: its split, held-out figures and int8 calibration would silently mean something else."""
        fs = load_features(self.config.features)
        if fs.meta["dataset_hashes"] != self.run["dataset_hashes"]:
            raise ValueError(f"{self.path}: its features files {list(self.config.features)} now hold other data "
                             "than it was trained on (dataset hashes differ); re-extract them as they were or "
                             "retrain")  # fmt: skip
        return fs

    def predict(self, x: np.ndarray) -> np.ndarray:
        mean, std = np.asarray(self.run["input_mean"]), np.asarray(self.run["input_std"])
        return self.model.predict(((x - mean) / std).astype(np.float32), verbose=0, batch_size=1024)

    def predict_observations(self, observations: list[LightPointObservation]) -> np.ndarray:
        """Outputs for measured faces as the runtime computes them (mirror averaging included)."""
        return predict_observations(
            self.predict,
            observations,
            tuple(self.run["features"]),
            self.run["light_points"],
            self.run["outputs"],
            bool(self.run["config"].get("mirror_average", False)),
        )

    def directions(self, pred: np.ndarray, head_rotations: np.ndarray | None = None) -> np.ndarray:
        """Camera-frame directions. Head-frame outputs are rotated by each face's ``head_rotations``;
        seed position outputs go through the seed renders' frontal camera."""
        if self.run["outputs"][:3] == ["dir_x", "dir_y", "dir_z"]:
            return frames.normalize(pred[:, :3])
        if self.run["outputs"][:3] == ["head_dir_x", "head_dir_y", "head_dir_z"]:
            if head_rotations is None:
                raise ValueError("head-frame outputs need the faces' head rotations")
            return frames.normalize(np.einsum("nij,nj->ni", head_rotations, pred[:, :3]))
        rot = np.asarray(self.run["camera_rotation"])  # seed world -> camera (constant in seed renders)
        return frames.normalize(pred[:, :3] @ rot)
