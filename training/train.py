"""Train a regressor from a TOML config: ``python -m training train --config FILE``.

Writes ``runs/<name>/``: ``model.keras``, ``run.json`` (config, input standardisation, outputs, data hashes,
split, metrics), ``metrics.json``, TensorBoard ``logs/``, and ``loss.png`` / ``error_by_angle.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lightest import frames
from lightest.features import LightPointObservation, feature_vector
from lightest.lightpoints import get_light_point_set
from lightest.mirror import MirroredFeatures, merge_mirrored, mirrored
from lightest.model_card import DIRECTION_OUTPUTS, ModelCard, card_path_for
from lightest.physics import srgb_to_linear
from training.features import FeatureSet

REPO = Path(__file__).resolve().parents[1]


PRODUCT_MODEL = "parallel_direction"
#: Options only the product model reads: a seed config that sets one away from its default is refused, not ignored.
PRODUCT_ONLY = ("extra_hidden", "dropout", "input_noise", "direction_loss", "shared_hidden", "quantization_aware",
                "init_from")  # fmt: skip


#: Types of the config keys whose default (None, or none at all) does not show them.
_KIND: dict[str, type] = {"name": str, "model": str, "features": tuple, "blocks": tuple, "extra_hidden": int,
                          "shared_hidden": int, "split_seed": int, "init_from": str, "gamma_augment": tuple}


def _kind_of(default: object) -> type | None:
    return type(default) if isinstance(default, (bool, int, float, str, tuple)) else None


def _is_kind(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is tuple:  # a run.json's config holds its tuples as JSON lists
        return isinstance(value, (tuple, list))
    return isinstance(value, kind)


@dataclass(frozen=True)
class TrainConfig:
    """One training run (TOML keys of the same names)."""

    name: str
    features: tuple[str, ...]
    blocks: tuple[str, ...]
    model: str
    target: str = "light_dir_camera"  # "light_dir_head" (lightest.headpose frame) or "light_world_m" (seed xyz)
    extra_targets: tuple[str, ...] = ()  # e.g. ("ambient_ratio",)
    hidden: int = 16
    extra_hidden: int | None = None  # product model: hidden units of the extra-target branches (default: hidden)
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    split: str = "identity"  # "random" (the seed's 70/30) or "identity" (held-out people)
    validation_fraction: float = 0.3
    test_fraction: float = 0.0  # identity split only: people kept out of training AND model selection
    train_identities: tuple[str, ...] = ()  # identity split only: people always trained on (e.g. "lps")
    gamma_augment: tuple[float, float] | None = None  # random tone curve on the gray samples
    augment_copies: int = 0
    mirror: bool = False  # add every training face mirrored left-right (mesh light-points only)
    mirror_average: bool = False  # predict = mean of the face and its mirror image (lightest.mirror), also at run time
    albedo_augment: float = 0.0  # strength of random smooth skin-albedo fields applied to augmented copies
    patience: int = 30
    dropout: float = 0.0  # product model: dropout on each branch's hidden layer
    input_noise: float = 0.0  # product model: Gaussian noise std on the standardised inputs
    direction_loss: str = "cosine"  # product model: "cosine" (1 - cos) or "chord" (|u - v|, ~ the angle)
    shared_hidden: int | None = None  # product model: one Dense(relu) layer of this width before the branches
    quantization_aware: bool = False  # product model: train the weights through the int8 grid (training.models)
    seed: int = 0  # weights, shuffling and augmentation
    split_seed: int | None = None  # which people go to val/test (default: ``seed``)
    init_from: str | None = None  # product model: a float32 .tflite regressor (+ card) to fine-tune from
    exclude_hdri: tuple[str, ...] = ()  # natural presets: drop renders lit by these HDRIs (held out elsewhere)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():  # a TOML "false" or "2" would otherwise run (and mean True)
            kind = _KIND.get(name) or _kind_of(self.__dataclass_fields__[name].default)
            if value is not None and kind is not None and not _is_kind(value, kind):
                raise ValueError(f"{name} must be {kind.__name__}, got {value!r}")
        if self.model != PRODUCT_MODEL:
            fields = self.__dataclass_fields__
            product_only = [k for k in PRODUCT_ONLY if getattr(self, k) != fields[k].default]
            if product_only:
                names = ", ".join(product_only)
                raise ValueError(f"{names}: only the {PRODUCT_MODEL} model has these, not {self.model!r}")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        data = tomllib.loads(path.read_text())
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown config keys {sorted(unknown)}")
        for key in ("features", "blocks", "extra_targets", "gamma_augment", "train_identities", "exclude_hdri"):
            if isinstance(data.get(key), str):  # tuple("abc") would be ('a', 'b', 'c')
                raise ValueError(f"{path}: {key} must be a list, e.g. {key} = [{data[key]!r}]")
            if key in data and data[key] is not None:
                data[key] = tuple(data[key])
        return cls(**data)


def in_repo(path: str) -> Path:
    """A config's path: absolute as given, else relative to the repository."""
    return Path(path) if Path(path).is_absolute() else REPO / path


