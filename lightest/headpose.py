"""Head axes from the 3D face mesh, so models can work in a face-relative frame.

The axes are a fixed construction on four mesh vertices (eye outer corners, forehead, chin), not a
calibrated anatomical frame: what matters is that training and runtime build them the same way.
"""

from __future__ import annotations

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
    # Written out on the four points: numpy's generic helpers cost more than the arithmetic here.
    p = landmarks.points[_AXIS_IDS] * frames.PIXEL_AXES_IN_CAMERA  # pixels -> camera axes
    x = p[1] - p[0]  # right eye outer corner -> left eye outer corner
    x /= np.sqrt(x @ x)
    up = p[2] - p[3]  # chin -> forehead
    y = up - (up @ x) * x
    y /= np.sqrt(y @ y)
    z = np.array([x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]])
    rot = np.stack([x, y, z], axis=1)
    return rot if np.isfinite(rot).all() else None
