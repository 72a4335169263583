"""Weighted non-maximum suppression, as MediaPipe's ``NonMaxSuppressionCalculator`` (``algorithm: WEIGHTED``).

Boxes overlapping the best remaining box by more than ``iou`` are merged into it: box and keypoints become
the score-weighted mean of the group, the score stays the best one's. Smoother than plain NMS, which is
why MediaPipe's face detection uses it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["iou", "weighted_nms"]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one ``(x0, y0, x1, y1)`` box with each row of ``boxes``."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """``(N, N)`` intersection over union of every pair of rows of ``boxes``."""
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = areas[:, None] + areas[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge overlapping detections. ``boxes`` ``(N, 4)`` as ``(x0, y0, x1, y1)``, ``keypoints`` ``(N, K, 2)``,
    ``scores`` ``(N,)``; returns the merged ``(boxes, keypoints, scores)``, best score first."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    overlaps = _pairwise_iou(boxes)
    alive = np.ones(len(scores), dtype=bool)
    out_boxes, out_kps, out_scores = [], [], []
    for best in range(len(scores)):  # in score order: the best box still alive leads the next group
        if not alive[best]:
            continue
        group = alive & (overlaps[best] > threshold)
        group[best] = True
        weights = scores[group] / scores[group].sum()
        out_boxes.append(weights @ boxes[group])
        out_kps.append(np.tensordot(weights, keypoints[group], axes=1))
        out_scores.append(scores[best])
        alive &= ~group
    if not out_scores:
        return np.zeros((0, 4)), np.zeros((0, *keypoints.shape[1:])), np.zeros(0)
    return np.array(out_boxes), np.array(out_kps), np.array(out_scores)