def load_features(paths: tuple[str, ...]) -> FeatureSet:
    """Concatenate feature files measured with the same landmarks and light-points."""
    sets = [FeatureSet.load(in_repo(p)) for p in paths]
    first = sets[0].meta
    for s in sets[1:]:
        for key in ("landmarks", "light_points", "has_normals"):
            if s.meta[key] != first[key]:
                raise ValueError(f"feature files disagree on {key}: {s.meta[key]} vs {first[key]}")
    arrays = {k: np.concatenate([s.arrays[k] for s in sets]) for k in sets[0].arrays}
    meta = {**first, "dataset_hashes": [s.meta["dataset_hash"] for s in sets], "sources": list(paths)}
    return FeatureSet(arrays, meta)


def split_rows(fs: FeatureSet, cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Row indices of train / val / test (faces found only)."""
    rng = np.random.default_rng(cfg.seed if cfg.split_seed is None else cfg.split_seed)
    usable = fs.found
    if cfg.exclude_hdri:
        if "hdri" not in fs.arrays:
            raise ValueError("exclude_hdri needs features with an 'hdri' label (natural presets)")
        unknown = sorted(set(cfg.exclude_hdri) - set(fs.arrays["hdri"].tolist()))
        if unknown:
            raise ValueError(f"exclude_hdri names {unknown}, which light no render of these features")
        usable = usable & ~np.isin(fs.arrays["hdri"], cfg.exclude_hdri)
    rows = np.flatnonzero(usable)
    if cfg.split == "random":
        rows = rng.permutation(rows)
        n_val = round(cfg.validation_fraction * len(rows))
        return {"train": np.sort(rows[n_val:]), "val": np.sort(rows[:n_val]), "test": np.sort(rows[:n_val])}
    if cfg.split != "identity":
        raise ValueError(f"split must be 'random' or 'identity', got {cfg.split!r}")
    who = fs.arrays["identity"][rows]
    missing = set(cfg.train_identities) - set(who.tolist())
    if missing:
        raise ValueError(f"train_identities not in the features: {sorted(missing)}")
    people = rng.permutation(np.setdiff1d(np.unique(who), cfg.train_identities))
    n_test = round(cfg.test_fraction * len(people))
    n_val = max(1, round(cfg.validation_fraction * len(people)))
    test_people, val_people = set(people[:n_test]), set(people[n_test : n_test + n_val])
    test = rows[np.isin(who, list(test_people))]
    val = rows[np.isin(who, list(val_people))]
    train = rows[~np.isin(who, list(test_people | val_people))]
    return {"train": train, "val": val, "test": test if len(test) else val}


#: Extra targets the product model may learn, with the scale their outputs are divided by (int8 ranges).
EXTRA_TARGETS = {"ambient_ratio": ("ambient", 1.0), "light_distance_m": ("distance_m", 3.0)}


def targets(fs: FeatureSet, cfg: TrainConfig, rows: np.ndarray) -> np.ndarray:
    """Target matrix: the direction (or seed position) then the scaled extra targets."""
    if cfg.target == "light_dir_head":  # the runtime's head frame (lightest.headpose), not the renderer's
        rot = fs.arrays["head_rotation"][rows]
        main = np.einsum("nji,nj->ni", rot, fs.label("light_dir_camera")[rows])
    else:
        main = fs.label(cfg.target)[rows]
    extra = []
    for t in cfg.extra_targets:
        if t not in EXTRA_TARGETS:
            raise ValueError(f"extra target must be one of {sorted(EXTRA_TARGETS)}, got {t!r}")
        extra.append(fs.label(t)[rows] / EXTRA_TARGETS[t][1])
    out = np.concatenate([main, *extra], axis=1).astype(np.float32)
    missing = ~np.isfinite(out).all(axis=1)
    if missing.any():
        names = [cfg.target] * 3 + list(cfg.extra_targets)
        labels = sorted({names[j] for j in np.flatnonzero(~np.isfinite(out).all(axis=0))})
        raise ValueError(f"{int(missing.sum())} of {len(rows)} rows have no {' / '.join(labels)} label (e.g. "
                         f"natural renders with other than one point light have no light_distance_m)")  # fmt: skip
    return out


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear 0-1 light to sRGB-encoded 0-255 (inverse of :func:`lightest.physics.srgb_to_linear`)."""
    c = np.clip(linear, 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def random_albedo(obs: LightPointObservation, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random multiplicative albedo over the face (blobs on face-normalised positions): real faces
    have brows, stubble, make-up and blush that the synthetic skin lacks."""
    uv = (obs.points[:, :2] - obs.points[:, :2].mean(axis=0)) / obs.face_size
    log_f = np.zeros(len(uv))
    for _ in range(rng.integers(1, 5)):
        centre, width = rng.uniform(-0.4, 0.4, 2), rng.uniform(0.08, 0.35)
        log_f += rng.normal(0.0, strength) * np.exp(-np.sum((uv - centre) ** 2, axis=1) / (2 * width**2))
    return np.exp(log_f)


def _augmented(obs: LightPointObservation, gamma: float, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    gray = obs.samples.gray
    if cfg.albedo_augment:
        gray = srgb_encode(srgb_to_linear(gray) * random_albedo(obs, cfg.albedo_augment, rng))
    gray = 255.0 * (gray / 255.0) ** gamma
    return feature_vector(replace(obs, samples=replace(obs.samples, gray=gray)), cfg.blocks)


def training_set(
    fs: FeatureSet, cfg: TrainConfig, rows: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Training features and targets: the rows, their mirror images (``mirror``), and ``augment_copies``
    random tone curves of all of those (``gamma_augment``)."""
    x, y = [fs.matrix(cfg.blocks, rows)], [targets(fs, cfg, rows)]
    observations = [(fs.observation(i), False, i) for i in rows]
    if cfg.mirror:
        index = get_light_point_set(fs.meta["light_points"]).mirror_index
        flipped = [(mirrored(o, index), True, i) for o, _, i in observations]
        x.append(np.stack([feature_vector(o, cfg.blocks) for o, _, _ in flipped]))
        y_flip = targets(fs, cfg, rows)
        y_flip[:, 0] *= -1.0  # the direction's x flips (camera and head frame alike)
        y.append(y_flip)
        observations += flipped
    if cfg.gamma_augment and cfg.augment_copies:
        lo, hi = np.log(cfg.gamma_augment[0]), np.log(cfg.gamma_augment[1])
        base_y = np.concatenate(y)
        for _ in range(cfg.augment_copies):
            gammas = np.exp(rng.uniform(lo, hi, len(observations)))
            x.append(np.stack([_augmented(o, g, cfg, rng) for (o, _, _), g in zip(observations, gammas, strict=True)]))
            y.append(base_y)
    return np.concatenate(x), np.concatenate(y)


#: Training target -> the model card's direction kind (:data:`lightest.model_card.DIRECTION_OUTPUTS`).
DIRECTION_KIND_OF_TARGET = {"light_dir_camera": "camera", "light_dir_head": "head", "light_world_m": "seed_position"}


def output_names(cfg: TrainConfig) -> list[str]:
    """The model's outputs as model-card names (:data:`lightest.model_card.OUTPUT_NAMES`)."""
    return [*DIRECTION_OUTPUTS[DIRECTION_KIND_OF_TARGET[cfg.target]]] + [EXTRA_TARGETS[t][0] for t in cfg.extra_targets]


def predict_observations(
    predict: Callable[[np.ndarray], np.ndarray],
    observations: list[LightPointObservation],
    blocks: tuple[str, ...],
    light_points: str,
    outputs: list[str],
    mirror_average: bool,
) -> np.ndarray:
    """Model outputs for measured faces, exactly as the runtime computes them: ``predict`` (standardised
    inside) on the feature vectors, averaged with the mirror images' outputs when ``mirror_average``."""
    x = np.stack([feature_vector(o, blocks) for o in observations])
    pred = predict(x)
    if not mirror_average:
        return pred
    mirror = MirroredFeatures(light_points, blocks)
    flipped = predict(np.stack([mirror(o, xi) for o, xi in zip(observations, x, strict=True)]))
    return merge_mirrored(pred, flipped, outputs)


def predicted_directions(pred: np.ndarray, fs: FeatureSet, cfg: TrainConfig, rows: np.ndarray) -> np.ndarray:
    """Camera-frame unit directions from model outputs (positions go through each render's camera)."""
    if cfg.target == "light_dir_camera":
        return frames.normalize(pred[:, :3])
    if cfg.target == "light_dir_head":
        return frames.normalize(np.einsum("nij,nj->ni", fs.arrays["head_rotation"][rows], pred[:, :3]))
    if cfg.target == "light_world_m":  # face centre at the world origin in every seed render
        rot = fs.label("camera_to_world")[rows].reshape(-1, 4, 4)[:, :3, :3]
        return frames.normalize(np.einsum("nji,nj->ni", rot, pred[:, :3]))
    raise ValueError(f"unknown target {cfg.target!r}")


def angle_stats(errors: np.ndarray) -> dict[str, float]:
    return {
        "median_deg": float(np.median(errors)),
        "mean_deg": float(np.mean(errors)),
        "p90_deg": float(np.percentile(errors, 90)),
        "n": len(errors),
    }


#: Names of the product model's branches, in output order (:func:`training.models.parallel_direction`).
BRANCHES = ("dir_x", "dir_y", "dir_z", "extra1", "extra2", "extra3")


def start_card(cfg: TrainConfig, fs: FeatureSet, n_inputs: int) -> ModelCard:
    """The card of ``cfg.init_from``, checked to fit ``cfg`` and the features: the same light-points, feature
    blocks, outputs, input count and mirror averaging (``ValueError`` naming the difference)."""
    path = in_repo(cfg.init_from)
    card = ModelCard.load(card_path_for(path))
    wanted = {
        "light_points": fs.meta["light_points"],
        "features": tuple(cfg.blocks),
        "outputs": tuple(output_names(cfg)),
        "mirror_average": cfg.mirror_average,
    }
    for key, value in wanted.items():
        theirs = tuple(getattr(card, key)) if isinstance(value, tuple) else getattr(card, key)
        if theirs != value:
            raise ValueError(f"init_from {path.name}: its {key} is {theirs!r}, this run's {value!r}")
    if len(card.input_mean) != n_inputs:
        raise ValueError(f"init_from {path.name}: it reads {len(card.input_mean)} inputs, the features give {n_inputs}")
    return card


def load_product_weights(model: Any, cfg: TrainConfig) -> None:
    """Copy the weights of the float32 product regressor ``cfg.init_from`` into ``model`` (the same
    ``parallel_direction`` architecture, built from ``cfg``): fine-tuning starts from a shipped model."""
    from export.tflite_layers import parallel_layers, read_dense_layers

    path = in_repo(cfg.init_from)
    design = parallel_layers(*read_dense_layers(path))
    if design is None:
        raise ValueError(f"init_from {path.name}: not the product model's parallel design")
    if len(design.outputs) > len(BRANCHES):
        raise ValueError(f"init_from {path.name}: {len(design.outputs)} outputs, the product model has at most 6")
    pairs = [(f"{name}_hidden", h) for name, h in zip(BRANCHES, design.hidden, strict=False)]
    pairs += [(f"{name}_out", o) for name, o in zip(BRANCHES, design.outputs, strict=False)]
    if design.shared is not None:
        pairs.append(("shared_hidden", design.shared))
    names = {layer.name for layer in model.layers}
    trainable = [layer.name for layer in model.layers if hasattr(layer, "kernel")]
    if sorted(trainable) != sorted(name for name, _ in pairs):
        raise ValueError(f"init_from {path.name}: its layers {sorted(n for n, _ in pairs)} are not this config's "
                         f"{sorted(trainable)}")  # fmt: skip
    for name, d in pairs:
        layer = model.get_layer(name) if name in names else None
        shape = tuple(layer.kernel.shape) if layer is not None else None
        if shape != d.kernel.shape:
            raise ValueError(f"init_from {path.name}: {name} is {d.kernel.shape}, the config's {shape}")
        layer.set_weights([d.kernel, d.bias])


def train(cfg: TrainConfig, out: Path) -> dict[str, Any]:
    import keras

    from training.models import BUILDERS, MONITOR, snap_to_int8_grid
    from training.plots import plot_error_by_angle, plot_loss

    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    fs = load_features(cfg.features)
    split = split_rows(fs, cfg)
    print(
        f"{cfg.name}: train {len(split['train'])}, val {len(split['val'])}, test {len(split['test'])} rows",
        file=sys.stderr,
    )
    if (cfg.mirror or cfg.mirror_average) and cfg.target == "light_world_m":
        raise ValueError("mirror augmentation and mirror averaging need a direction target")
    x_train, y_train = training_set(fs, cfg, split["train"], rng)
    x_val, y_val = fs.matrix(cfg.blocks, split["val"]), targets(fs, cfg, split["val"])
    if cfg.init_from:  # the start model's standardisation: its first layer's weights are in its units
        card = start_card(cfg, fs, x_train.shape[1])
        mean, std = np.asarray(card.input_mean), np.asarray(card.input_std)
    else:
        mean = x_train.mean(axis=0)
        std = np.maximum(x_train.std(axis=0), 1e-3)
    standardise = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    if cfg.model not in BUILDERS:
        raise ValueError(f"model must be one of {sorted(BUILDERS)}, got {cfg.model!r}")
    model = BUILDERS[cfg.model](
        x_train.shape[1],
        n_out=y_train.shape[1],
        hidden=cfg.hidden,
        extra_hidden=cfg.extra_hidden,
        learning_rate=cfg.learning_rate,
        dropout=cfg.dropout,
        input_noise=cfg.input_noise,
        loss=cfg.direction_loss,
        shared_hidden=cfg.shared_hidden,
        quantization_aware=cfg.quantization_aware,
    )
    if cfg.init_from:
        load_product_weights(model, cfg)
    out.mkdir(parents=True, exist_ok=True)
    monitor = MONITOR[cfg.model]
    history = model.fit(
        standardise(x_train),
        y_train,
        validation_data=(standardise(x_val), y_val),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        verbose=2,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode="min", patience=cfg.patience, restore_best_weights=True
            ),
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, mode="min", factor=0.5, patience=max(3, cfg.patience // 3)
            ),
            keras.callbacks.TensorBoard(log_dir=str(out / "logs")),
        ],
    )
    if cfg.quantization_aware:
        model = snap_to_int8_grid(model)
    model.save(out / "model.keras")
    metrics: dict[str, Any] = {"loss": {k: float(v[-1]) for k, v in history.history.items() if "loss" in k}}
    metrics["best_val_loss"] = float(min(history.history["val_loss"]))
    metrics["monitor"] = monitor
    metrics[f"best_{monitor}"] = float(min(history.history[monitor]))
    metrics["epochs_run"] = len(history.history["loss"])
    for part in ("val", "test"):
        rows = split[part]
        pred = predict_observations(
            lambda x: model.predict(standardise(x), verbose=0),
            [fs.observation(i) for i in rows],
            cfg.blocks,
            fs.meta["light_points"],
            output_names(cfg),
            cfg.mirror_average,
        )
        d = predicted_directions(pred, fs, cfg, rows)
        errors = frames.angle_between_deg(d, fs.label("light_dir_camera")[rows])
        metrics[part] = angle_stats(errors)
        if cfg.target == "light_world_m":
            y = targets(fs, cfg, rows)
            metrics[part]["position_mae"] = float(np.mean(np.abs(pred[:, :3] - y[:, :3])))
            metrics[part]["position_mse"] = float(np.mean((pred[:, :3] - y[:, :3]) ** 2))
        y = targets(fs, cfg, rows)
        for k, t in enumerate(cfg.extra_targets, start=3):
            name, scale = EXTRA_TARGETS[t]
            metrics[part][f"{name}_mae"] = float(np.mean(np.abs(pred[:, k] - y[:, k])) * scale)
        if part == "test":
            plot_error_by_angle(fs.label("light_dir_camera")[rows], errors, out / "error_by_angle.png", cfg.name)
    plot_loss(history.history, out / "loss.png", cfg.name)
    outputs = output_names(cfg)
    run = {
        "config": {k: v for k, v in cfg.__dict__.items()},
        "light_points": fs.meta["light_points"],
        "landmarks": fs.meta["landmarks"],
        "features": list(cfg.blocks),
        "input_mean": mean.tolist(),
        "input_std": std.tolist(),
        "outputs": outputs,
        "output_scale": [1.0, 1.0, 1.0] + [EXTRA_TARGETS[t][1] for t in cfg.extra_targets],
        "dataset_hashes": fs.meta["dataset_hashes"],
        "split": {k: len(v) for k, v in split.items()},
        "test_identities": sorted(set(fs.arrays["identity"][split["test"]].tolist())),
        "metrics": metrics,
    }
    if cfg.target == "light_world_m":
        rot = fs.label("camera_to_world")[split["train"]].reshape(-1, 4, 4)[:, :3, :3]
        if not np.allclose(rot, rot[0], atol=1e-6):
            raise ValueError("position targets need one fixed camera across the renders (the seed presets)")
        run["camera_rotation"] = rot[0].tolist()  # camera_to_world rotation: camera dir = world dir @ R
    (out / "run.json").write_text(json.dumps(run, indent=1))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training train", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="run folder (default runs/<name>)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in the run folder")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config)
    out = args.out or REPO / "runs" / cfg.name
    if (out / "run.json").exists() and not args.overwrite:
        raise ValueError(f"{out} already holds a run; give another --out, or --overwrite to replace it")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    metrics = train(cfg, out)
    print(json.dumps({k: metrics[k] for k in ("val", "test")}, indent=1))
    print(f"wrote {out}")
    return 0
