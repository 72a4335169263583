"""Convert a training run to ``.tflite`` files and write their model cards.

``python -m export runs/NAME --out DIR [--install NAME]``

For each of float32, float16 and full-int8 (representative data = the run's own training features):
the ``.tflite``, its ``.card.json`` (inputs in order, standardisation, light-point set, outputs and
their frame, training data hashes and config, metrics), a parity report against Keras on the run's evaluation
rows, and the op list with ``tf.lite.experimental.Analyzer``'s GPU-delegate compatibility.
``--install NAME`` copies the three variants (+ cards) into ``lightest/models/NAME-<variant>.tflite``, where
``Estimator(model_path=...)`` runs them through the numpy path. The default model is a light-head graph built
from the float32 variant: ``python -m export lighthead lightest/models/NAME-float32.tflite --install`` (do that
only for a model that beats the shipped one on real faces).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lightest import frames
from lightest.litert import file_sha256
from lightest.model_card import DIRECTION_OUTPUTS, ModelCard, card_path_for
from lightest.tflite_runner import TFLiteRegressor
from training.runs import KerasRun
from training.train import REPO, split_rows

VARIANTS = ("float32", "float16", "int8")
MODELS = REPO / "lightest" / "models"


def convert(model: Any, variant: str, representative: np.ndarray | None = None) -> bytes:
    """TFLite flatbuffer of a Keras model in one of :data:`VARIANTS`."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if variant == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        if representative is None:
            raise ValueError("int8 needs representative data")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([row[None].astype(np.float32)] for row in representative)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif variant != "float32":
        raise ValueError(f"variant must be one of {VARIANTS}")
    return conv.convert()


def analyze(path: Path) -> dict[str, Any]:
    """Ops and GPU-delegate compatibility as reported by ``tf.lite.experimental.Analyzer``."""
    import tensorflow as tf

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tf.lite.experimental.Analyzer.analyze(model_path=str(path), gpu_compatibility=True)
    text = buf.getvalue()
    ops = sorted({line.split("Op#")[1].split()[1].split("(")[0] for line in text.splitlines() if "Op#" in line})
    gpu_ok = "GPU COMPATIBILITY WARNING" not in text and "ERROR" not in text
    return {"ops": ops, "gpu_delegate_compatible": gpu_ok, "analyzer_report": text}


def parity(
    run: KerasRun, path: Path, x: np.ndarray, keras_out: np.ndarray, truth: np.ndarray, rotations: np.ndarray
) -> dict[str, float]:
    """Keras (``keras_out`` on ``x``) vs LiteRT on the same standardised rows: output and angle differences,
    and errors vs truth."""
    runner = TFLiteRegressor(path)
    lite_out = np.stack([runner.predict(row) for row in x])
    d_keras, d_lite = run.directions(keras_out, rotations), run.directions(lite_out, rotations)
    diff = frames.angle_between_deg(d_keras, d_lite)
    err_keras, err_lite = frames.angle_between_deg(d_keras, truth), frames.angle_between_deg(d_lite, truth)
    return {
        "rows": len(x),
        "max_abs_output_diff": float(np.max(np.abs(keras_out - lite_out))),
        "median_angle_diff_deg": float(np.median(diff)),
        "max_angle_diff_deg": float(np.max(diff)),
        "keras_median_error_deg": float(np.median(err_keras)),
        "tflite_median_error_deg": float(np.median(err_lite)),
        "median_error_change_deg": float(np.median(err_lite) - np.median(err_keras)),
    }


def weight_rounding_drift(run: KerasRun, x: np.ndarray, keras_out: np.ndarray, rotations: np.ndarray) -> float:
    """Median angle between the Keras model (``keras_out`` on ``x``) and the same model with its kernels on
    the int8 grid (activations kept float): the share of the int8 drift that ``quantization_aware`` training
    removes (zero for a model trained with it)."""
    from training.models import snap_to_int8_grid

    rounded = snap_to_int8_grid(run.model)
    d_float = run.directions(keras_out, rotations)
    d_rounded = run.directions(rounded.predict(x, verbose=0, batch_size=1024), rotations)
    return float(np.median(frames.angle_between_deg(d_float, d_rounded)))


