import cv2
import numpy as np
import pytest

from lightest.sampling import disc_radius, sample_discs


def _seed_style_mean(bgr, u, v, r):
    """The seed's way: one full-frame disc mask per point (slow, but obviously right)."""
    mask = np.zeros(bgr.shape[:2], np.uint8)
    cv2.circle(mask, (u, v), r, 255, -1)
    sel = bgr[mask > 0].astype(np.float64)
    return sel.mean(axis=0)


def test_matches_per_point_masks():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    pts = np.c_[rng.integers(10, 150, 40), rng.integers(10, 110, 40)].astype(float)
    s = sample_discs(bgr, pts, 3)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    for k, (u, v) in enumerate(pts.astype(int)):
        ref = _seed_style_mean(bgr, u, v, 3)
        assert np.allclose(s.rgb[k], ref[::-1], atol=1e-3)
        ref_gray = _seed_style_mean(np.dstack([gray] * 3), u, v, 3)[0]
        assert abs(s.gray[k] - ref_gray) < 0.6  # OpenCV rounds gray per pixel; we average first


def test_points_off_the_image_are_invalid_not_clamped():
    bgr = np.full((50, 50, 3), 100, np.uint8)
    bgr[:, :2] = 0
    s = sample_discs(bgr, np.array([[-20.0, 10.0], [0.0, 10.0], [25.0, 25.0]]), 2)
    assert list(s.valid) == [False, True, True]
    assert np.isnan(s.gray[0])
    # the border disc averages only pixels inside the image: columns 0..2, of which 0 and 1 are black
    assert 0 < s.gray[1] < 100 and s.gray[2] == pytest.approx(100)


def test_radius_scales_with_face_size():
    assert disc_radius(10) == 1
    assert disc_radius(200) == 3  # the seed's 3 px on a ~200 px face
    assert disc_radius(400) == 6


def test_border_path_agrees_with_interior_path():
    """One point near the border switches to the masked path; the interior points must not change."""
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    pts = np.c_[rng.integers(10, 150, 30), rng.integers(10, 110, 30)].astype(float)
    interior = sample_discs(bgr, pts, 4)
    mixed = sample_discs(bgr, np.vstack([pts, [[1.0, 1.0]]]), 4)
    assert interior.valid.all() and mixed.valid.all()
    np.testing.assert_allclose(mixed.gray[:-1], interior.gray, atol=1e-3)
    np.testing.assert_allclose(mixed.rgb[:-1], interior.rgb, atol=1e-3)
