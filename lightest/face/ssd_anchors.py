"""SSD anchors of MediaPipe's BlazeFace detectors, and the table of their settings.

MediaPipe's ``SsdAnchorsCalculator`` with ``fixed_anchor_size: true`` and one aspect ratio (1.0): every anchor
is a unit box at a feature-map cell centre. Consecutive layers with the same stride share one feature map,
so their anchors stack per cell: short range (strides 8, 16, 16, 16; two anchors per layer, the aspect-1.0
one and the interpolated scale) has 16x16x2 + 8x8x6 = 896 anchors; full range (stride 4; no interpolated
scale) has 48x48x1 = 2304.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["DETECTORS", "DetectorSpec", "anchor_centres"]


@dataclass(frozen=True)
class DetectorSpec:
    """One BlazeFace model and how MediaPipe decodes it (``face_detection_*_range.pbtxt``).

    Attributes:
        file: the ``.tflite`` in ``lightest/models/face``.
        input_size: square input side in pixels (letterboxed frame, values in [-1, 1]).
        strides: feature-map stride of each SSD layer.
        anchors_per_layer: anchors each layer adds per cell.
        min_score: detections below this score are dropped.
        nms_iou: weighted non-maximum suppression merges boxes overlapping more than this.
        num_keypoints: ``(x, y)`` keypoints after the box in each anchor's 16 values.
        anchor_offset: anchor centre within its cell, in cells (``anchor_offset_x`` / ``_y``).
    """

    file: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    min_score: float
    nms_iou: float = 0.3
    num_keypoints: int = 6
    anchor_offset: float = 0.5


DETECTORS: dict[str, DetectorSpec] = {
    "short_range": DetectorSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2, 0.5),
    "full_range": DetectorSpec("face_detection_full_range_sparse.tflite", 192, (4,), 1, 0.6),
}


@cache
def anchor_centres(spec: DetectorSpec) -> np.ndarray:
    """``(N, 2)`` float32 anchor centres ``(x, y)`` in [0, 1] of the input square, in the model's output order."""
    out = []
    i = 0
    while i < len(spec.strides):
        stride = spec.strides[i]
        per_cell = 0
        while i < len(spec.strides) and spec.strides[i] == stride:
            per_cell += spec.anchors_per_layer
            i += 1
        cells = math.ceil(spec.input_size / stride)
        ys, xs = np.mgrid[0:cells, 0:cells]
        off = spec.anchor_offset
        centres = np.stack([(xs.ravel() + off) / cells, (ys.ravel() + off) / cells], axis=1)
        out.append(np.repeat(centres, per_cell, axis=0))
    centres = np.concatenate(out).astype(np.float32)
    centres.setflags(write=False)
    return centres
