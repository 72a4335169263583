"""Big photos from file (issue 16, part 3): reduced JPEG decoding, results in full-resolution pixels, the finer
decode for small faces, EXIF orientation, and clean errors for truncated or corrupt files. Correctness only;
the time and memory figures come from ``python -m mobile_bench bigphoto``."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lightest import Estimator, frames
from lightest.image_io import FACE_MIN_PX, DecodedImage, jpeg_size, load_image, read_image
from mobile_bench.bigphoto import make_scene, write_scene

SIZE = (4000, 3000)  # decoded at 1/2 (longer side >= 1920): a big photo at a test's cost


@pytest.fixture(scope="module")
def estimator():
    with Estimator() as est:
        yield est


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory) -> Path:
    """A 4000x3000 JPEG with a 400 px face: 200 px in the 1/2 decode, no finer decode needed."""
    return write_scene(make_scene(SIZE, 400, seed=1), tmp_path_factory.mktemp("big") / "face400.jpg")


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an APP1 EXIF segment holding only the orientation tag (0x0112), after the SOI marker."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_header_size_and_reduction(big_jpeg):
    assert jpeg_size(big_jpeg.read_bytes()) == SIZE
    decoded = read_image(big_jpeg)
    assert decoded.reduction == 2 and decoded.full_size == SIZE and decoded.image.shape == (1500, 2000, 3)
    assert read_image(big_jpeg, reduction=1).image.shape == (3000, 4000, 3)
    png = big_jpeg.with_suffix(".png")
    cv2.imwrite(str(png), np.zeros((40, 3000, 3), np.uint8))
    assert read_image(png).reduction == 1  # only JPEG has DCT scaling


def test_reduced_decode_matches_an_area_downscale(big_jpeg):
    full = read_image(big_jpeg, reduction=1).image
    for r in (2, 4, 8):
        reduced = read_image(big_jpeg, reduction=r).image.astype(np.float32)
        area = cv2.resize(full, (reduced.shape[1], reduced.shape[0]), interpolation=cv2.INTER_AREA)
        assert np.abs(reduced - area).mean() < 2.0, r


def test_pixel_mapping():
    d = DecodedImage(np.zeros((40, 50, 3), np.uint8), 4, (200, 160))
    pts = d.to_full(np.array([[0.0, 0.0, 1.0], [49.0, 39.0, -2.0]]))
    # decoded pixel i averages file pixels 4i..4i+3: its centre is 4i + 1.5; depth (pixels) scales by 4
    np.testing.assert_allclose(pts, [[1.5, 1.5, 4.0], [197.5, 157.5, -8.0]])
    assert d.reduction_for_face(40) == 1 and d.reduction_for_face(32) == 1 and d.reduction_for_face(64) == 2
    assert d.reduction_for_face(FACE_MIN_PX) == 4


def test_big_jpeg_reduced_agrees_with_full_decode(estimator, big_jpeg):
    reduced = estimator.estimate_path(big_jpeg)
    full = estimator.estimate(load_image(big_jpeg))
    assert reduced is not None and full is not None
    face = max(full.face_box[2:])
    assert 300 < face < 500
    # landmarks and light-points in full-resolution pixels, within 1 % of the face size of the full decode's
    assert np.abs(reduced.landmarks[:, :2] - full.landmarks[:, :2]).mean() < 0.01 * face
    assert np.abs(reduced.light_points - full.light_points).mean() < 0.01 * face
    assert np.abs(np.subtract(reduced.face_box, full.face_box)).max() < 0.03 * face
    assert frames.angle_between_deg(np.array(reduced.direction), np.array(full.direction)) < 5.0


def test_small_face_in_big_photo_gets_a_finer_decode(estimator, tmp_path):
    """A 200 px face: 100 px in the 1/2 decode (< FACE_MIN_PX), so it is estimated again at full size; the whole
    frame is also too big for the detectors' 192 px input to show it, so the window search finds it."""
    scene = make_scene(SIZE, 200, seed=2, at=(0.7, 0.3))
    path = write_scene(scene, tmp_path / "face200.jpg")
    result = estimator.estimate_path(path)
    assert result is not None
    x, y, w, h = result.face_box
    assert x <= scene.centre[0] <= x + w and y <= scene.centre[1] <= y + h and 150 < max(w, h) < 260
    # the same face estimated on a crop of the full decode (3 faces wide) agrees: full-resolution sampling
    full = load_image(path)
    x0, y0 = round(scene.centre[0] - 300), round(scene.centre[1] - 300)
    crop = estimator.estimate(full[y0 : y0 + 600, x0 : x0 + 600])
    assert crop is not None
    np.testing.assert_allclose(result.landmarks[:, :2], crop.landmarks[:, :2] + (x0, y0), atol=3.0)
    assert frames.angle_between_deg(np.array(result.direction), np.array(crop.direction)) < 3.0


