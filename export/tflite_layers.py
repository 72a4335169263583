"""Read a float ``.tflite`` regressor back into TensorFlow ops, so it can be embedded in a larger graph.

The product regressors are plain graphs of FULLY_CONNECTED (fused NONE / RELU) and CONCATENATION ops.
:func:`regressor_from_tflite` rebuilds exactly that graph as a TensorFlow callable with the file's own
weights, which is how the light-head graph (:mod:`export.lighthead`) carries a model whose Keras run
folder is not at hand: the weights are the shipped file's, bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["regressor_from_tflite"]


def _tensor_value(model: Any, tensor: Any) -> np.ndarray | None:
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    if tensor.type != 0:  # TensorType.FLOAT32
        raise ValueError("only float32 regressors can be embedded (export the float32 variant)")
    return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=np.float32).reshape(tensor.shape)


def regressor_from_tflite(path: str | os.PathLike[str]) -> Callable[[Any], Any]:
    """A function ``f(x: (batch, n_in) float32 tf.Tensor) -> (batch, n_out)`` computing the ``.tflite``.

    Raises ``ValueError`` for any op other than FULLY_CONNECTED / CONCATENATION or a non-float32 model.
    """
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    if len(model.subgraphs) != 1:
        raise ValueError(f"{path}: expected one subgraph, got {len(model.subgraphs)}")
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(f"{path}: expected one input and one output")
    ops = schema.BuiltinOperator
    relu = schema.ActivationFunctionType.RELU
    plan: list[tuple[str, list[int], int, Any]] = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = max(code.builtinCode, code.deprecatedBuiltinCode)
        act = getattr(op.builtinOptions, "fusedActivationFunction", 0)
        if act not in (0, relu):
            raise ValueError(f"{path}: unsupported fused activation {act}")
        if kind == ops.FULLY_CONNECTED:
            weights = _tensor_value(model, graph.tensors[op.inputs[1]])
            bias = _tensor_value(model, graph.tensors[op.inputs[2]]) if op.inputs[2] >= 0 else None
            if weights is None:
                raise ValueError(f"{path}: FULLY_CONNECTED without constant weights")
            kernel = tf.constant(weights.T)
            plan.append(("fc", [int(op.inputs[0])], int(op.outputs[0]), (kernel, bias, act == relu)))
        elif kind == ops.CONCATENATION:
            plan.append(("concat", [int(i) for i in op.inputs], int(op.outputs[0]), (op.builtinOptions.axis, act)))
        else:
            raise ValueError(f"{path}: op {kind} is not FULLY_CONNECTED or CONCATENATION")
    source, sink = int(graph.inputs[0]), int(graph.outputs[0])

    def regressor(x: Any) -> Any:
        values = {source: x}
        for kind, inputs, output, args in plan:
            if kind == "fc":
                kernel, bias, use_relu = args
                y = tf.matmul(values[inputs[0]], kernel)
                if bias is not None:
                    y = y + bias
                values[output] = tf.nn.relu(y) if use_relu else y
            else:
                axis, act = args
                y = tf.concat([values[i] for i in inputs], axis=axis)
                values[output] = tf.nn.relu(y) if act == relu else y
        return values[sink]

    return regressor
