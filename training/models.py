"""Keras regressors: the seed thesis's two (FNN, Parallel) and lightest's product model.

All take one standardised feature vector. Builders return compiled models; losses live here too.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

MODELS = ("fnn", "parallel", "parallel_direction")


def int8_grid(kernel: Any) -> Any:
    """A Dense kernel rounded to TFLite's int8 grid for FULLY_CONNECTED weights: symmetric, one scale per
    output unit, scale = max |w| / 127. Takes a tensor or numpy array, returns a backend tensor."""
    scale = ops.maximum(ops.max(ops.abs(kernel), axis=0, keepdims=True), 1e-12) / 127.0
    return ops.round(kernel / scale) * scale


@keras.saving.register_keras_serializable(package="lightest")
class Int8GridDense(layers.Dense):
    """Dense that computes with its kernel on the int8 grid (:func:`int8_grid`) and passes gradients
    straight through the rounding: quantisation-aware training for the weights. The kernel learns to be
    accurate *after* rounding, so the int8 export loses nothing to weight quantisation.
    :func:`snap_to_int8_grid` turns a trained model back into plain Dense layers."""

    def call(self, inputs: Any, training: Any = None) -> Any:
        kernel = self.kernel + ops.stop_gradient(int8_grid(self.kernel) - self.kernel)
        x = ops.matmul(inputs, kernel)
        if self.use_bias:
            x = ops.add(x, self.bias)
        return self.activation(x) if self.activation is not None else x


def snap_to_int8_grid(model: keras.Model) -> keras.Model:
    """The same network with plain Dense layers whose kernels are rounded to the int8 grid. After
    quantization-aware training this is the float model the int8 export reproduces up to activation
    rounding; for any other model it isolates what weight rounding alone costs. Compiled like ``model``
    (by Keras's cloning)."""

    def plain(layer: layers.Layer) -> layers.Layer:
        kind = layers.Dense if isinstance(layer, Int8GridDense) else type(layer)
        return kind.from_config(layer.get_config())

    with keras.saving.custom_object_scope(CUSTOM_OBJECTS):
        snapped = keras.models.clone_model(model, clone_function=plain)
    for src, dst in zip(model.layers, snapped.layers, strict=True):
        weights = src.get_weights()
        if isinstance(src, layers.Dense):
            weights[0] = np.asarray(ops.convert_to_numpy(int8_grid(weights[0])), dtype=weights[0].dtype)
        dst.set_weights(weights)
    return snapped


def fnn(n_in: int, n_out: int = 3, learning_rate: float = 1e-3, **_: Any) -> keras.Model:
    """Seed FNN: Dense 128 -> 64 -> n_out, ReLU, Adam, MSE."""
    inp = keras.Input((n_in,), name="features")
    x = layers.Dense(128, activation="relu")(inp)
    x = layers.Dense(64, activation="relu")(x)
    model = keras.Model(inp, layers.Dense(n_out, name="out")(x), name="fnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"])
    return model


def _branches(
    inp: keras.KerasTensor,
    hidden: list[int],
    names: list[str],
    dropout: float = 0.0,
    dense: type[layers.Dense] = layers.Dense,
) -> list[keras.KerasTensor]:
    """The thesis's parallel design: one independent Dense(hidden[i], relu) -> Dense(1) branch per output
    (with optional dropout on the hidden layer, active in training only)."""
    outs = []
    for name, units in zip(names, hidden, strict=True):
        h = dense(units, activation="relu", name=f"{name}_hidden")(inp)
        if dropout:
            h = layers.Dropout(dropout, name=f"{name}_dropout")(h)
        outs.append(dense(1, name=f"{name}_out")(h))
    return outs


def parallel(n_in: int, n_out: int = 3, hidden: int = 64, learning_rate: float = 1e-3, **_: Any) -> keras.Model:
    """Seed Parallel: three branches (x, y, z), concatenated -> Dense(3), MAE."""
    inp = keras.Input((n_in,), name="features")
    x = layers.Concatenate()(_branches(inp, [hidden] * n_out, ["x", "y", "z"][:n_out]))
    model = keras.Model(inp, layers.Dense(n_out, name="out")(x), name="parallel")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mae", metrics=["mse"])
    return model


def direction_loss(y_true: Any, y_pred: Any) -> Any:
    """1 - cos(angle) on the direction outputs alone: the metric early stopping watches, so that the
    extra outputs (ambient, distance) do not pick the epoch for the direction."""
    d_true, d_pred = y_true[:, :3], y_pred[:, :3]
    return 1.0 - ops.sum(d_true * d_pred, axis=1) / (ops.norm(d_pred, axis=1) * ops.norm(d_true, axis=1) + 1e-7)


