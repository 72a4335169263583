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

from export.tflite_layers import Dense, dense_chain_from_tflite
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


def fold_regressor(card: ModelCard, layers: list[Dense]) -> list[np.ndarray]:
    """The regressor's matrices with the card's standardisation, mirror averaging and output scale folded in.

    Returns ``[k1, b1, k2, b2, ..., merge]``: the first layer reads the raw (unstandardised) features; the
    layers run on the face and its mirror image as a batch of two; ``merge`` (2n, n) takes the two answers,
    flattened, to their average with the mirror's x negated, times ``output_scale``, in the card's order
    (``(n, n)``: the output scale alone, for a card without mirror averaging).
    """
    mean, inv_std = np.asarray(card.input_mean), 1.0 / np.asarray(card.input_std)
    first = layers[0]
    kernel = first.kernel * inv_std[:, None]
    bias = first.bias - (mean * inv_std) @ first.kernel
    scale = np.asarray(card.output_scale)
    n = len(card.outputs)
    if card.mirror_average:
        sign = np.array([-1.0 if o in X_OUTPUTS else 1.0 for o in card.outputs])
        merge = np.concatenate([np.diag(0.5 * scale), np.diag(0.5 * scale * sign)])
    else:
        merge = np.diag(scale)
    out = [kernel, bias]
    for d in layers[1:]:
        out += [d.kernel, d.bias]
    if merge.shape != (n * (2 if card.mirror_average else 1), n) or layers[-1].kernel.shape[1] != n:
        raise ValueError(f"the regressor gives {layers[-1].kernel.shape[1]} outputs, its card names {n}")
    return [np.asarray(a, dtype=np.float32) for a in (*out, merge)]


