"""The overlay (``lightest.overlay`` and ``lightest estimate --overlay``): face left clear, a gizmo that tells
front from back light, a legend with units, and a layout that keeps the panel on the canvas and off the face."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from lightest.frames import direction_from_angles
from lightest.overlay import OverlayOptions, draw_overlay, legend_lines, plan_layout
from lightest.result import LightEstimate
from tests.conftest import EXAMPLE


def _estimate(face_box, direction=(-0.6, 0.6, 0.5), confidence=0.82, ambient=0.3, points=None) -> LightEstimate:
    x, y, w, h = face_box
    if points is None:  # a grid of light-points over the face box, like the real 340
        gu, gv = np.meshgrid(np.linspace(x + 0.2 * w, x + 0.8 * w, 12), np.linspace(y + 0.2 * h, y + 0.8 * h, 12))
        points = np.c_[gu.ravel(), gv.ravel()]
    return LightEstimate(
        direction=direction, confidence=confidence, face_box=face_box, landmarks=np.zeros((468, 3)),
        light_points=points, sh=np.zeros((9, 3)), method="model", ambient=ambient,
    )  # fmt: skip


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _face_pixels(img: np.ndarray, box, origin=(0, 0)) -> np.ndarray:
    x, y, w, h = box
    ox, oy = origin
    return img[oy + y : oy + y + h, ox + x : ox + x + w]


def _inside(rect, canvas) -> bool:
    x, y, w, h = rect
    return x >= 0 and y >= 0 and x + w <= canvas[1] and y + h <= canvas[0]


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _accent(img: np.ndarray) -> np.ndarray:
    """Pixels of the light marker's amber (BGR about (40, 196, 255))."""
    b, g, r = (img[..., i].astype(int) for i in range(3))
    return (r > 200) & (g > 140) & (g < 230) & (b < 110)


def test_default_overlay_keeps_the_photo_size_and_leaves_the_face_untouched(example_image, physics_estimator):
    r = physics_estimator.estimate(example_image)
    before = example_image.copy()
    out = draw_overlay(example_image, r)
    assert out.dtype == np.uint8 and out.shape == example_image.shape  # 640x480 has a free corner
    np.testing.assert_array_equal(example_image, before)  # pure: the input is not drawn on
    np.testing.assert_array_equal(_face_pixels(out, r.face_box), _face_pixels(example_image, r.face_box))
    layout = plan_layout(example_image.shape, r, OverlayOptions())
    assert not layout.padded and not _overlap(layout.panel, r.face_box)
    x, y, w, h = layout.panel
    assert (out[y : y + h, x : x + w] != example_image[y : y + h, x : x + w]).mean() > 0.5  # the panel is drawn


def test_points_are_drawn_only_when_asked_small_and_translucent():
    photo, box = _photo(480, 640), (220, 100, 200, 240)
    est = _estimate(box)
    plain = draw_overlay(photo, est)
    dotted = draw_overlay(photo, est, OverlayOptions(points=True))
    np.testing.assert_array_equal(_face_pixels(plain, box), _face_pixels(photo, box))
    changed = (_face_pixels(dotted, box) != _face_pixels(photo, box)).any(axis=-1)
    assert 0.005 < changed.mean() < 0.1  # 144 small dots, not a blanket over the face
    ys, xs = np.nonzero(changed)
    face, drawn = _face_pixels(photo, box).astype(int), _face_pixels(dotted, box).astype(int)
    assert (np.abs(drawn[ys, xs] - face[ys, xs]).max(axis=-1) < 220).all()  # blended, never pasted opaque
    gray = draw_overlay(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), est)
    assert gray.shape == (480, 640, 3)


def test_front_and_back_light_draw_a_solid_and_a_hollow_marker_on_the_sphere():
    photo, box = np.full((480, 640, 3), 90, np.uint8), (220, 100, 200, 240)
    markers = {}
    for name, z in (("front", 0.6), ("back", -0.6)):
        est = _estimate(box, direction=(0.5, 0.4, z))
        layout = plan_layout(photo.shape, est, OverlayOptions())
        sx, sy, d = layout.sphere
        out = draw_overlay(photo, est)
        accent = _accent(out[sy : sy + d, sx : sx + d])  # the sphere is grey: amber is the marker alone
        ys, xs = np.nonzero(accent)
        cx, cy = round((xs.min() + xs.max()) / 2), round((ys.min() + ys.max()) / 2)
        # the marker sits where the direction projects onto the sphere (x right, y up)
        dx, dy, _ = est.direction
        assert np.hypot(cx - d / 2 * (1 + dx), cy - d / 2 * (1 - dy)) < 0.05 * d
        markers[name] = bool(accent[cy, cx])  # centre filled (solid) or empty (hollow)
        assert ("in front" if z > 0 else "behind") in legend_lines(est)[1]
    assert markers == {"front": True, "back": False}


