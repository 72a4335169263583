"""Build the light-head graph: everything after landmarks as one ``.tflite`` of builtin ops.

``python -m export lighthead lightest/models/product-v5-float32.tflite [--out DIR] [--install]``

Takes a float32 regressor and its card (light-points, feature blocks, standardisation, outputs, mirror
averaging) and wraps it in TensorFlow ops that do what :class:`lightest.LightPointObserver` and the
runtime's model step did in numpy: light-point lookup on the 468 landmarks, disc sampling in the
192x192 face crop, sRGB decoding, ``gray_logz``, standardisation, the regressor on the face and its mirror
image, averaging, head axes and the rotation into the camera frame. Every table comes from the runtime's
own modules (light-point set, mirror table, head-axis vertices, disc rule, ``LOG_FLOOR``), so there is no
second copy of them. The card (``lightest.lighthead.LightHeadCard``) records the file's sha256, its ops and
their GPU-delegate compatibility (``tf.lite.experimental.Analyzer``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from export.tflite_layers import regressor_from_tflite
from lightest.features import LOG_FLOOR
from lightest.headpose import AXIS_VERTICES
from lightest.lighthead import CROP_DISC_RADIUS, CROP_SIZE, INPUTS, LightHeadCard
from lightest.lightpoints import get_light_point_set
from lightest.litert import file_sha256
from lightest.mirror import X_OUTPUTS
from lightest.model_card import DIRECTION_OUTPUTS, ModelCard, card_path_for
from lightest.sampling import LUMA_RGB, disc_offsets

__all__ = ["build_light_head", "main"]

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "lightest" / "models"


def _unit(v: Any) -> Any:
    import tensorflow as tf

    return v * tf.math.rsqrt(tf.reduce_sum(v * v))


def build_light_head(card: ModelCard, regressor: Any) -> Any:
    """A ``tf.function`` (signature = :data:`lightest.lighthead.INPUTS`) computing the light head."""
    import tensorflow as tf

    if card.features != ("gray_logz",):
        raise ValueError(f"the light-head graph computes gray_logz features; this card needs {card.features}")
    kind = card.direction_kind
    if kind == "seed_position":
        raise ValueError("seed position models need dlib landmarks; they run through the numpy path")
    points = get_light_point_set(card.light_points)
    if not points.is_vertex_set or points.scheme != "mediapipe468":
        raise ValueError(f"light-point set {card.light_points!r} is not a set of mesh vertices")
    vertex_ids = tf.constant(points.a, dtype=tf.int32)
    mirror = tf.constant(points.mirror_index, dtype=tf.int32)
    dx, dy = (tf.constant(o.astype(np.float32)) for o in disc_offsets(CROP_DISC_RADIUS))
    axis_ids = tf.constant(list(AXIS_VERTICES.values()), dtype=tf.int32)  # right eye, left eye, forehead, chin
    mean = tf.constant(np.asarray(card.input_mean, dtype=np.float32))
    std = tf.constant(np.asarray(card.input_std, dtype=np.float32))
    scale = tf.constant(np.asarray(card.output_scale, dtype=np.float32))
    sign = tf.constant([-1.0 if n in X_OUTPUTS else 1.0 for n in card.outputs], dtype=tf.float32)
    direction_ids = tf.constant([card.outputs.index(n) for n in DIRECTION_OUTPUTS[kind]], dtype=tf.int32)
    extras = [n for n in card.outputs if n not in DIRECTION_OUTPUTS[kind]]
    luma = tf.constant(LUMA_RGB, dtype=tf.float32)
    pixel_axes = tf.constant([1.0, -1.0, 1.0])
    last = float(CROP_SIZE - 1)
    spec = [tf.TensorSpec(shape, getattr(tf, dtype), name=name) for name, (shape, dtype) in INPUTS.items()]

    @tf.function(input_signature=spec)
    def light_head(crop: Any, landmarks: Any, crop_to_image: Any, image_size: Any) -> dict[str, Any]:
        linear, offset = crop_to_image[:, :2], crop_to_image[:, 2]
        pixel_scale = tf.sqrt(tf.abs(linear[0, 0] * linear[1, 1] - linear[0, 1] * linear[1, 0]))
        # light-points: disc means in the crop, positions in the frame
        pts = tf.gather(landmarks, vertex_ids)
        centre = tf.round(pts[:, :2])
        xs = tf.clip_by_value(centre[:, 0:1] + dx[None, :], 0.0, last)
        ys = tf.clip_by_value(centre[:, 1:2] + dy[None, :], 0.0, last)
        flat = tf.cast(ys * CROP_SIZE + xs, tf.int32)
        pixels = tf.gather(tf.reshape(crop, [CROP_SIZE * CROP_SIZE, 3]), flat)
        rgb = tf.reduce_mean(tf.cast(pixels, tf.float32), axis=1)
        gray = tf.linalg.matvec(rgb, luma)
        uv = tf.matmul(pts[:, :2], linear, transpose_b=True) + offset
        rounded = tf.round(uv)
        inside = tf.logical_and(
            tf.reduce_all(rounded >= 0.0, axis=1), tf.reduce_all(rounded <= image_size - 1.0, axis=1)
        )
        valid = tf.cast(inside, tf.float32)
        # gray_logz over the valid points (lightest.features._gray_logz)
        c = gray / 255.0
        lin = tf.where(c <= 0.04045, c / 12.92, tf.pow((c + 0.055) / 1.055, 2.4))
        log = tf.math.log(lin + LOG_FLOOR)
        count = tf.reduce_sum(valid)
        n = tf.maximum(count, 1.0)
        centred = (log - tf.reduce_sum(log * valid) / n) * valid
        sd = tf.sqrt(tf.reduce_sum(centred * centred) / n)
        usable = tf.logical_and(sd > 1e-6, count > 1.0)
        features = tf.where(usable, centred / tf.maximum(sd, 1e-6), tf.zeros_like(centred))
        # the regressor on the face and its mirror image, averaged
        x = (features - mean) / std
        batch = tf.stack([x, tf.gather(x, mirror)]) if card.mirror_average else x[None, :]
        out = regressor(batch)
        merged = 0.5 * (out[0] + sign * out[1]) if card.mirror_average else out[0]
        merged = merged * scale
        raw = tf.gather(merged, direction_ids)
        norm = tf.sqrt(tf.reduce_sum(raw * raw))
        # head axes from the four axis vertices in frame pixels (lightest.headpose.head_rotation)
        axis_pts = tf.gather(landmarks, axis_ids)
        axis_uv = tf.matmul(axis_pts[:, :2], linear, transpose_b=True) + offset
        p = tf.concat([axis_uv, axis_pts[:, 2:3] * pixel_scale], axis=1) * pixel_axes
        x_axis = _unit(p[1] - p[0])
        up = p[2] - p[3]
        y_axis = _unit(up - tf.reduce_sum(up * x_axis) * x_axis)
        z_axis = tf.stack(
            [
                x_axis[1] * y_axis[2] - x_axis[2] * y_axis[1],
                x_axis[2] * y_axis[0] - x_axis[0] * y_axis[2],
                x_axis[0] * y_axis[1] - x_axis[1] * y_axis[0],
            ]
        )
        rotation = tf.stack([x_axis, y_axis, z_axis], axis=1)
        direction = raw / norm
        if kind == "head":
            direction = tf.linalg.matvec(rotation, direction)
        result = {
            "direction": direction,
            "direction_norm": norm,
            "valid_fraction": count / float(len(points)),
            "light_points": uv,
            "rgb": rgb,
            "gray": gray,
            "valid": valid,
            "features": features,
            "head_rotation": rotation,
        }
        for name in extras:
            value = merged[card.outputs.index(name)]
            result[name] = tf.clip_by_value(value, 0.0, 1.0) if name == "ambient" else value
        return result

    return light_head


def convert(function: Any) -> bytes:
    """Float32 flatbuffer of the light-head function, builtin ops only."""
    import tempfile

    import tensorflow as tf

    module = tf.Module()
    module.light_head = function
    with tempfile.TemporaryDirectory() as saved:  # a SavedModel keeps the named signature for LiteRT
        tf.saved_model.save(module, saved, signatures={"serving_default": function})
        conv = tf.lite.TFLiteConverter.from_saved_model(saved)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return conv.convert()


def tensor_positions(path: Path) -> dict[str, dict[str, int]]:
    """Signature name -> position among the graph's inputs / outputs: what APIs without signature runners
    (``interpreter.input(at:)`` on iOS, ``getInputTensor(i)`` on Android) index by."""
    from lightest.litert import open_interpreter

    interp = open_interpreter(path)
    signature = interp.get_signature_runner()
    out: dict[str, dict[str, int]] = {}
    for kind, details, named in (
        ("inputs", interp.get_input_details(), signature.get_input_details()),
        ("outputs", interp.get_output_details(), signature.get_output_details()),
    ):
        position = {d["index"]: i for i, d in enumerate(details)}
        by_position = sorted(named.items(), key=lambda kv: position[kv[1]["index"]])
        out[kind] = {name: position[d["index"]] for name, d in by_position}
    return out


def export_light_head(regressor_path: Path, out: Path, install: bool = False) -> LightHeadCard:
    """Write ``out/lighthead-<regressor>.tflite`` + card; with ``install`` also as Estimator's default."""
    from export.convert import analyze

    card = ModelCard.load(card_path_for(regressor_path))
    name = "lighthead-" + card.name.removesuffix("-float32")
    function = build_light_head(card, regressor_from_tflite(regressor_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.tflite"
    path.write_bytes(convert(function))
    info = analyze(path)
    regressor_card = card.to_json()
    regressor_card["sha256"] = file_sha256(regressor_path)
    head_card = LightHeadCard(
        name=name,
        sha256=file_sha256(path),
        light_points=card.light_points,
        features=card.features,
        extras=tuple(n for n in card.outputs if n not in DIRECTION_OUTPUTS[card.direction_kind]),
        mirror_average=card.mirror_average,
        extra={
            "bytes": path.stat().st_size,
            "ops": info["ops"],
            "gpu_delegate_compatible": info["gpu_delegate_compatible"],
            "tensor_positions": tensor_positions(path),
            "output_frame": "camera: +x image right, +y image up, +z toward the camera (lightest.frames)",
            "regressor": {"file": regressor_path.name, **regressor_card},
        },
    )
    head_card.save(card_path_for(path))
    (out / f"{name}.analyzer.txt").write_text(info["analyzer_report"])
    print(
        f"{path}: {path.stat().st_size} B, ops {','.join(info['ops'])}, GPU ok {info['gpu_delegate_compatible']}",
        file=sys.stderr,
    )
    if install:
        shutil.copyfile(path, MODELS / "lighthead.tflite")
        shutil.copyfile(card_path_for(path), card_path_for(MODELS / "lighthead.tflite"))
        print(f"installed {path.name} as lightest/models/lighthead.tflite (Estimator's default)", file=sys.stderr)
    return head_card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export lighthead", description=__doc__.split("\n\n")[0])
    parser.add_argument("regressor", type=Path, help="a float32 .tflite regressor with its .card.json")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "export" / "lighthead")
    parser.add_argument("--install", action="store_true", help="make it lightest/models/lighthead.tflite")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    export_light_head(args.regressor, args.out, args.install)
    return 0
