"""The natural-light model (issue 14 part 3): one parallel regressor, one branch per output group
(dominant direction, ambient share, 8 normalised SH luminance coefficients, dominant light chromaticity),
all in the head frame (:mod:`training.natural_targets`).

``python -m training natural-train --config training/configs/natural-v1.json``

Inputs, from the runtime's own light-point measurement (:class:`lightest.observer.LightPointObserver`, the
light-head graph's crop path, stored by ``python -m training features``): the ``gray_logz`` block (as
product-v5) plus :func:`colour_features`, a few numbers of log chromaticity at the light-points. The colour
block is computed here, not in :mod:`lightest.features`: exporting this model would first need it as a
runtime feature block and in the light-head graph (see docs and the closing note).

Train / val / test follow :mod:`training.natural_split` (val picks the epoch; test is never looked at here).
Writes ``runs/<name>/``: ``model.keras``, ``run.json`` (config, standardisation, outputs, data hashes, split
counts, val metrics).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from blender_gen import envsh
from lightest.features import LightPointObservation, feature_vector
from lightest.lightpoints import get_light_point_set
from lightest.mirror import mirrored
from lightest.physics import srgb_to_linear
from lightest.sampling import LUMA_RGB
from lightest.sh import luminance, sh_from_shares
from training import natural_targets as nt
from training.features import FeatureSet
from training.natural_split import natural_parts
from training.train import REPO, in_repo, random_albedo

#: Brightness quantile bins the colour block averages chroma over (lit vs shaded skin tell light colours apart).
COLOUR_BINS = 4


def colour_features(obs: LightPointObservation) -> np.ndarray:
    """``2 + 2 * COLOUR_BINS`` numbers: the face's mean log chromaticity (ln R/G, ln B/G of linear RGB over
    the valid light-points), then the mean chromaticity of each brightness quartile minus that mean."""
    valid = obs.samples.valid & np.isfinite(obs.samples.rgb).all(axis=1)
    out = np.zeros(2 + 2 * COLOUR_BINS)
    if valid.sum() < 2 * COLOUR_BINS:
        return out
    lin = srgb_to_linear(obs.samples.rgb[valid]) + 1e-3
    chroma = np.stack([np.log(lin[:, 0] / lin[:, 1]), np.log(lin[:, 2] / lin[:, 1])], axis=1)
    mean = chroma.mean(axis=0)
    order = np.argsort(obs.samples.gray[valid], kind="stable")
    bins = np.array_split(order, COLOUR_BINS)
    out[:2] = mean
    for b, idx in enumerate(bins):
        out[2 + 2 * b : 4 + 2 * b] = chroma[idx].mean(axis=0) - mean
    return out


#: The feature-based product-v5 regressor (same weights as the shipped light head's, float32), for stacking.
PRODUCT_V5 = REPO / "lightest" / "models" / "product-v5-float32.tflite"


class ProductV5Block:
    """product-v5's own answer as 4 inputs: its head-frame direction (raw, length = its agreement with the
    mirror image) and ambient share, computed from the observation exactly as the runtime's feature-based
    path does (standardise, predict, mirror-average, scale)."""

    def __init__(self, path: Path = PRODUCT_V5) -> None:
        from lightest.mirror import MirroredFeatures
        from lightest.model_card import ModelCard, card_path_for
        from lightest.tflite_runner import TFLiteRegressor

        self.card = ModelCard.load(card_path_for(path))
        self.model = TFLiteRegressor(path, sha256=self.card.sha256)
        self.mirror = MirroredFeatures(self.card.light_points, self.card.features)
        self.mean, self.std = np.asarray(self.card.input_mean), np.asarray(self.card.input_std)
        self.scale = np.asarray(self.card.output_scale)
        self.take = [self.card.outputs.index(n) for n in ("head_dir_x", "head_dir_y", "head_dir_z", "ambient")]

    def __call__(self, obs: LightPointObservation) -> np.ndarray:
        from lightest.mirror import merge_mirrored

        x = feature_vector(obs, self.card.features)
        out = self.model.predict((x - self.mean) / self.std)
        flipped = self.model.predict((self.mirror(obs, x) - self.mean) / self.std)
        merged = merge_mirrored(np.asarray(out, np.float64), np.asarray(flipped, np.float64), self.card.outputs)
        d_amb = (merged * self.scale)[self.take]
        return np.concatenate([d_amb, synthesised_sh(d_amb[:3], float(d_amb[3]))])


def synthesised_sh(direction: np.ndarray, ambient: float) -> np.ndarray:
    """The 8 normalised SH luminance coefficients (:data:`training.natural_targets.OUTPUTS`' ``sh1..sh8``) of
    one light from ``direction`` plus ambient share ``ambient``: the runtime's ``sh`` synthesis
    (:func:`lightest.sh.sh_from_shares`), in whatever frame ``direction`` is given."""
    norm = float(np.linalg.norm(direction))
    d = direction / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])
    lum = luminance(sh_from_shares(d, 1.0, float(np.clip(ambient, 0.0, 0.99))))
    return lum[1:] / lum[0]


_V5: ProductV5Block | None = None
#: Inputs the product-v5 block adds, last in the vector: its head-frame direction x, y, z, its ambient
#: share, and the 8 normalised SH coefficients the runtime synthesises from those two (:func:`synthesised_sh`).
V5_INPUTS = 12


def model_inputs(obs: LightPointObservation, blocks: tuple[str, ...], colour: bool, v5: bool = False) -> np.ndarray:
    """The model's input vector: runtime feature ``blocks``, then the colour block, then product-v5's answer."""
    global _V5
    parts = [feature_vector(obs, blocks)]
    if colour:
        parts.append(colour_features(obs))
    if v5:
        _V5 = _V5 or ProductV5Block()
        parts.append(_V5(obs))
    return np.concatenate(parts).astype(np.float32)


@dataclass(frozen=True)
class NaturalConfig:
    """One natural-light training run (JSON keys of the same names)."""

    name: str
    features: tuple[str, ...]
    blocks: tuple[str, ...] = ("gray_logz",)
    colour: bool = True
    v5: bool = False  # stack product-v5's direction and ambient as inputs (ProductV5Block)
    residual: bool = True  # with v5: direction, ambient, SH = product-v5's (SH synthesised) + a learnt correction
    train_direction: bool = True  # with v5: False keeps product-v5's direction as the answer (no direction branch)
    shared_hidden: int = 64
    hidden: dict[str, int] | None = None  # units per output group (default: direction 48, others 16)
    loss_weights: dict[str, float] | None = None  # per group (default 1; direction uses the chord distance)
    input_noise: float = 0.3
    dropout: float = 0.1
    epochs: int = 400
    batch_size: int = 64
    learning_rate: float = 2e-3
    patience: int = 40
    mirror: bool = True  # train on every face and its mirror image; average the two at prediction
    gamma_augment: tuple[float, float] | None = (0.6, 1.6)
    albedo_augment: float = 0.3
    augment_copies: int = 1
    tint_augment: tuple[float, float] | None = None  # kelvin range of random light tints on augmented copies
    seed: int = 0

    @classmethod
    def load(cls, path: Path) -> NaturalConfig:
        data = json.loads(path.read_text())
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {sorted(unknown)}")
        for key in ("features", "blocks", "gamma_augment", "tint_augment"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)

    def units(self) -> dict[str, int]:
        return {"direction": 48, "ambient": 16, "sh": 32, "colour": 16, **(self.hidden or {})}

    def weights(self) -> dict[str, float]:
        return {g: 1.0 for g in nt.GROUPS} | (self.loss_weights or {})


def load_natural_features(paths: tuple[str, ...]) -> FeatureSet:
    sets = [FeatureSet.load(in_repo(p)) for p in paths]
    keys = set.intersection(*(set(s.arrays) for s in sets))
    arrays = {k: np.concatenate([s.arrays[k] for s in sets]) for k in sorted(keys)}
    meta = {**sets[0].meta, "dataset_hashes": [s.meta["dataset_hash"] for s in sets], "sources": list(paths)}
    return FeatureSet(arrays, meta)


def split_parts(fs: FeatureSet) -> np.ndarray:
    """The natural split part of every row (``""``: in no part or face not found)."""
    a = fs.arrays
    rows = [{"hdri": a["hdri"][i], "hdri_rotation_deg": float(a["hdri_rotation_deg"][i, 0]),
             "head": a["head"][i], "image": a["image"][i]} for i in range(len(fs))]
    parts = natural_parts(rows)
    parts[~fs.found] = ""
    return parts


def all_targets(fs: FeatureSet, rows: np.ndarray) -> np.ndarray:
    a = fs.arrays
    return nt.head_targets(a["dominant_dir_camera"][rows], a["ambient_share"][rows, 0],
                           a["sh_rgb"][rows].reshape(-1, 9, 3), a["dominant_xy"][rows], a["head_rotation"][rows])


def _usable(fs: FeatureSet, rows: np.ndarray) -> np.ndarray:
    """Rows whose labels are all present (renders without a dominant light or colour are left out)."""
    y = all_targets(fs, rows)
    return rows[np.isfinite(y).all(axis=1)]


def random_tints(rng: np.random.Generator, n: int, kelvin: tuple[float, float]) -> np.ndarray:
    """``(n, 3)`` multiplicative light tints: a blackbody of log-uniform ``kelvin`` relative to D65's 6504 K
    (as the natural preset tints its HDRIs), luminance 1."""
    k = np.exp(rng.uniform(*np.log(kelvin), n))
    t = np.stack([envsh.planck_rgb(v) for v in k]) / envsh.planck_rgb(6504.0)
    return t / luminance(t)[:, None]


def tinted_targets(fs: FeatureSet, rows: np.ndarray, tints: np.ndarray) -> np.ndarray:
    """Targets of the rows as if every light were tinted by ``tints`` ``(n, 3)``: direction, ambient share and
    dominant colour re-derived from the tinted ``sh_rgb`` by :mod:`blender_gen.envsh` (the labels' own code;
    with white tints this is :func:`all_targets`). Rows whose tinted labels vanish keep their own."""
    a = fs.arrays
    sh = a["sh_rgb"][rows].reshape(-1, 9, 3) * tints[:, None, :]
    d, amb, xy = np.full((len(rows), 3), np.nan), np.full(len(rows), np.nan), np.full((len(rows), 2), np.nan)
    for i, s in enumerate(sh):
        di, rgb = envsh.dominant_direction(s), envsh.dominant_rgb(s)
        if di is not None and rgb is not None and float(luminance(rgb)) > 0:
            d[i], amb[i], xy[i] = di, envsh.ambient_share(s), envsh.rgb_to_xy(rgb)
    y = nt.head_targets(d, amb, sh, xy, a["head_rotation"][rows])
    bad = ~np.isfinite(y).all(axis=1)
    y[bad] = all_targets(fs, rows[bad])
    return y


def _tone(obs: LightPointObservation, gamma: float, albedo: float, tint: np.ndarray, rng: np.random.Generator
          ) -> LightPointObservation:
    """A random tone curve, a smooth neutral albedo field and a light tint applied to the linear RGB samples;
    gray recomputed from them as the sampler does (BT.601 luma of the encoded means)."""
    f = random_albedo(obs, albedo, rng) if albedo else np.ones(len(obs.samples.gray))
    lin = np.clip(srgb_to_linear(np.nan_to_num(obs.samples.rgb)) * f[:, None] * tint, 0.0, 1.0)
    enc = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    rgb = (255.0 * enc**gamma).astype(np.float32)
    gray = (rgb @ np.asarray(LUMA_RGB, dtype=np.float32)).astype(np.float32)
    return replace(obs, samples=replace(obs.samples, gray=gray, rgb=rgb))


def training_set(fs: FeatureSet, cfg: NaturalConfig, rows: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The rows, their mirror images (``mirror``), and ``augment_copies`` copies of all of those under a random
    tone curve, albedo field and (``tint_augment``) light tint, with targets re-derived for the tint."""
    observations = [fs.observation(i) for i in rows]
    obs_all, rows_all = list(observations), rows
    flipped = np.zeros(len(rows), bool)
    if cfg.mirror:
        index = get_light_point_set(fs.meta["light_points"]).mirror_index
        obs_all += [mirrored(o, index) for o in observations]
        rows_all, flipped = np.concatenate([rows, rows]), np.r_[flipped, np.ones(len(rows), bool)]

    def targets(tints: np.ndarray | None) -> np.ndarray:
        y = all_targets(fs, rows_all) if tints is None else tinted_targets(fs, rows_all, tints)
        y[flipped] = nt.mirror_targets(y[flipped])
        return y

    x = [np.stack([model_inputs(o, cfg.blocks, cfg.colour, cfg.v5) for o in obs_all])]
    y = [targets(None)]
    if cfg.gamma_augment:
        lo, hi = np.log(cfg.gamma_augment)
        for _ in range(cfg.augment_copies):
            g = np.exp(rng.uniform(lo, hi, len(obs_all)))
            n = len(obs_all)
            tints = random_tints(rng, n, cfg.tint_augment) if cfg.tint_augment else np.ones((n, 3))
            x.append(np.stack([
                model_inputs(_tone(o, gi, cfg.albedo_augment, ti, rng), cfg.blocks, cfg.colour, cfg.v5)
                for o, gi, ti in zip(obs_all, g, tints, strict=True)
            ]))
            y.append(targets(tints if cfg.tint_augment else None))
    return np.concatenate(x), np.concatenate(y).astype(np.float32)


def build_model(n_in: int, cfg: NaturalConfig) -> Any:
    """Shared Dense(relu) -> one Dense(relu) -> Dense(k) branch per output group, concatenated. With
    ``cfg.v5`` the last :data:`V5_INPUTS` inputs are product-v5's answer, unstandardised and noise-free: they
    feed the shared layer, and with ``cfg.residual`` the direction, ambient and SH branches learn corrections
    to it (their output layers start at zero, so training starts from product-v5 and its synthesised SH)."""
    import keras
    from keras import layers, ops

    from training.natural_layers import TakeColumns

    inp = keras.Input((n_in,), name="features")
    n_feat = n_in - (V5_INPUTS if cfg.v5 else 0)
    feats = TakeColumns(0, n_feat, name="light_point_inputs")(inp) if cfg.v5 else inp
    x = layers.GaussianNoise(cfg.input_noise, name="input_noise")(feats) if cfg.input_noise else feats
    if cfg.v5:
        prior = TakeColumns(n_feat, n_in, name="product_v5")(inp)
        x = layers.Concatenate(name="with_prior")([x, prior])
    x = layers.Dense(cfg.shared_hidden, activation="relu", name="shared_hidden")(x)
    outs = []
    for group, sl in nt.GROUPS.items():
        if group == "direction" and cfg.v5 and not cfg.train_direction:
            outs.append(TakeColumns(n_feat, n_feat + 3, name="direction_prior")(inp))
            continue
        h = layers.Dense(cfg.units()[group], activation="relu", name=f"{group}_hidden")(x)
        if cfg.dropout:
            h = layers.Dropout(cfg.dropout, name=f"{group}_dropout")(h)
        residual = cfg.v5 and cfg.residual and group in ("direction", "ambient", "sh")
        out = layers.Dense(sl.stop - sl.start, name=f"{group}_out",
                           kernel_initializer="zeros" if residual else "glorot_uniform")(h)
        if residual:
            prior_cols = {"direction": (0, 3), "ambient": (3, 4), "sh": (4, V5_INPUTS)}[group]
            cols = (n_feat + prior_cols[0], n_feat + prior_cols[1])
            out = layers.Add(name=f"{group}_plus_prior")([out, TakeColumns(*cols, name=f"{group}_prior")(inp)])
        outs.append(out)
    model = keras.Model(inp, layers.Concatenate(name="out")(outs), name="natural_parallel")
    w = cfg.weights()

    def chord(y_true: Any, y_pred: Any) -> Any:
        d_true, d_pred = y_true[:, :3], y_pred[:, :3]
        unit = d_pred / (ops.norm(d_pred, axis=1, keepdims=True) + 1e-7)
        return ops.sqrt(ops.sum(ops.square(unit - d_true), axis=1) + 1e-8)

    direction_weight = w["direction"] if cfg.train_direction or not cfg.v5 else 0.0

    def loss(y_true: Any, y_pred: Any) -> Any:
        total = direction_weight * chord(y_true, y_pred)
        if direction_weight:
            total = total + 0.1 * ops.square(ops.norm(y_pred[:, :3], axis=1) - 1.0)
        for group in ("ambient", "sh", "colour"):
            sl = nt.GROUPS[group]
            total = total + w[group] * ops.mean(ops.abs(y_true[:, sl] - y_pred[:, sl]), axis=1)
        return total

    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=loss, metrics=[chord])
    return model