def build_light_head(card: ModelCard, layers: list[Dense]) -> Any:
    """A ``tf.function`` (signature = :data:`lightest.lighthead.INPUTS`) computing the light head.

    Written for few ops (in a pipeline each costs about a microsecond with cold caches): one gather for all
    needed landmarks, one affine for all their frame positions, 1-D pixel indices and one gather for all
    disc pixels, and the regressor with standardisation and the mirror averaging's merge and output scale
    folded into its matrices (:func:`fold_regressor`).
    """
    import tensorflow as tf

    if card.features != ("gray_logz",):
        raise ValueError(f"the light-head graph computes gray_logz features; this card needs {card.features}")
    kind = card.direction_kind
    if kind == "seed_position":
        raise ValueError("seed position models need dlib landmarks; they run through the numpy path")
    points = get_light_point_set(card.light_points)
    if not points.is_vertex_set or points.scheme != "mediapipe468":
        raise ValueError(f"light-point set {card.light_points!r} is not a set of mesh vertices")
    k = len(points)
    # light-points, then the head-axis vertices: right eye, left eye, forehead, chin
    wanted = tf.constant([*points.a.tolist(), *AXIS_VERTICES.values()], dtype=tf.int32)
    dx, dy = disc_offsets(CROP_DISC_RADIUS)
    # (P,) offsets in the row-major crop, as floats: index arithmetic runs in float (exact below 2**24) because
    # LiteRT's int32 broadcast/clip kernels cost ~4 ns per element, the float ones (XNNPACK) almost nothing
    flat_offsets = tf.constant((dx + CROP_SIZE * dy).astype(np.float32))
    to_flat = tf.constant(np.repeat([[1.0], [float(CROP_SIZE)]], len(dx), axis=1).astype(np.float32))  # x + S y
    *weights, merge = fold_regressor(card, layers)
    kernels = [tf.constant(w) for w in weights[0::2]]
    biases = [tf.constant(b) for b in weights[1::2]]
    relu = [d.relu for d in layers]
    mirror = tf.constant(points.mirror_index, dtype=tf.int32)
    # merged outputs reordered: the direction triple first, then the extras
    extras = [n for n in card.outputs if n not in DIRECTION_OUTPUTS[kind]]
    order = [card.outputs.index(n) for n in (*DIRECTION_OUTPUTS[kind], *extras)]
    n = len(card.outputs)
    if card.mirror_average:
        # two more column blocks: the face's and the mirror's own direction (un-mirrored), for mirror_cos
        face_dir, mirror_dir = np.zeros((2 * n, 3), np.float32), np.zeros((2 * n, 3), np.float32)
        face_dir[:n], mirror_dir[n:] = merge[:n, order[:3]], merge[n:, order[:3]]
        merge = np.concatenate([merge[:, order], face_dir, mirror_dir], axis=1)
    else:
        merge = merge[:, order]
    merge = tf.constant(merge)
    luma = tf.constant(np.asarray(LUMA_RGB, dtype=np.float32)[:, None])
    disc_mean = tf.constant(np.tile(np.eye(3, dtype=np.float32), (len(dx), 1)) / len(dx))  # (P*3, 3)
    # (right eye, left eye, forehead, chin) -> (left - right, forehead - chin), v flipped to camera y
    axis_rows = tf.constant([[-1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    flip_y = tf.constant([1.0, -1.0, 1.0])
    # cross product z = x[a] * y[b] - x[b] * y[a] with a = (1, 2, 0), b = (2, 0, 1), as permutation matrices
    roll_a = tf.constant(np.eye(3, dtype=np.float32)[:, [1, 2, 0]])
    roll_b = tf.constant(np.eye(3, dtype=np.float32)[:, [2, 0, 1]])
    spec = [tf.TensorSpec(shape, getattr(tf, dtype), name=name) for name, (shape, dtype) in INPUTS.items()]

    @tf.function(input_signature=spec)
    def light_head(crop: Any, landmarks: Any, crop_to_image: Any, image_size: Any) -> dict[str, Any]:
        pts = tf.gather(landmarks, wanted)  # (K + 4, 3) crop pixels
        linear = crop_to_image[:, :2]
        uv = tf.matmul(pts[:, :2], linear, transpose_b=True) + crop_to_image[:, 2]  # frame pixels
        pixel_scale = tf.norm(linear[:, 0])  # a similarity: frame pixels per crop pixel
        # disc means in the crop (clamped to it), validity from the rounded frame position
        # 1-D pixel indices: cheap ops (a 3-D broadcast of (x, y) pairs costs several times more)
        flat = tf.matmul(tf.round(pts[:k, :2]), to_flat) + flat_offsets  # (K, P): one FC with the offsets as bias
        flat = tf.cast(tf.clip_by_value(flat, 0.0, CROP_SIZE * CROP_SIZE - 1.0), tf.int32)
        pixels = tf.gather(tf.reshape(crop, [CROP_SIZE * CROP_SIZE, 3]), flat)  # (K, P, 3)
        rgb = tf.matmul(tf.reshape(tf.cast(pixels, tf.float32), [k, -1]), disc_mean)  # (K, 3): a matrix product
        gray = tf.squeeze(tf.matmul(rgb, luma), -1)
        light_uv = uv[:k]
        rounded = tf.round(light_uv)
        margin = tf.minimum(rounded, image_size - 1.0 - rounded)  # whole pixels; >= 0 inside the frame
        valid = tf.clip_by_value(tf.reduce_min(margin, axis=1) + 1.0, 0.0, 1.0)
        # gray_logz over the valid points (lightest.features._gray_logz)
        c = gray * (1.0 / 255.0)
        lin = tf.where(c <= 0.04045, c * (1.0 / 12.92), tf.pow(c * (1.0 / 1.055) + 0.055 / 1.055, 2.4))
        log = tf.math.log(lin + LOG_FLOOR)
        count = tf.reduce_sum(valid)
        inv_n = 1.0 / tf.maximum(count, 1.0)
        centred = (log - tf.reduce_sum(log * valid) * inv_n) * valid
        sd = tf.sqrt(tf.reduce_sum(centred * centred) * inv_n)
        usable = tf.cast(sd > 1e-6, tf.float32)  # (one valid point: centred is zero already)
        features = centred * (usable / tf.maximum(sd, 1e-6))
        # the regressor on the face and its mirror image (a batch of two), averaged
        both = tf.stack([features, tf.gather(features, mirror)]) if card.mirror_average else features[None, :]
        h = tf.matmul(both, kernels[0]) + biases[0]
        h = tf.nn.relu(h) if relu[0] else h
        for kernel, bias, act in zip(kernels[1:], biases[1:], relu[1:], strict=True):
            h = tf.matmul(h, kernel) + bias
            h = tf.nn.relu(h) if act else h
        merged = tf.matmul(tf.reshape(h, [1, -1]), merge)[0]  # direction triple, then extras
        raw = merged[:3]
        norm = tf.norm(raw)
        direction = raw / norm
        # head axes from the four axis vertices in frame pixels (lightest.headpose.head_rotation)
        p = tf.concat([uv[k:], pts[k:, 2:3] * pixel_scale], axis=1) * flip_y
        rows = tf.matmul(axis_rows, p)  # (2, 3): eye line, chin -> forehead
        x_axis = _unit(rows[0])
        up = rows[1]
        y_axis = _unit(up - tf.reduce_sum(up * x_axis) * x_axis)
        xy = tf.stack([x_axis, y_axis])
        xa, xb = tf.matmul(xy, roll_a), tf.matmul(xy, roll_b)
        z_axis = xa[0] * xb[1] - xb[0] * xa[1]
        rotation = tf.stack([x_axis, y_axis, z_axis], axis=1)
        if kind == "head":
            direction = tf.linalg.matvec(rotation, direction)
        result = {
            "direction": direction,
            "direction_norm": norm,
            "valid_fraction": count * (1.0 / k),
            "light_points": light_uv,
            "rgb": rgb,
            "gray": gray,
            "valid": valid,
            "features": features,
            "head_rotation": rotation,
            "contrast": sd,  # spread of log linear gray over the valid light-points (for confidence)
        }
        for i, name in enumerate(extras, start=3):
            result[name] = tf.clip_by_value(merged[i], 0.0, 1.0) if name == "ambient" else merged[i]
        if card.mirror_average:  # agreement of the face's and the mirror image's own answers (for confidence)
            pair = tf.reshape(merged[n:], [2, 3])
            lengths = tf.sqrt(tf.reduce_sum(pair * pair, axis=1))
            result["mirror_cos"] = tf.reduce_sum(pair[0] * pair[1]) / tf.maximum(lengths[0] * lengths[1], 1e-12)
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
    function = build_light_head(card, dense_chain_from_tflite(regressor_path))
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
