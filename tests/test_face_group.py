"""lightest.face on a group photo (small faces in a large frame) and its detection threshold."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lightest.face import FaceMeshLandmarker
from lightest.face.detector import FaceDetector

#: Face widths (mesh box, frame pixels) pasted into the 1920x1080 frame, and where their centres go.
PASTED = ((200, (1500, 300)), (120, (900, 700)), (60, (300, 400)))


@pytest.fixture(scope="module")
def group_frame(example_image):
    """A black 1920x1080 frame with three downscaled copies of the example face; their expected centres."""
    face = FaceMeshLandmarker().detect(example_image)[0]
    lo, hi = face.points[:, :2].min(axis=0), face.points[:, :2].max(axis=0)
    margin = 0.3 * (hi - lo)
    x0, y0 = np.floor(lo - margin).astype(int)
    x1, y1 = np.ceil(hi + margin).astype(int)
    head = example_image[y0:y1, x0:x1]
    centre_in_head = (lo + hi) / 2 - [x0, y0]
    frame = np.zeros((1080, 1920, 3), np.uint8)
    expected = []
    for width, (cx, cy) in PASTED:
        k = width / (hi - lo)[0]
        small = cv2.resize(head, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        left, top = round(cx - centre_in_head[0] * k), round(cy - centre_in_head[1] * k)
        frame[top : top + small.shape[0], left : left + small.shape[1]] = small
        expected.append((width, np.array([cx, cy], float)))
    return frame, expected


def test_three_small_faces_in_a_full_hd_frame(group_frame):
    frame, expected = group_frame
    faces = FaceMeshLandmarker(max_faces=3).detect(frame)
    assert len(faces) == 3
    for face, (width, centre) in zip(faces, expected, strict=True):  # largest first
        lo, hi = face.points[:, :2].min(axis=0), face.points[:, :2].max(axis=0)
        assert np.linalg.norm((lo + hi) / 2 - centre) < 0.15 * width
        assert face.width == pytest.approx(width, rel=0.2)
        assert face.presence > 0.5 and face.detection_score is not None


def test_max_faces_one_returns_the_largest(group_frame):
    frame, expected = group_frame
    faces = FaceMeshLandmarker().detect(frame)
    assert len(faces) == 1
    assert faces[0].width == pytest.approx(expected[0][0], rel=0.2)


def test_detection_threshold_is_min_detection_confidence(example_image):
    assert FaceMeshLandmarker(min_detection_confidence=0.5).detect(example_image)
    score = FaceDetector("short_range").detect(example_image)[0].score
    assert score < 1.0
    strict = FaceDetector("short_range", min_score=min(1.0, score + 1e-3))
    assert strict.detect(example_image) == []
    with pytest.raises(ValueError, match="threshold"):
        FaceDetector("short_range", min_score=1.5)
    with pytest.raises(ValueError, match="min_presence"):
        FaceMeshLandmarker(min_presence=-0.1)
