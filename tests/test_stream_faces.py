"""Video and live stream follow one face: with several in view the same one is kept, and a new face's light is
not blended with the last one's."""

from __future__ import annotations

import cv2
import numpy as np

from lightest import Estimator, SmoothingOptions


def _pair(example_image: np.ndarray, left_scale: float) -> np.ndarray:
    """Two faces side by side: the example scaled by ``left_scale``, and its mirror image (lit from the other
    side) at the original size, both centred in their halves."""
    h, w = example_image.shape[:2]
    out = np.zeros((h, 2 * w, 3), np.uint8)
    scaled = cv2.resize(example_image, None, fx=left_scale, fy=left_scale, interpolation=cv2.INTER_AREA)
    sh, sw = scaled.shape[:2]
    y0, x0 = (h - sh) // 2, (w - sw) // 2
    out[max(0, y0) : max(0, y0) + min(h, sh), max(0, x0) : max(0, x0) + min(w, sw)] = scaled[
        max(0, -y0) : max(0, -y0) + min(h, sh), max(0, -x0) : max(0, -x0) + min(w, sw)]  # fmt: skip
    out[:, w:] = example_image[:, ::-1]
    return out


def test_video_mode_keeps_following_the_same_face(example_image):
    """The two faces take turns at being the larger one: the stream stays on the face it started with."""
    frames = [_pair(example_image, 1.04 if t % 2 else 0.96) for t in range(8)]
    with Estimator(running_mode="video", max_faces=3) as est, Estimator(max_faces=3) as image_mode:
        assert len(image_mode.estimate_all(frames[0])) == 2
        results = [est.estimate_for_video(f, 33 * t) for t, f in enumerate(frames)]
    assert all(r is not None for r in results)
    sides = [r.face_box[0] < example_image.shape[1] for r in results]
    assert len(set(sides)) == 1, [r.face_box for r in results]
    azimuths = [r.azimuth_deg for r in results]
    assert max(azimuths) - min(azimuths) < 5.0, azimuths


def test_a_new_face_starts_the_filter_afresh(example_image):
    """Face A for a while, then only face B elsewhere (lit from the other side): B's first answer is B's own."""
    h, w = example_image.shape[:2]
    left = np.zeros((h, 2 * w, 3), np.uint8)
    left[:, :w] = example_image
    right = np.zeros_like(left)
    right[:, w:] = example_image[:, ::-1]
    smoothing = SmoothingOptions()
    with Estimator(running_mode="video", smoothing=smoothing) as est, Estimator() as single:
        for t in range(6):
            a = est.estimate_for_video(left, 33 * t)
        b = est.estimate_for_video(right, 33 * 6)
        own = single.estimate(right)
    assert a is not None and b is not None and own is not None
    assert a.azimuth_deg < -30 < 30 < own.azimuth_deg  # the two faces' lights are far apart
    np.testing.assert_allclose(b.direction, own.direction, atol=1e-6)