def test_legend_has_units_and_is_drawn():
    est = _estimate((220, 100, 200, 240), direction=tuple(direction_from_angles(35, 20)), confidence=0.82)
    lines = legend_lines(est)
    assert lines == ("light 35° right, 20° up", "in front   ambient 30 %", "confidence 0.82")
    assert legend_lines(_estimate((0, 0, 9, 9), direction=(0, 0, 1)))[0] == "light frontal, level"
    assert "ambient" not in legend_lines(dataclasses.replace(est, ambient=None))[1]
    photo = np.full((480, 640, 3), 128, np.uint8)
    a = draw_overlay(photo, est)
    b = draw_overlay(photo, dataclasses.replace(est, confidence=0.31))
    rows = np.nonzero((a != b).any(axis=(1, 2)))[0]
    layout = plan_layout(photo.shape, est, OverlayOptions())
    (_, y, _, h), (_, sy, d) = layout.panel, layout.sphere
    assert len(rows) and rows.min() > sy + d and rows.max() < y + h  # only the confidence text, under the gizmo


@pytest.mark.parametrize(
    ("shape", "box"),
    [((192, 168), (0, 0, 168, 192)), ((260, 230), (10, 5, 210, 250)), ((60, 80), (22, 10, 30, 38)),
     ((48, 48), (4, 4, 40, 40)), ((1080, 1920), (700, 300, 500, 600)), ((400, 300), (0, 100, 300, 200)),
     ((400, 100), (10, 0, 80, 80))],
)  # fmt: skip
def test_tight_crops_and_tiny_images_keep_the_panel_inside_and_off_the_face(shape, box):
    photo, est = _photo(*shape), _estimate(box)
    layout = plan_layout(photo.shape, est, OverlayOptions())
    out = draw_overlay(photo, est)
    assert out.shape == (*layout.canvas, 3) and _inside(layout.panel, layout.canvas)
    ox, oy = layout.origin
    assert _inside((ox, oy, shape[1], shape[0]), layout.canvas)
    assert not _overlap(layout.panel, (ox + box[0], oy + box[1], box[2], box[3]))
    np.testing.assert_array_equal(_face_pixels(out, box, layout.origin), _face_pixels(photo, box))
    if layout.padded:  # the whole photo is there, unchanged, where the layout says
        assert out.shape[0] * out.shape[1] > photo.shape[0] * photo.shape[1]


def test_panel_goes_to_the_corner_farthest_from_the_face_and_scales_with_the_image():
    left_face = plan_layout((600, 900), _estimate((60, 300, 200, 240)), OverlayOptions())
    assert not left_face.padded and left_face.panel[0] > 450 and left_face.panel[1] < 100  # top right
    small = plan_layout((480, 640), _estimate((220, 100, 200, 240)), OverlayOptions())
    large = plan_layout((1920, 2560), _estimate((880, 400, 800, 960)), OverlayOptions())
    assert 3.5 < large.panel[2] / small.panel[2] < 4.5


def test_options_are_validated_and_frozen():
    with pytest.raises(ValueError, match="point_alpha"):
        OverlayOptions(point_alpha=0.0)
    with pytest.raises(ValueError, match="scale"):
        OverlayOptions(scale=10.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        OverlayOptions().points = True  # type: ignore[misc]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lightest.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_overlay_leaves_the_face_and_points_draws_on_it(tmp_path):
    plain, dotted = tmp_path / "plain.png", tmp_path / "dotted.jpg"
    run = _cli("estimate", str(EXAMPLE), "--json", "--overlay", str(plain))
    assert run.returncode == 0, run.stderr
    box = json.loads(run.stdout)["face_box"]
    src, out = cv2.imread(str(EXAMPLE)), cv2.imread(str(plain))
    assert out.shape == src.shape and (out != src).any()
    np.testing.assert_array_equal(_face_pixels(out, box), _face_pixels(src, box))
    run = _cli("estimate", str(EXAMPLE), "--overlay", str(dotted), "--points")
    assert run.returncode == 0, run.stderr
    face = _face_pixels(cv2.imread(str(dotted)), box).astype(int) - _face_pixels(src, box)
    assert (np.abs(face).max(axis=-1) > 40).mean() > 0.01  # the light-points show (through JPEG noise)


def test_cli_points_without_overlay_is_a_one_line_usage_error():
    run = _cli("estimate", str(EXAMPLE), "--points")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == "lightest: error: --points goes with --overlay"


@pytest.mark.parametrize("diameter", [40, 300])  # supersampled below 96 px, analytic coverage above
def test_sphere_edge_is_anti_aliased_and_lit_from_the_estimate(diameter):
    from lightest.overlay import shaded_sphere

    est = _estimate((0, 0, 9, 9), direction=(1.0, 0.0, 0.2), ambient=0.1)
    bgr, alpha = shaded_sphere(est, diameter)
    partial = (alpha > 0.02) & (alpha < 0.98)
    yy, xx = np.mgrid[0:diameter, 0:diameter] + 0.5
    rim = np.abs(np.hypot(xx - diameter / 2, yy - diameter / 2) - diameter / 2) < 1.0
    assert partial.sum() > 2 * diameter and rim[partial].all()  # a soft edge all round, and only at the edge
    row = bgr[diameter // 2, :, 1] / np.maximum(alpha[diameter // 2], 1e-6)
    assert row[int(0.8 * diameter)] > row[diameter // 2] > row[int(0.2 * diameter)]  # brighter toward the light