def card_for(run: KerasRun, variant: str, extra: dict[str, Any]) -> ModelCard:
    r = run.run
    return ModelCard(
        name=f"{run.name}-{variant}",
        light_points=r["light_points"],
        features=tuple(r["features"]),
        input_mean=tuple(r["input_mean"]),
        input_std=tuple(r["input_std"]),
        outputs=tuple(r["outputs"]),
        output_scale=tuple(r.get("output_scale", [1.0] * len(r["outputs"]))),
        position_to_camera=None if "camera_rotation" not in r else tuple(tuple(row) for row in r["camera_rotation"]),
        mirror_average=bool(r["config"].get("mirror_average", False)),
        extra={
            "variant": variant,
            "landmarks": r["landmarks"],
            "output_frame": "camera: +x image right, +y image up, +z toward the camera (lightest.frames)",
            "training_data_hashes": r["dataset_hashes"],
            "training_config": r["config"],  # e.g. quantization_aware: int8 weights exactly the float ones
            "training_metrics": r["metrics"],
            **extra,
        },
    )


def export(run_dir: Path, out: Path, install: str | None = None) -> dict[str, Any]:
    run = KerasRun.load(run_dir)
    if tuple(run.run["outputs"][:3]) not in DIRECTION_OUTPUTS.values():
        raise ValueError(f"{run_dir}: outputs {run.run['outputs']} hold no direction the runtime can read")
    cfg = run.config
    fs = run.features()
    split = split_rows(fs, cfg)
    mean, std = np.asarray(run.run["input_mean"]), np.asarray(run.run["input_std"])
    standardise = lambda rows: ((fs.matrix(cfg.blocks, rows) - mean) / std).astype(np.float32)  # noqa: E731
    rng = np.random.default_rng(0)
    representative = standardise(rng.permutation(split["train"])[:500])
    eval_rows = np.concatenate([split["val"], split["test"]]) if cfg.split == "identity" else split["val"]
    eval_rows = np.unique(eval_rows)
    x_eval, truth = standardise(eval_rows), fs.label("light_dir_camera")[eval_rows]
    rotations = fs.arrays["head_rotation"][eval_rows]
    keras_out = run.model.predict(x_eval, verbose=0, batch_size=1024)  # the reference for every variant
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"run": str(run_dir), "variants": {}}
    for variant in VARIANTS:
        path = out / f"{run.name}-{variant}.tflite"
        path.write_bytes(convert(run.model, variant, representative))
        info = analyze(path)
        par = parity(run, path, x_eval, keras_out, truth, rotations)
        note = ""
        if variant == "int8":
            drift = weight_rounding_drift(run, x_eval, keras_out, rotations)
            par["weight_rounding_median_angle_diff_deg"] = drift
            note = f", weight rounding alone {drift:.3f} deg"
        entry = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "parameters": int(run.model.count_params()),
            "ops": info["ops"],
            "gpu_delegate_compatible": info["gpu_delegate_compatible"],
            "parity": par,
        }
        (out / f"{run.name}-{variant}.analyzer.txt").write_text(info["analyzer_report"])
        card = card_for(run, variant, {"export": {k: v for k, v in entry.items() if k != "file"}})
        replace(card, sha256=file_sha256(path)).save(card_path_for(path))
        report["variants"][variant] = entry
        print(
            f"{variant:>8}: {entry['bytes']:>7} B, ops {','.join(entry['ops'])}, "
            f"GPU ok {entry['gpu_delegate_compatible']}, "
            f"max |diff| {par['max_abs_output_diff']:.4f}, angle diff median {par['median_angle_diff_deg']:.3f} deg, "
            f"median error {par['tflite_median_error_deg']:.2f} deg (Keras {par['keras_median_error_deg']:.2f}){note}",
            file=sys.stderr,
        )
    (out / "export_report.json").write_text(json.dumps(report, indent=1))
    for variant in VARIANTS if install else ():
        src, dst = out / f"{run.name}-{variant}.tflite", MODELS / f"{install}-{variant}.tflite"
        shutil.copyfile(src, dst)
        shutil.copyfile(card_path_for(src), card_path_for(dst))
        print(f"installed {src.name} as {dst.relative_to(REPO)}", file=sys.stderr)
    return report


def record_sha256(paths: list[Path]) -> None:
    """Write each ``.tflite``'s sha256 into its card (for files exported before cards carried it)."""
    for path in paths:
        card_path = card_path_for(path)
        replace(ModelCard.load(card_path), sha256=file_sha256(path)).save(card_path)
        print(f"{card_path}: sha256 recorded", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    parser.add_argument("model", type=Path, help="training run folder (runs/NAME)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--install", metavar="NAME", help="copy the variants into lightest/models as NAME-<variant>")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    export(args.model, args.out, args.install)
    return 0