@dataclass
class NaturalRun:
    """A trained natural-light run folder."""

    path: Path
    run: dict[str, Any]
    model: Any

    @classmethod
    def load(cls, path: Path) -> NaturalRun:
        import keras

        run_file = path / "run.json"
        if not run_file.is_file():
            raise FileNotFoundError(f"{path} is not a natural-light run (no run.json)")
        run = json.loads(run_file.read_text())
        if run.get("kind") != "natural":
            raise ValueError(f"{path} is not a natural-light run (kind {run.get('kind')!r})")
        import training.natural_layers  # noqa: F401  (registers the model's custom layer for loading)
        return cls(path, run, keras.models.load_model(path / "model.keras", compile=False))

    @property
    def name(self) -> str:
        return str(self.run["config"]["name"])

    @property
    def config(self) -> NaturalConfig:
        c = dict(self.run["config"])
        for key in ("features", "blocks", "gamma_augment", "tint_augment"):
            if c.get(key) is not None:
                c[key] = tuple(c[key])
        return NaturalConfig(**c)

    def predict_raw(self, observations: list[LightPointObservation]) -> np.ndarray:
        """Head-frame outputs (:data:`training.natural_targets.OUTPUTS`), mirror-averaged when trained so."""
        cfg = self.config
        mean, std = np.asarray(self.run["input_mean"]), np.asarray(self.run["input_std"])

        def predict(obs: list[LightPointObservation]) -> np.ndarray:
            x = np.stack([model_inputs(o, cfg.blocks, cfg.colour, cfg.v5) for o in obs])
            return self.model.predict(((x - mean) / std).astype(np.float32), verbose=0, batch_size=1024)

        y = predict(observations)
        if cfg.mirror:
            index = get_light_point_set(self.run["light_points"]).mirror_index
            y = 0.5 * (y + nt.mirror_targets(predict([mirrored(o, index) for o in observations])))
        return y

    def predict_guess(self, observations: list[LightPointObservation]) -> Any:
        """:class:`training.natural_eval.Guess` for measured faces (camera frame)."""
        from training.natural_eval import Guess

        rot = np.stack([np.eye(3) if o.head_rotation is None else o.head_rotation for o in observations])
        out = nt.camera_outputs(self.predict_raw(observations), rot)
        return Guess(out["direction"], out["ambient"], out["sh"], out["xy"])


