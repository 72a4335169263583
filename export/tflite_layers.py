"""Read a float ``.tflite`` regressor back into TensorFlow ops, so it can be embedded in a larger graph.

The product regressors are plain graphs of FULLY_CONNECTED (fused NONE / RELU) and CONCATENATION ops.
:func:`dense_chain_from_tflite` reads it back as a chain of Dense layers with the file's own
weights, which is how the light-head graph (:mod:`export.lighthead`) carries a model whose Keras run
folder is not at hand: the weights are the shipped file's, bit for bit.

The thesis's parallel design (a shared layer, then one Dense -> Dense(1) branch per output, concatenated)
is 2n + 2 small ops; :func:`fuse_parallel_branches` turns it into three FULLY_CONNECTED ops computing the
same numbers (branch kernels side by side, output kernels block-diagonal), since in a larger graph each
op costs about a microsecond of dispatch.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Dense", "ParallelLayers", "dense_chain_from_tflite", "fuse_parallel_branches", "parallel_layers",
           "read_dense_layers"]


@dataclass(frozen=True)
class Dense:
    """One FULLY_CONNECTED op: ``y = act(x @ kernel + bias)``, reading tensor ``source``, writing ``target``."""

    source: int
    target: int
    kernel: np.ndarray  # (in, out)
    bias: np.ndarray  # (out,)
    relu: bool


def _tensor_value(model: Any, tensor: Any) -> np.ndarray | None:
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    if tensor.type != 0:  # TensorType.FLOAT32
        raise ValueError("only float32 regressors can be embedded (export the float32 variant)")
    return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=np.float32).reshape(tensor.shape)


def read_dense_layers(path: str | os.PathLike[str]) -> tuple[list[Dense], list[tuple[list[int], int]], int, int]:
    """The ``.tflite``'s ops in order: its Dense layers, its concatenations ``(inputs, output)``, and the
    graph's input and output tensor ids. Raises ``ValueError`` for anything else."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    if len(model.subgraphs) != 1:
        raise ValueError(f"{path}: expected one subgraph, got {len(model.subgraphs)}")
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(f"{path}: expected one input and one output")
    ops, relu = schema.BuiltinOperator, schema.ActivationFunctionType.RELU
    dense: list[Dense] = []
    concats: list[tuple[list[int], int]] = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = max(code.builtinCode, code.deprecatedBuiltinCode)
        act = getattr(op.builtinOptions, "fusedActivationFunction", 0)
        if kind == ops.FULLY_CONNECTED and act in (0, relu):
            weights = _tensor_value(model, graph.tensors[op.inputs[1]])
            if weights is None:
                raise ValueError(f"{path}: FULLY_CONNECTED without constant weights")
            bias = _tensor_value(model, graph.tensors[op.inputs[2]]) if op.inputs[2] >= 0 else None
            bias = np.zeros(weights.shape[0], np.float32) if bias is None else bias.reshape(-1)
            dense.append(Dense(int(op.inputs[0]), int(op.outputs[0]), weights.T.copy(), bias, act == relu))
        elif kind == ops.CONCATENATION and act == 0 and op.builtinOptions.axis in (-1, 1):
            concats.append(([int(i) for i in op.inputs], int(op.outputs[0])))
        else:
            raise ValueError(f"{path}: op {kind} (activation {act}) is not a plain FULLY_CONNECTED or CONCATENATION")
    return dense, concats, int(graph.inputs[0]), int(graph.outputs[0])


@dataclass(frozen=True)
class ParallelLayers:
    """The parallel design's Dense layers: an optional shared layer, then per output a hidden layer and an output
    layer (outputs in the concatenation's order)."""

    shared: Dense | None
    hidden: list[Dense]
    outputs: list[Dense]


def parallel_layers(
    dense: list[Dense], concats: list[tuple[list[int], int]], source: int, sink: int
) -> ParallelLayers | None:
    """The graph's layers as the parallel design (an optional shared layer, branches Dense(relu) -> Dense
    concatenated into the output), or None when it is not that design."""
    if len(concats) != 1 or concats[0][1] != sink:
        return None
    heads = {d.target: d for d in dense}
    outs = [heads.get(t) for t in concats[0][0]]
    if any(o is None or o.relu or o.source not in heads for o in outs):
        return None
    hidden = [heads[o.source] for o in outs]  # type: ignore[union-attr]
    trunk = {h.source for h in hidden}
    if len(trunk) != 1 or any(not h.relu for h in hidden) or len(dense) != 2 * len(outs) + (trunk != {source}):
        return None
    shared = None
    if trunk != {source}:
        shared = heads.get(next(iter(trunk)))
        if shared is None or shared.source != source:
            return None
    return ParallelLayers(shared, hidden, outs)  # type: ignore[arg-type]


def fuse_parallel_branches(
    dense: list[Dense], concats: list[tuple[list[int], int]], source: int, sink: int
) -> list[Dense] | None:
    """``[shared, branches, outputs]`` as three Dense layers when the graph is the parallel design
    (:func:`parallel_layers`); else None."""
    design = parallel_layers(dense, concats, source, sink)
    if design is None:
        return None
    layers = [] if design.shared is None else [design.shared]
    kernel = np.concatenate([h.kernel for h in design.hidden], axis=1)
    layers.append(Dense(-1, -1, kernel, np.concatenate([h.bias for h in design.hidden]), True))
    block = np.zeros((kernel.shape[1], sum(o.kernel.shape[1] for o in design.outputs)), np.float32)
    row = col = 0
    for o in design.outputs:
        block[row : row + o.kernel.shape[0], col : col + o.kernel.shape[1]] = o.kernel
        row, col = row + o.kernel.shape[0], col + o.kernel.shape[1]
    layers.append(Dense(-1, -1, block, np.concatenate([o.bias for o in design.outputs]), False))
    return layers


def dense_chain_from_tflite(path: str | os.PathLike[str]) -> list[Dense]:
    """The ``.tflite`` regressor as a chain of Dense layers, input to output: the parallel design fused into
    three (:func:`fuse_parallel_branches`), or a plain chain of FULLY_CONNECTED ops as it is.

    Raises ``ValueError`` for other graphs, ops other than FULLY_CONNECTED / CONCATENATION, or non-float32.
    """
    dense, concats, source, sink = read_dense_layers(path)
    fused = fuse_parallel_branches(dense, concats, source, sink)
    if fused is not None:
        return fused
    chained = not concats and all(a.target == b.source for a, b in itertools.pairwise(dense))
    if not dense or not chained or dense[0].source != source or dense[-1].target != sink:
        raise ValueError(f"{path}: neither a chain of Dense layers nor the parallel design")
    return dense
