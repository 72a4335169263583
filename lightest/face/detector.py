"""BlazeFace face detection through LiteRT: letterbox, invoke, decode the SSD outputs, weighted NMS.

Input as MediaPipe's ``ImageToTensorCalculator`` in ``face_detection.pbtxt``: the frame letterboxed into the
model's square (``keep_aspect_ratio: true``, aspect kept, bilinear), the bands outside the frame black
(``border_mode: BORDER_ZERO``), RGB values mapped to [-1, 1]. Decoding follows its
``TensorsToDetectionsCalculator``: per anchor 16 values, box centre offset and size then six keypoints, each
divided by the input size and placed relative to the anchor centre (``reverse_output_order``: x before y);
score = sigmoid of the logit clipped to +-100; then weighted NMS (IoU 0.3) and the map back to frame pixels.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from lightest.face.contrast import equalise_bgr_to_rgb
from lightest.face.models import open_face_model
from lightest.face.nms import weighted_nms
from lightest.face.ssd_anchors import DETECTORS, DetectorSpec, anchor_centres

__all__ = ["FaceDetection", "FaceDetector", "decode"]

_SCORE_CLIP = 100.0


@dataclass(frozen=True)
class FaceDetection:
    """One detected face in frame pixels.

    Attributes:
        box: ``(x0, y0, x1, y1)``.
        keypoints: ``(6, 2)``: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides).
        score: detector confidence in [0, 1].
    """

    box: np.ndarray = field(repr=False)
    keypoints: np.ndarray = field(repr=False)
    score: float

    @property
    def area(self) -> float:
        w, h = self.box[2:] - self.box[:2]
        return float(max(w, 0.0) * max(h, 0.0))


def _logit(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a score threshold must lie in [0, 1], got {p}")
    return -math.inf if p == 0.0 else math.inf if p == 1.0 else math.log(p / (1.0 - p))


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, spec: DetectorSpec, min_score: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SSD outputs ``(N, 16)`` and ``(N,)`` logits -> boxes ``(M, 4)``, keypoints ``(M, 6, 2)``, scores ``(M,)``
    in [0, 1] input-square coordinates, for anchors scoring at least ``min_score`` (default ``spec.min_score``)."""
    logit_min = _logit(spec.min_score if min_score is None else min_score)
    keep = np.flatnonzero(raw_scores >= logit_min)
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[keep], -_SCORE_CLIP, _SCORE_CLIP)))
    anchors = anchor_centres(spec)[keep]
    values = raw_boxes[keep] / spec.input_size
    centre = values[:, 0:2] + anchors
    half = values[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = values[:, 4 : 4 + 2 * spec.num_keypoints].reshape(-1, spec.num_keypoints, 2) + anchors[:, None, :]
    return boxes, keypoints, scores


class FaceDetector:
    """One BlazeFace model (``"short_range"`` for faces filling much of the frame, ``"full_range"`` for small
    and distant ones) on BGR frames. ``min_score`` replaces the table's score threshold (MediaPipe's
    ``min_detection_confidence``)."""

    def __init__(
        self,
        kind: str,
        num_threads: int = 1,
        model_dir: str | os.PathLike[str] | None = None,
        min_score: float | None = None,
    ) -> None:
        if kind not in DETECTORS:
            raise ValueError(f"unknown detector {kind!r}; choose one of {sorted(DETECTORS)}")
        self.spec = DETECTORS[kind]
        self.min_score = self.spec.min_score if min_score is None else float(min_score)
        _logit(self.min_score)  # validates the range
        self._interp = open_face_model(self.spec.file, num_threads=num_threads, model_dir=model_dir)
        self._in = self._interp.get_input_details()[0]["index"]
        outs = sorted(self._interp.get_output_details(), key=lambda d: int(d["shape"][-1]), reverse=True)
        self._boxes, self._scores = outs[0]["index"], outs[1]["index"]
        size = self.spec.input_size
        self._tensor = np.empty((1, size, size, 3), np.float32)  # reused input buffer

    def detect(self, bgr: np.ndarray, pad: float = 0.0, equalise: bool = False) -> list[FaceDetection]:
        """Faces in a BGR frame, best first. ``pad`` shrinks the frame inside the input square as if it had
        been padded by that fraction of its longer side on every edge (faces touching the border become
        whole); ``equalise`` applies CLAHE to the input (harsh side light). Both act on the small input only."""
        h, w = bgr.shape[:2]
        size = self.spec.input_size
        scale = size / (max(w, h) * (1.0 + 2.0 * pad))
        dx, dy = (size - w * scale) / 2, (size - h * scale) / 2
        matrix = np.array([[scale, 0.0, dx], [0.0, scale, dy]])  # pixel index = coordinate, as MediaPipe
        square = cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        rgb = equalise_bgr_to_rgb(square) if equalise else cv2.cvtColor(square, cv2.COLOR_BGR2RGB)
        tensor = self._tensor  # RGB in [-1, 1]
        np.multiply(rgb[None], np.float32(2.0 / 255.0), out=tensor, dtype=np.float32, casting="unsafe")
        np.subtract(tensor, np.float32(1.0), out=tensor)
        self._interp.set_tensor(self._in, tensor)
        self._interp.invoke()
        raw_boxes = self._interp.get_tensor(self._boxes)[0]
        raw_scores = self._interp.get_tensor(self._scores)[0, :, 0]
        boxes, keypoints, scores = decode(raw_boxes, raw_scores, self.spec, self.min_score)
        if not len(scores):
            return []
        boxes, keypoints, scores = weighted_nms(boxes, keypoints, scores, self.spec.nms_iou)
        # input square [0, 1] -> frame pixels
        offset = np.array([dx, dy])
        boxes = (boxes * size - np.tile(offset, 2)) / scale
        keypoints = (keypoints * size - offset) / scale
        return [FaceDetection(b, k, float(s)) for b, k, s in zip(boxes, keypoints, scores, strict=True)]