def train(cfg: NaturalConfig, out: Path) -> dict[str, Any]:
    import keras

    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    fs = load_natural_features(cfg.features)
    parts = split_parts(fs)
    split = {p: _usable(fs, np.flatnonzero(parts == p)) for p in ("train", "val", "test")}
    print(f"{cfg.name}: " + ", ".join(f"{p} {len(r)}" for p, r in split.items()) + " rows", file=sys.stderr)
    x_train, y_train = training_set(fs, cfg, split["train"], rng)
    x_val = np.stack([model_inputs(fs.observation(i), cfg.blocks, cfg.colour, cfg.v5) for i in split["val"]])
    y_val = all_targets(fs, split["val"]).astype(np.float32)
    mean, std = x_train.mean(axis=0), np.maximum(x_train.std(axis=0), 1e-3)
    if cfg.v5:  # product-v5's answer enters as it is (the residual branches add to it)
        mean[-V5_INPUTS:], std[-V5_INPUTS:] = 0.0, 1.0
    model = build_model(x_train.shape[1], cfg)
    out.mkdir(parents=True, exist_ok=True)
    history = model.fit(
        ((x_train - mean) / std).astype(np.float32), y_train,
        validation_data=(((x_val - mean) / std).astype(np.float32), y_val),
        epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=2,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(3, cfg.patience // 3)),
        ],
    )
    model.save(out / "model.keras")
    run = {
        "kind": "natural",
        "config": asdict(cfg),
        "outputs": list(nt.OUTPUTS),
        "input_mean": mean.tolist(),
        "input_std": std.tolist(),
        "landmarks": fs.meta["landmarks"],
        "light_points": fs.meta["light_points"],
        "dataset_hashes": fs.meta["dataset_hashes"],
        "split_rows": {p: len(r) for p, r in split.items()},
        "parameters": int(model.count_params()),
        "epochs_run": len(history.history["loss"]),
        "best_val_loss": float(min(history.history["val_loss"])),
    }
    (out / "run.json").write_text(json.dumps(run, indent=1))
    loaded = NaturalRun(out, run, model)
    from training.natural_eval import NaturalTruth, natural_scores

    val_rows = split["val"]
    a = fs.arrays
    truth = NaturalTruth(a["dominant_dir_camera"][val_rows], a["ambient_share"][val_rows, 0],
                         a["sh_rgb"][val_rows].reshape(-1, 9, 3), a["dominant_xy"][val_rows],
                         a["dominant_cct_k"][val_rows, 0])
    val_obs = [fs.observation(i) for i in val_rows]
    run["val"] = natural_scores(loaded.predict_guess(val_obs), truth)
    run["val_product_v5"] = natural_scores(product_v5_guess(val_obs), truth)  # the same rows, for comparison
    (out / "run.json").write_text(json.dumps(run, indent=1))
    return run


def product_v5_guess(observations: list[LightPointObservation]) -> Any:
    """product-v5's answer (:class:`ProductV5Block`) as a :class:`training.natural_eval.Guess`: its direction
    and ambient, ``sh`` synthesised from them as the runtime does, no colour."""
    from training.natural_eval import Guess

    block = ProductV5Block()
    v = np.stack([block(o) for o in observations])
    rot = np.stack([np.eye(3) if o.head_rotation is None else o.head_rotation for o in observations])
    d = np.einsum("nij,nj->ni", rot, v[:, :3])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    sh = np.stack([sh_from_shares(di, 1.0, float(np.clip(ai, 0.0, 0.99))) for di, ai in zip(d, v[:, 3], strict=True)])
    return Guess(d, v[:, 3].copy(), sh, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training natural-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="run folder (default runs/<name>)")
    args = parser.parse_args(argv)
    cfg = NaturalConfig.load(args.config)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run = train(cfg, args.out or REPO / "runs" / cfg.name)
    keys = ("split_rows", "parameters", "epochs_run", "val", "val_product_v5")
    print(json.dumps({k: run[k] for k in keys}, indent=1))
    return 0
