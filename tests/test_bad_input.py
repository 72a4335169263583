"""Every kind of bad input gets a clear error or None (no face), never a crash deep in OpenCV/MediaPipe."""

import numpy as np
import pytest

from lightest import Estimator
from lightest.image_io import load_image, to_bgr
from tests.conftest import EXAMPLE


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (None, "None"),
        ([[1, 2], [3, 4]], "numpy.ndarray"),
        (np.zeros((0, 0), np.uint8), "empty"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        (np.zeros((1, 1), np.uint8), "1x1"),
        (np.zeros((64, 64), np.float32), "float32"),
        (np.full((64, 64), np.nan), "float64"),
        (np.zeros((64, 64), np.uint16), "uint16"),
        (np.zeros((64, 64, 2), np.uint8), "2"),
        (np.zeros((64, 64, 5), np.uint8), "5"),
        (np.zeros((4, 64, 64, 3), np.uint8), "shape"),
        (np.zeros(64, np.uint8), "shape"),
    ],
)
def test_bad_arrays_raise_value_error(physics_estimator, image, message):
    with pytest.raises(ValueError, match=message):
        physics_estimator.estimate(image)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 1), (64, 64, 3), (64, 64, 4)])
def test_accepted_layouts_become_bgr(shape):
    out = to_bgr(np.full(shape, 7, np.uint8))
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8 and np.all(out == 7)


def test_non_contiguous_view_is_accepted(physics_estimator):
    img = np.zeros((200, 200, 3), np.uint8)[::2, ::2]
    assert physics_estimator.estimate(img) is None


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_blank_images_have_no_face(physics_estimator, fill):
    assert physics_estimator.estimate(np.full((480, 640, 3), fill, np.uint8)) is None


def test_noise_has_no_face(physics_estimator):
    rng = np.random.default_rng(1)
    assert physics_estimator.estimate(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) is None


def test_missing_file(physics_estimator, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        physics_estimator.estimate_path(tmp_path / "nope.jpg")


def test_directory(physics_estimator, tmp_path):
    with pytest.raises(ValueError, match="directory"):
        physics_estimator.estimate_path(tmp_path)


def test_empty_and_non_image_files(physics_estimator, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        physics_estimator.estimate_path(empty)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    with pytest.raises(ValueError, match="not an image"):
        physics_estimator.estimate_path(text)
    truncated = tmp_path / "cut.png"
    import cv2

    _, buf = cv2.imencode(".png", np.full((64, 64, 3), 90, np.uint8))
    truncated.write_bytes(buf.tobytes()[:40])
    with pytest.raises(ValueError, match="not an image"):
        physics_estimator.estimate_path(truncated)


def test_sixteen_bit_file_is_read_as_8_bit(tmp_path):
    import cv2

    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), np.full((64, 64), 0x8040, np.uint16))
    img = load_image(path)
    assert img.dtype == np.uint8 and np.all(img == 0x80)


def test_estimate_with_landmarks_checks_the_landmarks(example_image):
    from lightest import Estimator
    from lightest.landmarks import FaceLandmarks

    with Estimator() as est:
        face = est.detect_landmarks(example_image)
        assert face is not None
        cases = [
            (None, "must be a lightest.landmarks.FaceLandmarks"),
            (face.points, "must be a lightest.landmarks.FaceLandmarks"),
            (FaceLandmarks(np.zeros((68, 3)), "dlib68", False), "follow the 'dlib68' scheme"),
            (FaceLandmarks(face.points[:100], "mediapipe468", True), "have 468 rows, got 100"),
            (FaceLandmarks(np.full((468, 3), np.nan), "mediapipe468", True), "NaN or infinite"),
            (FaceLandmarks(np.full((468, 3), 50.0), "mediapipe468", True), "span 0x0 pixels"),
        ]
        for landmarks, message in cases:
            with pytest.raises(ValueError, match=message):
                est.estimate_with_landmarks(example_image, landmarks)
        away = FaceLandmarks(face.points + np.array([5000.0, 0.0, 0.0]), "mediapipe468", True)
        assert est.estimate_with_landmarks(example_image, away) is None
        assert est.estimate_with_landmarks(example_image, face) is not None


