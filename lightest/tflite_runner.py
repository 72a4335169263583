"""Run a ``.tflite`` regressor with LiteRT (``ai_edge_litert``), the interpreter phones use too.

Quantised (int8/uint8) inputs and outputs are (de)quantised here with the tensor's own scale and zero
point, so a caller always passes and gets float32. Files are opened by :func:`lightest.litert.open_interpreter`
(sha256 check, quiet native logs, XNNPACK).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lightest.litert import open_interpreter

__all__ = ["TFLiteRegressor"]


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    dtype = detail["dtype"]
    if dtype in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _dequantize(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if detail["dtype"] in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        return (y.astype(np.float32) - zero) * scale
    return y.astype(np.float32)


class TFLiteRegressor:
    """A single-input, single-output ``.tflite`` regressor: float32 vector in, float32 vector out."""

    def __init__(self, model_path: str | os.PathLike[str], num_threads: int = 1, sha256: str | None = None) -> None:
        path = Path(model_path)
        self._interp = open_interpreter(path, num_threads=num_threads, sha256=sha256)
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{path}: expected one input and one output, got {len(inputs)} and {len(outputs)}")
        self._in, self._out = inputs[0], outputs[0]
        self.path = path
        self.input_size = int(self._in["shape"][-1])
        self.output_size = int(self._out["shape"][-1])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self._in["dtype"])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs ``(output_size,)`` for one input vector ``(input_size,)``."""
        x = np.asarray(x, dtype=np.float32).reshape(1, -1)
        if x.shape[1] != self.input_size:
            raise ValueError(f"model expects {self.input_size} inputs, got {x.shape[1]}")
        self._interp.set_tensor(self._in["index"], _quantize(x, self._in))
        self._interp.invoke()
        return _dequantize(self._interp.get_tensor(self._out["index"]), self._out)[0]
