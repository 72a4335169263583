"""The rotated square face crop (MediaPipe's region of interest) and the maps between it and the frame.

Coordinates are continuous pixels (a W-pixel-wide frame spans 0..W, as MediaPipe's normalised landmarks
times W). A crop of ``size`` pixels covers a square of ``side`` frame pixels centred at ``centre`` and
rotated by ``angle`` (radians, image axes: x right, y down; positive turns x toward y). MediaPipe builds it:

* from a detection: the box centre, rotation from the right eye (keypoint 0) to the left eye (keypoint 1),
  side 1.5x the box's longer side (``face_detection_front_detection_to_roi.pbtxt``);
* from a mesh (tracking): the landmarks' axis-aligned box centre, rotation from vertex 33 to vertex 263
  (outer eye corners), side 1.5x the box's longer side (``face_landmark_landmarks_to_roi.pbtxt``).

The crop is sampled bilinearly with the edge pixels replicated beyond the frame (``BORDER_REPLICATE``,
the border MediaPipe's ``ImageToTensorCalculator`` uses for the face-landmark model; our landmarks match
``solutions.face_mesh`` to ~0.01 px with it), or black (a frame padded with black: a retry for tight crops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["ROI_SCALE", "RotatedRect", "roi_from_eyes", "roi_from_mesh", "warp_crop"]

#: The crop is this many times the face box's longer side.
ROI_SCALE = 1.5
#: Mesh vertices whose line sets the tracking crop's rotation (right then left outer eye corner).
MESH_EYE_VERTICES = (33, 263)


@dataclass(frozen=True)
class RotatedRect:
    """A rotated square in frame pixels."""

    centre: tuple[float, float]
    side: float
    angle: float

    def to_image(self, size: int) -> np.ndarray:
        """``(2, 3)`` affine taking crop pixels (0..size) to frame pixels."""
        k = self.side / size
        c, s = math.cos(self.angle), math.sin(self.angle)
        linear = np.array([[k * c, -k * s], [k * s, k * c]])
        offset = np.asarray(self.centre) - linear @ np.array([size / 2, size / 2])
        return np.column_stack([linear, offset])

    def warp(self, bgr: np.ndarray, size: int, dark_border: bool = False) -> np.ndarray:
        """The ``size`` x ``size`` crop of a BGR frame as RGB uint8 (:func:`warp_crop`)."""
        return warp_crop(bgr, self.to_image(size), size, dark_border)


def warp_crop(bgr: np.ndarray, to_image: np.ndarray, size: int, dark_border: bool = False) -> np.ndarray:
    """The ``size`` x ``size`` crop whose pixels ``to_image`` (``(2, 3)``) takes to frame pixels, as RGB uint8,
    bilinear; beyond the frame the edge pixels are replicated (MediaPipe), or black with ``dark_border`` (as
    if the frame had been padded)."""
    # Pixel indices are used as the continuous coordinates themselves, as MediaPipe's OpenCV converter
    # does (it maps the rect's corners to the tensor's corners); the graphs were trained on that.
    crop = cv2.warpAffine(
        bgr,
        np.asarray(to_image, dtype=np.float64),
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT if dark_border else cv2.BORDER_REPLICATE,
    )
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def _rect(centre: np.ndarray, box_size: np.ndarray, start: np.ndarray, end: np.ndarray) -> RotatedRect:
    angle = math.atan2(float(end[1] - start[1]), float(end[0] - start[0]))
    return RotatedRect((float(centre[0]), float(centre[1])), ROI_SCALE * float(box_size.max()), angle)


def roi_from_eyes(box: np.ndarray, right_eye: np.ndarray, left_eye: np.ndarray) -> RotatedRect:
    """Crop for a detection: ``box`` ``(x0, y0, x1, y1)`` and its eye keypoints, in frame pixels."""
    return _rect((box[:2] + box[2:]) / 2, box[2:] - box[:2], right_eye, left_eye)


def roi_from_mesh(points: np.ndarray) -> RotatedRect:
    """Crop around a 468-point mesh in frame pixels (MediaPipe's tracking rule)."""
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    a, b = MESH_EYE_VERTICES
    return _rect((lo + hi) / 2, hi - lo, points[a, :2], points[b, :2])