def test_small_face_in_a_big_array_is_found_by_the_window_search(estimator):
    """The same search for an image already in memory: ``estimate`` in image mode finds a 200 px face in a
    4000x3000 array that the whole-frame pass misses; video mode (one pass per frame, tracking) does not search."""
    scene = make_scene(SIZE, 200, seed=2, at=(0.7, 0.3))
    assert estimator._estimate_frame(scene.image) is None  # too small for the detectors on the whole frame
    result = estimator.estimate(scene.image)
    assert result is not None
    x, y, w, h = result.face_box
    assert x <= scene.centre[0] <= x + w and y <= scene.centre[1] <= y + h and 150 < max(w, h) < 260
    assert np.abs(result.light_points.mean(axis=0) - scene.centre).max() < 0.3 * max(w, h)  # in the array's pixels
    with Estimator(running_mode="video") as video:
        assert video.estimate(scene.image) is None


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_applied_in_full_and_reduced_decodes(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    image = cv2.resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    image[:200, :300] = (0, 0, 255)  # a red top-left corner shows where the rotation put it
    _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(_with_exif_orientation(jpeg.tobytes(), orientation))
    expected = {6: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE, 3: cv2.ROTATE_180}[orientation]
    upright = cv2.rotate(image, expected)
    full = load_image(path)
    assert full.shape == upright.shape
    assert np.abs(full.astype(np.float32) - upright).mean() < 3.0
    reduced = read_image(path)
    assert reduced.reduction == 2 and reduced.full_size == (upright.shape[1], upright.shape[0])
    small = cv2.resize(upright, (reduced.image.shape[1], reduced.image.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(reduced.image.astype(np.float32) - small).mean() < 3.0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lightest.cli", "estimate", *args], capture_output=True, text=True, check=False
    )


def test_truncated_and_corrupt_big_files_give_one_line_errors(big_jpeg, tmp_path):
    data = big_jpeg.read_bytes()
    noise = bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8))
    png = cv2.imencode(".png", np.full((3000, 4000, 3), 90, np.uint8))[1].tobytes()
    undecodable = "not an image OpenCV can decode"
    cases = {
        "truncated.jpg": (data[: len(data) // 2], "truncated JPEG"),
        "no_header.jpg": (data[:2] + b"\x00" * 4000, "broken JPEG"),
        "garbage.jpg": (noise, undecodable),
        "cut.png": (png[: len(png) // 2], undecodable),
    }
    for name, (content, _) in cases.items():
        (tmp_path / name).write_bytes(content)
    for name, (_, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            read_image(tmp_path / name)
    proc = _cli(*(str(tmp_path / name) for name in cases))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(cases), proc.stderr  # one line each: nothing from libjpeg/libpng, no traceback
    for line, (name, (_, message)) in zip(lines, cases.items(), strict=True):
        assert line.startswith(str(tmp_path / name)) and message in line


def test_cli_reports_full_resolution_box(big_jpeg):
    proc = _cli(str(big_jpeg), "--json")
    assert proc.returncode == 0, proc.stderr
    box = json.loads(proc.stdout)["face_box"]
    assert box[0] > 1000 and max(box[2:]) > 300  # full-resolution pixels, not the 1/2 decode's