def chord_distance(y_true: Any, y_pred: Any) -> Any:
    """|u - v| between the target direction and the normalised prediction: 2 sin(angle / 2), close to the
    angle itself. It grows linearly where 1 - cos grows with the square of the angle, so a few large errors
    (grazing lights) pull less and the median error drops."""
    d_true, d_pred = y_true[:, :3], y_pred[:, :3]
    unit = d_pred / (ops.norm(d_pred, axis=1, keepdims=True) + 1e-7)
    return ops.sqrt(ops.sum(ops.square(unit - d_true), axis=1) + 1e-8)


def _with_extras(direction: Any, y_true: Any, y_pred: Any) -> Any:
    """A direction loss, plus a pull of the raw direction outputs towards unit length (so the runtime's
    confidence heuristic is meaningful), plus mean absolute error on any further outputs (ambient, distance)."""
    loss = direction + 0.1 * ops.square(ops.norm(y_pred[:, :3], axis=1) - 1.0)
    if y_true.shape[1] > 3:
        loss = loss + ops.mean(ops.abs(y_true[:, 3:] - y_pred[:, 3:]), axis=1)
    return loss


def angular_loss(y_true: Any, y_pred: Any) -> Any:
    """Product loss with 1 - cos(angle) on the direction (a squared-error-like loss)."""
    return _with_extras(direction_loss(y_true, y_pred), y_true, y_pred)


def chord_loss(y_true: Any, y_pred: Any) -> Any:
    """Product loss with the chord distance on the direction (an absolute-error-like loss)."""
    return _with_extras(chord_distance(y_true, y_pred), y_true, y_pred)


#: ``TrainConfig.direction_loss`` -> the product model's compiled loss.
DIRECTION_LOSSES = {"cosine": angular_loss, "chord": chord_loss}


def parallel_direction(
    n_in: int,
    n_out: int = 3,
    hidden: int = 16,
    extra_hidden: int | None = None,
    learning_rate: float = 1e-3,
    dropout: float = 0.0,
    input_noise: float = 0.0,
    loss: str = "cosine",
    shared_hidden: int | None = None,
    quantization_aware: bool = False,
    **_: Any,
) -> keras.Model:
    """Product model: one branch per output (direction x, y, z, then extra targets), angular loss.
    The extra targets' branches have ``extra_hidden`` units (default ``hidden``): the direction is what the
    size budget is spent on. ``shared_hidden`` puts one Dense(relu) layer of that width in front of all
    branches: the input projection is learnt once instead of once per branch, which buys depth and wider
    branches for the same parameter count.
    ``input_noise`` (std of Gaussian noise on the standardised inputs) and ``dropout`` regularise training
    only; neither exists in the exported graph. ``loss`` names the direction loss (:data:`DIRECTION_LOSSES`).
    ``quantization_aware`` trains every Dense through the int8 weight grid (:class:`Int8GridDense`)."""
    if loss not in DIRECTION_LOSSES:
        raise ValueError(f"direction_loss must be one of {sorted(DIRECTION_LOSSES)}, got {loss!r}")
    names = ["dir_x", "dir_y", "dir_z", "extra1", "extra2", "extra3"][:n_out]
    inp = keras.Input((n_in,), name="features")
    x = layers.GaussianNoise(input_noise, name="input_noise")(inp) if input_noise else inp
    dense = Int8GridDense if quantization_aware else layers.Dense
    if shared_hidden:
        x = dense(shared_hidden, activation="relu", name="shared_hidden")(x)
    units = [hidden] * min(n_out, 3) + [hidden if extra_hidden is None else extra_hidden] * (n_out - 3)
    out = layers.Concatenate(name="out")(_branches(x, units, names, dropout, dense))
    model = keras.Model(inp, out, name="parallel_direction")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=DIRECTION_LOSSES[loss], metrics=[direction_loss])
    return model


BUILDERS = {"fnn": fnn, "parallel": parallel, "parallel_direction": parallel_direction}
CUSTOM_OBJECTS = {"angular_loss": angular_loss, "chord_loss": chord_loss, "direction_loss": direction_loss}
#: What early stopping watches per model: the direction alone where the model has one.
MONITOR = {"fnn": "val_loss", "parallel": "val_loss", "parallel_direction": "val_direction_loss"}