def test_thin_big_images_and_files_that_are_not_regular(tmp_path):
    """A 5000x40 strip is searched without windows too thin to hold a face (they said "image is 3000x24
    pixels"); a named pipe is refused instead of blocking the read."""
    import os

    import cv2

    from lightest import Estimator

    strip = tmp_path / "strip.png"
    cv2.imwrite(str(strip), np.full((40, 5000, 3), 100, np.uint8))
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with Estimator() as est:
        assert est.estimate_path(strip) is None
        assert est.estimate(np.full((40, 20000, 3), 100, np.uint8)) is None
        with pytest.raises(ValueError, match="not a regular file"):
            est.estimate_path(fifo)


def test_huge_declared_sizes_are_refused_before_decoding(tmp_path):
    """A small file whose header claims a huge image (a decompression bomb, or a damaged header) is refused from
    its header: decoding it had taken gigabytes ("no face" after 2.4 GB for a 389 KB PNG of 20000x20000)."""
    import struct
    import zlib

    import cv2

    from lightest.image_io import read_image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = tmp_path / "bomb.png"  # the header is all that is read: the pixel data need not be there
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))  # fmt: skip
    with pytest.raises(ValueError, match="exceeds the 100 MP"):
        read_image(bomb)
    data = bytearray(cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 60000, 60000)
    patched = tmp_path / "patched.jpg"
    patched.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="declares 60000x60000 pixels"):
        read_image(patched)


@pytest.mark.parametrize(("orientation", "shape"), [(o, (40, 60, 3)) for o in range(1, 9)] + [(6, (400, 600, 3))])
def test_webp_exif_orientation_is_applied(tmp_path, orientation, shape):
    """A WebP is turned by its EXIF orientation once, on any OpenCV (4.12+ turns it too; before, not at all),
    also when the EXIF chunk, after the image data, lies beyond the first 256 KB (checked against PIL)."""
    pil = pytest.importorskip("PIL.Image", reason="Pillow (a dev dependency) writes the EXIF-tagged WebP")
    from PIL import ImageOps

    from lightest.image_io import read_image
    from lightest.serve.upload import decode_image

    pixels = np.random.default_rng(orientation).integers(0, 255, shape).astype(np.uint8)
    exif = pil.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "tagged.webp"
    pil.fromarray(pixels).save(path, exif=exif.tobytes(), lossless=True)
    assert (path.stat().st_size > 1 << 18) == (shape[0] > 100)
    with pil.open(path) as shown:
        upright = np.asarray(ImageOps.exif_transpose(shown).convert("RGB"))[:, :, ::-1]
    assert np.array_equal(read_image(path).image, upright)
    assert np.array_equal(decode_image(path.read_bytes()), upright)


def test_wrong_kinds_of_argument_are_named(physics_estimator, example_image, tmp_path):
    """Arguments of the wrong kind get a message naming them, not a TypeError from pathlib, numpy or cv2."""
    from lightest import EstimatorOptions, SmoothingOptions
    from lightest.overlay import draw_overlay

    with pytest.raises(ValueError, match=r"expected an image file path .* got NoneType"):
        physics_estimator.estimate_path(None)
    assert physics_estimator.estimate_path(str(EXAMPLE).encode()) is not None  # bytes paths, as os takes them
    for path, message in ((".", "is a directory, not a .tflite file"), (5, "must be a path to a .tflite file")):
        with pytest.raises(ValueError, match=message):
            EstimatorOptions(model_path=path)
    with pytest.raises(ValueError, match="enabled must be True or False"):
        SmoothingOptions(enabled="no")
    result = physics_estimator.estimate(example_image)
    with pytest.raises(TypeError, match=r"got NoneType .*no face"):
        draw_overlay(example_image, None)
    with pytest.raises(TypeError, match=r"options must be a lightest\.overlay\.OverlayOptions, got dict"):
        draw_overlay(example_image, result, {"points": True})
    with Estimator(method="physics", running_mode="video") as video:
        for stamp in (2**70, 10**400, float("nan")):
            with pytest.raises(ValueError, match="finite number of milliseconds"):
                video.estimate_for_video(example_image, stamp)
