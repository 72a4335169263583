"""Build the light-head graph: everything after landmarks as one ``.tflite`` of builtin ops.

``python -m export lighthead lightest/models/product-v5-float32.tflite [--out DIR] [--install] [--float-weights]``

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
#: The card's ``weights`` entry of a graph with int8 matrices.
INT8_WEIGHTS = "int8 regressor matrices (dynamic range: their inputs quantized to int8 per call)"


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

    Written so that LiteRT's XNNPACK delegate takes almost all of it: in a pipeline every op the delegate
    does not take costs about a microsecond with cold caches, and each one splits the delegate's work into
    another partition. Only the two gathers and the two casts around the pixel gather stay outside; ops
    XNNPACK lacks are written with ones it has (``pow`` as ``exp(2.4 log)``, the sRGB branch and the
    ``sd > 0`` test as min / max / clamp, no scalar-extracting slices or ``stack``). The mirror image's
    features are a permutation of the face's, so the regressor's first layer reads both from one matrix
    (the mirror's columns are the face's rows permuted); standardisation, mirror averaging and output scale
    are folded into its matrices (:func:`fold_regressor`). Head axes are built in crop pixels: the crop's
    similarity transform (times the image's y flip) is orthogonal after dividing out its scale, so it
    commutes with Gram-Schmidt, and the camera-frame rotation is that transform times the crop-frame axes.
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
    f32 = np.float32
    # light-points, then the head-axis vertices: right eye, left eye, forehead, chin
    wanted = tf.constant([*points.a.tolist(), *AXIS_VERTICES.values()], dtype=tf.int32)
    dx, dy = disc_offsets(CROP_DISC_RADIUS)
    # (P,) offsets in the row-major crop, as floats: index arithmetic runs in float (exact below 2**24)
    flat_offsets = tf.constant((dx + CROP_SIZE * dy).astype(f32))
    to_flat = tf.constant(np.repeat([[1.0], [float(CROP_SIZE)]], len(dx), axis=1).astype(f32))  # x + S y
    last_pixel = float(CROP_SIZE * CROP_SIZE - 1)
    to_homogeneous = (tf.constant([1.0, 1.0, 0.0]), tf.constant([0.0, 0.0, 1.0]))  # (u, v, d) -> (u, v, 1)
    *weights, merge = fold_regressor(card, layers)
    if card.mirror_average:  # the mirror's features are features[mirror]: read them by permuting the rows
        inverse = np.argsort(points.mirror_index)
        weights[0] = np.concatenate([weights[0], weights[0][inverse]], axis=1)
        weights[1] = np.concatenate([weights[1], weights[1]])
    kernels = [tf.constant(w) for w in weights[0::2]]
    biases = [tf.constant(b) for b in weights[1::2]]
    relu = [d.relu for d in layers]
    hidden = layers[0].kernel.shape[1]
    # merged outputs reordered: the direction triple first, then the extras
    extras = [n for n in card.outputs if n not in DIRECTION_OUTPUTS[kind]]
    order = [card.outputs.index(n) for n in (*DIRECTION_OUTPUTS[kind], *extras)]
    merge = tf.constant(merge[:, order])
    disc_mean = tf.constant(np.tile(np.eye(3, dtype=f32), (len(dx), 1)) / len(dx))  # (P*3, 3)
    luma = tf.constant(np.asarray(LUMA_RGB, dtype=f32)[:, None])
    # sRGB decoding without a branch: c <= t is linear, above it a power law; the two meet at t (to 2e-9),
    # so lin = min(c, t) / 12.92 + ((max(c, t) + 0.055) / 1.055) ** 2.4 - power(t), in 0-255 units here
    t = 0.04045
    power_at_t = ((t + 0.055) / 1.055) ** 2.4
    # (right eye, left eye, forehead, chin) -> (left - right, forehead - chin)
    axis_rows = tf.constant([[-1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    # cross product as one matrix on the flattened outer product x y^T, negated (see the rotation below)
    cross = np.zeros((9, 3), f32)
    for i, j, m in ((1, 2, 0), (2, 0, 1), (0, 1, 2)):
        cross[3 * i + j, m], cross[3 * j + i, m] = -1.0, 1.0
    cross = tf.constant(cross)
    # crop -> camera rotation from the crop's linear part [[a, b], [c, d]] / scale: [[a, b, 0], [-c, -d, 0],
    # [0, 0, 1]] (image v points down, camera y up)
    to_rotation = np.zeros((4, 9), f32)
    to_rotation[0, 0], to_rotation[1, 1], to_rotation[2, 3], to_rotation[3, 4] = 1.0, 1.0, -1.0, -1.0
    to_rotation = tf.constant(to_rotation)
    rotation_bias = tf.constant(np.eye(1, 9, 8, dtype=f32)[0])  # the 1 at [2, 2]
    first_column = tf.constant([[1.0, 0.0, 1.0, 0.0]])
    spec = [tf.TensorSpec(shape, getattr(tf, dtype), name=name) for name, (shape, dtype) in INPUTS.items()]

    @tf.function(input_signature=spec)
    def light_head(crop: Any, landmarks: Any, crop_to_image: Any, image_size: Any) -> dict[str, Any]:
        pts = tf.gather(landmarks, wanted)  # (K + 4, 3) crop pixels
        uv = tf.matmul(pts * to_homogeneous[0] + to_homogeneous[1], crop_to_image, transpose_b=True)  # frame px
        # 1-D pixel indices of every disc pixel (one FC with the offsets as bias), clamped to the crop
        flat = tf.matmul(tf.round(pts[:k, :2]), to_flat) + flat_offsets  # (K, P)
        flat = tf.cast(tf.minimum(tf.maximum(flat, 0.0), last_pixel), tf.int32)
        pixels = tf.gather(crop, flat)  # (K, P, 3)
        rgb = tf.matmul(tf.reshape(tf.cast(pixels, tf.float32), [k, -1]), disc_mean)  # (K, 3) disc means
        gray = tf.reshape(tf.matmul(rgb, luma), [k])
        light_uv = uv[:k]
        rounded = tf.round(light_uv)
        margin = tf.minimum(rounded, (image_size - 1.0) - rounded)  # whole pixels; >= 0 inside the frame
        valid = tf.minimum(tf.maximum(tf.reduce_min(margin, axis=1) + 1.0, 0.0), 1.0)
        # gray_logz over the valid points (lightest.features._gray_logz)
        low = tf.minimum(gray, 255.0 * t) * (1.0 / (255.0 * 12.92))
        high = tf.exp(2.4 * tf.math.log(tf.maximum(gray, 255.0 * t) * (1.0 / (255.0 * 1.055)) + 0.055 / 1.055))
        log = tf.math.log(low + high + (LOG_FLOOR - power_at_t))
        count = tf.reduce_sum(valid)
        inv_n = 1.0 / tf.maximum(count, 1.0)
        centred = (log - tf.reduce_sum(log * valid) * inv_n) * valid
        sd = tf.sqrt(tf.reduce_sum(centred * centred) * inv_n)
        usable = tf.minimum(tf.maximum((sd - 1e-6) * 1e9, 0.0), 1.0)  # numpy: sd > 1e-6 (else features are 0)
        features = centred * (usable / tf.maximum(sd, 1e-6))
        # the regressor on the face and its mirror image (a batch of two), averaged
        h = tf.matmul(features[None, :], kernels[0]) + biases[0]
        h = tf.reshape(h, [2, hidden]) if card.mirror_average else h
        h = tf.nn.relu(h) if relu[0] else h
        for kernel, bias, act in zip(kernels[1:], biases[1:], relu[1:], strict=True):
            h = tf.matmul(h, kernel) + bias
            h = tf.nn.relu(h) if act else h
        merged = tf.matmul(tf.reshape(h, [1, -1]), merge)  # (1, M): direction triple, then extras
        raw = merged[:, :3]
        norm = tf.sqrt(tf.reduce_sum(raw * raw))
        direction = raw / norm  # (1, 3)
        # head axes in crop pixels (lightest.headpose.head_rotation), then rotated into the camera frame
        rows = tf.matmul(axis_rows, pts[k:])  # (2, 3): eye line, chin -> forehead
        x_axis = rows[:1] * tf.math.rsqrt(tf.reduce_sum(rows[:1] * rows[:1]))
        up = rows[1:] - tf.reduce_sum(rows[1:] * x_axis) * x_axis
        y_axis = up * tf.math.rsqrt(tf.reduce_sum(up * up))
        neg_z = tf.matmul(tf.reshape(tf.matmul(x_axis, y_axis, transpose_a=True), [1, 9]), cross)
        # the crop's rotation is a reflection in the camera frame (v down): it maps x y z to x' y' -z'
        linear = tf.reshape(crop_to_image[:, :2], [1, 4])
        scale = tf.math.rsqrt(tf.reduce_sum(linear * linear * first_column))
        crop_to_camera = tf.reshape(tf.matmul(linear * scale, to_rotation) + rotation_bias, [3, 3])
        rotation = tf.matmul(crop_to_camera, tf.concat([x_axis, y_axis, neg_z], axis=0), transpose_b=True)
        if kind == "head":
            direction = tf.matmul(direction, rotation, transpose_b=True)
        result = {
            "direction": tf.reshape(direction, [3]),
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
            value = tf.reshape(merged[:, i : i + 1], [])
            result[name] = tf.minimum(tf.maximum(value, 0.0), 1.0) if name == "ambient" else value
        return result

    return light_head


def convert(function: Any, int8_weights: bool = True) -> bytes:
    """Flatbuffer of the light-head function, builtin ops only.

    ``int8_weights``: the converter's dynamic-range quantization: the regressor's two large matrices are stored
    as int8 with a scale per output (a quarter of the bytes to bring into cache every frame), and those two
    layers quantize their float input to int8 per call (hybrid kernels); everything else is float32.
    """
    import tempfile

    import tensorflow as tf

    module = tf.Module()
    module.light_head = function
    with tempfile.TemporaryDirectory() as saved:  # a SavedModel keeps the named signature for LiteRT
        tf.saved_model.save(module, saved, signatures={"serving_default": function})
        conv = tf.lite.TFLiteConverter.from_saved_model(saved)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if int8_weights:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
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


def export_light_head(
    regressor_path: Path, out: Path, install: bool = False, int8_weights: bool = True
) -> LightHeadCard:
    """Write ``out/lighthead-<regressor>.tflite`` + card; with ``install`` also as Estimator's default.

    ``int8_weights``: see :func:`convert`."""
    from export.convert import analyze

    card = ModelCard.load(card_path_for(regressor_path))
    name = "lighthead-" + card.name.removesuffix("-float32")
    function = build_light_head(card, dense_chain_from_tflite(regressor_path))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.tflite"
    path.write_bytes(convert(function, int8_weights))
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
            "weights": INT8_WEIGHTS if int8_weights else "float32",
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
    parser.add_argument("--float-weights", action="store_true", help="keep the regressor's matrices float32")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    export_light_head(args.regressor, args.out, args.install, int8_weights=not args.float_weights)
    return 0
