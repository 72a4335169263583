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


def head_rotation(landmarks: FaceLandmarks) -> np.ndarray | None:
    """3x3 rotation whose columns are the head's x (toward the subject's left), y (up) and z (out of the
    face) axes in the camera frame; identity for an upright face looking at the camera. None without depth.

    A camera-frame direction ``d`` is ``R.T @ d`` in the head frame, and back ``R @ d_head``.
    """
    if not landmarks.has_depth or landmarks.scheme != "mediapipe468":
        return None
    p = frames.pixel_to_camera(landmarks.points[list(AXIS_VERTICES.values())])
    right_eye, left_eye, forehead, chin = p
    x = frames.normalize(left_eye - right_eye)
    up = forehead - chin
    y = frames.normalize(up - (up @ x) * x)
    return np.stack([x, y, np.cross(x, y)], axis=1)
