"""Keras layer of the natural-light model (its own module: importing it imports Keras)."""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="lightest_natural")
class TakeColumns(keras.layers.Layer):
    """Columns ``[start, stop)`` of a ``(batch, n)`` input: a slice that saves and loads without a Lambda."""

    def __init__(self, start: int, stop: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x: Any) -> Any:
        return x[:, self.start : self.stop]

    def compute_output_shape(self, shape: Any) -> Any:
        return (shape[0], self.stop - self.start)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "start": self.start, "stop": self.stop}
