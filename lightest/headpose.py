"""Head axes from the 3D face mesh, so models can work in a face-relative frame.

The axes are a fixed construction on four mesh vertices (eye outer corners, forehead, chin), not a
calibrated anatomical frame: what matters is that training and runtime build them the same way.
"""

from __future__ import annotations

import math

import numpy as np

from lightest import frames
from lightest.landmarks import FaceLandmarks

__all__ = ["AXIS_VERTICES", "head_rotation"]

#: MediaPipe mesh vertices the head axes are built from.
AXIS_VERTICES = {"right_eye_outer": 33, "left_eye_outer": 263, "forehead": 151, "chin": 152}
_AXIS_IDS = np.array(list(AXIS_VERTICES.values()))


def head_rotation(landmarks: FaceLandmarks) -> np.ndarray | None:
    """3x3 rotation whose columns are the head's x (toward the subject's left), y (up) and z (out of the
    face) axes in the camera frame; identity for an upright face looking at the camera. None without depth.

    A camera-frame direction ``d`` is ``R.T @ d`` in the head frame, and back ``R @ d_head``.
    """
    if not landmarks.has_depth or landmarks.scheme != "mediapipe468":
        return None
    # Plain Python floats on the four points: numpy's per-call overhead costs more than the arithmetic.
    right_eye, left_eye, forehead, chin = (landmarks.points[_AXIS_IDS] * frames.PIXEL_AXES_IN_CAMERA).tolist()
    x = _unit(_minus(left_eye, right_eye))
    if x is None:
        return None
    up = _minus(forehead, chin)
    y = _unit(_minus(up, [_dot(up, x) * c for c in x]))  # up, made orthogonal to x
    if y is None:
        return None
    z = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]
    rot = np.array([x, y, z]).T
    return rot if np.isfinite(rot).all() else None


def _minus(a: list[float], b: list[float]) -> list[float]:
    return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]


def _dot(a: list[float], b: list[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _unit(a: list[float]) -> list[float] | None:
    norm = math.sqrt(_dot(a, a))
    return [c / norm for c in a] if norm > 0 else None
