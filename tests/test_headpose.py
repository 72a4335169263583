"""Head axes from the mesh (lightest.headpose)."""

import numpy as np

from lightest.headpose import AXIS_VERTICES, head_rotation
from lightest.landmarks import FaceLandmarks


def _mesh(right_eye, left_eye, forehead, chin) -> FaceLandmarks:
    points = np.zeros((468, 3))
    for name, p in zip(AXIS_VERTICES, (right_eye, left_eye, forehead, chin), strict=True):
        points[AXIS_VERTICES[name]] = p
    return FaceLandmarks(points=points, scheme="mediapipe468", has_depth=True)


def test_upright_face_is_identity_and_rotations_follow_the_face():
    # pixels: u right, v down, depth toward the camera; the forehead is up (smaller v)
    upright = _mesh((100, 200, 0), (200, 200, 0), (150, 100, 0), (150, 300, 0))
    assert np.allclose(head_rotation(upright), np.eye(3))
    turned = _mesh((100, 200, -50), (200, 200, 50), (150, 100, 0), (150, 300, 0))  # left eye nearer the camera
    rot = head_rotation(turned)
    assert np.allclose(rot.T @ rot, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
    assert rot[2, 0] > 0.5 and rot[0, 2] < -0.5  # head x tilts toward the camera, face normal toward image left


def test_degenerate_or_flat_meshes_give_none():
    same_eyes = _mesh((100, 200, 0), (100, 200, 0), (150, 100, 0), (150, 300, 0))
    up_along_eyes = _mesh((100, 200, 0), (200, 200, 0), (250, 200, 0), (150, 200, 0))
    assert head_rotation(same_eyes) is None and head_rotation(up_along_eyes) is None
    flat = FaceLandmarks(points=np.zeros((468, 3)), scheme="mediapipe468", has_depth=False)
    assert head_rotation(flat) is None
    assert head_rotation(_mesh((np.nan, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0))) is None
