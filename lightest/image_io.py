"""Input checking and loading: turn whatever the caller passes into a BGR uint8 image, or say why not.

Big JPEG photos are decoded reduced (libjpeg's DCT scaling, ``cv2.IMREAD_REDUCED_COLOR_2/4/8``): a 1/4 decode of
an 8000x6000 photo skips most of the inverse DCT and colour work and gives a 2000x1500 image. That loses
nothing the face pipeline uses as long as the face stays large enough in the reduced copy: the face mesh and the
light head see a 192x192 crop of a square 1.5x the face (:data:`FACE_MIN_PX` = 128 px face -> 192 px crop
square), so while the face is at least 128 reduced pixels every crop pixel still covers one or more decoded
pixels (each the mean of ``reduction``\\ :sup:`2` file pixels). :meth:`DecodedImage.reduction_for_face` says how
far a face allows reducing; ``Estimator.estimate_path`` decodes again, finer, when a face is smaller.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lightest.litert import quiet_native_stderr

__all__ = [
    "DETECT_SIDE",
    "FACE_MIN_PX",
    "MAX_DECLARED_PIXELS",
    "MAX_DECODED_PIXELS",
    "MIN_SIDE",
    "REDUCTIONS",
    "DecodedImage",
    "ImageHeader",
    "JpegLayout",
    "apply_orientation",
    "decode_oriented",
    "detection_reduction",
    "image_header",
    "image_path",
    "is_webp",
    "jpeg_layout",
    "jpeg_size",
    "load_image",
    "read_image",
    "to_bgr",
    "webp_orientation",
]

#: Smallest image side we accept; a face detector cannot work below this.
MIN_SIDE = 32
#: Files whose header declares more pixels than this are refused before decoding (the largest phone and camera
#: sensors are ~200 MP; a bigger size is a damaged or hostile header).
MAX_DECLARED_PIXELS = 400_000_000
#: Most pixels decoded at once (300 MB as BGR): PNG, WebP and other formats decode whole, JPEG at its reduction.
MAX_DECODED_PIXELS = 100_000_000
#: DCT-scaling factors libjpeg (and so ``cv2.imdecode``) offers, largest first.
REDUCTIONS = (8, 4, 2)
#: A JPEG is decoded reduced only as far as its longer side stays at least this long (about full HD), so
#: the detectors, which letterbox the frame to 128 or 192 pixels, see the same face either way.
DETECT_SIDE = 1920
#: Smallest face (landmark box, longer side) in decoded pixels whose 1.5x crop square still spans the mesh's
#: 192 crop pixels (``lightest.face.CROP_SIZE / ROI_SCALE``).
FACE_MIN_PX = 128
_REDUCED_FLAG = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
#: Full decode: BGR, 8 or 16 bit, EXIF orientation applied (as the reduced decodes apply it).
_FULL_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
#: JPEG start-of-frame markers (every SOFn but DHT C4, JPG C8 and DAC CC), start of scan, end of image.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS, _EOI = 0xDA, b"\xff\xd9"
_HEAD_BYTES, _TAIL_BYTES = 1 << 18, 1 << 16


def to_bgr(image: object) -> np.ndarray:
    """Validate ``image`` and return it as a C-contiguous HxWx3 BGR ``uint8`` array.

    Accepts HxW gray, HxWx1, HxWx3 BGR (OpenCV order) and HxWx4 BGRA ``uint8`` arrays. Anything else
    raises ``ValueError`` naming the problem, so callers never reach an OpenCV or MediaPipe crash.
    """
    if image is None:
        raise ValueError("image is None (did a file fail to load?)")
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy.ndarray, got {type(image).__name__}")
    if image.dtype != np.uint8:
        hint = " (scale to 0-255 and cast with .astype(np.uint8))" if image.dtype.kind in "fiu" else ""
        raise ValueError(f"image dtype must be uint8, got {image.dtype}{hint}")
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"image is {w}x{h} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed to find a face")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return np.ascontiguousarray(image)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2BGR)
    raise ValueError(f"image must have 1, 3 (BGR) or 4 (BGRA) channels, got {channels}")


@dataclass(frozen=True)
class JpegLayout:
    """What :func:`jpeg_layout` reads from a JPEG's markers: frame size (before EXIF orientation) and where
    the first scan starts."""

    width: int
    height: int
    scan_offset: int


def jpeg_layout(data: bytes) -> JpegLayout | None:
    """Walk a JPEG's marker segments up to the first scan; None if ``data`` is not a JPEG or its header is
    broken. Segment lengths are followed, so an EXIF thumbnail (inside APP1) is never mistaken for the image."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    i, size = 2, None
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers carry no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF and i + 9 <= len(data):
            size = (int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big"))
        if marker == _SOS:
            return None if size is None or 0 in size else JpegLayout(size[0], size[1], i)
        if length < 2:
            return None
        i += 2 + length
    return None


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's start-of-frame header (before EXIF orientation), or None."""
    layout = jpeg_layout(data)
    return None if layout is None else (layout.width, layout.height)


@dataclass(frozen=True)
class DecodedImage:
    """An image file decoded at full size or reduced.

    Attributes:
        image: HxWx3 BGR uint8, EXIF orientation applied.
        reduction: file pixels per decoded pixel along each axis (1: full size; 2, 4, 8: DCT-scaled JPEG).
        full_size: ``(width, height)`` of the image at full resolution, EXIF orientation applied.
    """

    image: np.ndarray = field(repr=False)
    reduction: int
    full_size: tuple[int, int]

    def to_full(self, points: np.ndarray) -> np.ndarray:
        """Decoded-image pixel coordinates (pixel centres at integers, as the face pipeline uses them) ->
        full-resolution ones; decoded pixel ``i`` is the mean of file pixels ``r*i .. r*i + r - 1``, so its
        centre lies at ``r*i + (r - 1) / 2`` (to within one reduced pixel at an edge that ``r`` does not divide,
        for mirrored EXIF orientations). Extra columns (depth in pixels) are scaled by ``r``."""
        r = self.reduction
        out = np.array(points, dtype=np.float64, copy=True) * r
        out[..., :2] += (r - 1) / 2.0
        return out

    def reduction_for_face(self, face_px: float) -> int:
        """The largest reduction (up to this one) at which a face of ``face_px`` decoded pixels stays at least
        :data:`FACE_MIN_PX` pixels: this one when the face is big enough, else a finer one (1: full size)."""
        full_face = face_px * self.reduction
        return next((r for r in REDUCTIONS if r <= self.reduction and full_face / r >= FACE_MIN_PX), 1)


def detection_reduction(size: tuple[int, int]) -> int:
    """The largest DCT reduction that keeps the longer side of a ``size`` image at least :data:`DETECT_SIDE`."""
    longest = max(size)
    return next((r for r in REDUCTIONS if longest / r >= DETECT_SIDE), 1)


@dataclass(frozen=True)
class ImageHeader:
    """What a file's first bytes say: format and size in pixels (before any EXIF orientation)."""

    kind: str
    width: int
    height: int


def image_header(data: bytes) -> ImageHeader | None:
    """Format and size of a JPEG, PNG or WebP from its first bytes (None for other or unreadable headers)."""
    try:
        return _png_header(data) or _jpeg_header(data) or _webp_header(data)
    except (struct.error, IndexError):
        return None


def _png_header(data: bytes) -> ImageHeader | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return ImageHeader("PNG", width, height)


def _jpeg_header(data: bytes) -> ImageHeader | None:
    size = jpeg_size(data)
    return None if size is None else ImageHeader("JPEG", *size)


def is_webp(head: bytes) -> bool:
    """Whether a file's first 12 bytes are a WebP's RIFF header."""
    return bytes(head[:4]) == b"RIFF" and bytes(head[8:12]) == b"WEBP"


def _webp_header(data: bytes) -> ImageHeader | None:
    if len(data) < 30 or not is_webp(data):
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8 ":
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
    elif chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    else:
        return None
    return ImageHeader("WebP", width, height)


def decode_oriented(data: np.ndarray, flags: int) -> np.ndarray | None:
    """``cv2.imdecode`` with the EXIF orientation applied once: OpenCV turns JPEG and PNG itself; a WebP's it
    applies only from OpenCV 4.12 on, so a WebP is decoded as stored and turned here, whatever the version."""
    if not is_webp(data[:12].tobytes()):
        return cv2.imdecode(data, flags)
    image = cv2.imdecode(data, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    return None if image is None else apply_orientation(image, webp_orientation(memoryview(data)))


def webp_orientation(data: bytes | memoryview) -> int:
    """The EXIF orientation (1-8) a WebP's ``EXIF`` chunk records, 1 when none. ``data`` is the whole file:
    the chunk usually follows the image data (a memoryview walks the chunk headers without copying)."""
    if len(data) < 12 or not is_webp(data):
        return 1
    at = 12
    while at + 8 <= len(data):
        kind, size = bytes(data[at : at + 4]), int.from_bytes(data[at + 4 : at + 8], "little")
        if kind == b"EXIF":
            return _tiff_orientation(bytes(data[at + 8 : at + 8 + size]))
        at += 8 + size + (size & 1)  # chunks are padded to an even length
    return 1


def _tiff_orientation(exif: bytes) -> int:
    """Tag 0x0112 of an EXIF block's first IFD (the block may start with ``Exif\\0\\0``); 1 when absent."""
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get(exif[:2])
    if order is None or len(exif) < 8:
        return 1
    try:
        (ifd,) = struct.unpack(order + "I", exif[4:8])
        (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
        for i in range(count):
            tag, kind, _, value = struct.unpack(order + "HHIH", exif[ifd + 2 + 12 * i : ifd + 12 + 12 * i])
            if tag == 0x0112 and kind == 3:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


#: EXIF orientation -> the operations that show the image upright (transpose first, then flips), in OpenCV.
_UPRIGHT = {2: (False, 1), 3: (False, -1), 4: (False, 0), 5: (True, None), 6: (True, 1), 7: (True, -1), 8: (True, 0)}


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` as it is meant to be shown, for an EXIF ``orientation`` (1-8; 1 and unknown values: unchanged)."""
    transpose, flip = _UPRIGHT.get(orientation, (False, None))
    out = np.ascontiguousarray(image.swapaxes(0, 1)) if transpose else image
    return out if flip is None else cv2.flip(out, flip)


def _check_pixels(p: Path, size: tuple[int, int], reduction: int) -> None:
    """Refuse, before decoding, a declared size no real photo has, or a decode too big for memory."""
    w, h = size
    if w * h > MAX_DECLARED_PIXELS:
        raise ValueError(f"{p} declares {w}x{h} pixels ({w * h / 1e6:,.0f} MP): more than any camera makes "
                         f"(limit {MAX_DECLARED_PIXELS // 1_000_000} MP); a damaged header?")  # fmt: skip
    decoded = -(-w // reduction) * -(-h // reduction)
    if decoded > MAX_DECODED_PIXELS:
        limit = MAX_DECODED_PIXELS // 1_000_000
        raise ValueError(f"{p} is {w}x{h} pixels: decoding it whole exceeds the {limit} MP lightest decodes at "
                         "once (JPEG photos are read reduced: save it as JPEG, or downscale it)")  # fmt: skip


def _read_bytes(p: Path) -> np.ndarray:
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a directory, not an image file")
    if not p.is_file():  # a pipe would block the read; a device would never end or read as empty
        raise ValueError(f"{p} is not a regular file (a pipe, socket or device), so not an image file")
    data = np.fromfile(p, dtype=np.uint8)  # also handles non-ASCII paths, unlike cv2.imread
    if data.size == 0:
        raise ValueError(f"{p} is empty")
    return data


def _check_complete(p: Path, data: np.ndarray, scan_offset: int) -> None:
    """Refuse a JPEG without an end marker after its scan (a cut-off download or copy): libjpeg would fill
    the missing rows with grey and only warn. ``FF D9`` cannot occur inside entropy-coded data (``FF`` is
    stuffed there), so any one after the scan ends the image; the file's tail is searched first, as the marker
    normally closes the file."""
    tail = max(scan_offset, data.size - _TAIL_BYTES)
    if data[tail:].tobytes().rfind(_EOI) < 0 and data[scan_offset:tail].tobytes().rfind(_EOI) < 0:
        raise ValueError(f"{p} is a truncated JPEG: the file ends inside the image data (no end marker)")


def image_path(path: object) -> Path:
    """``path`` as a :class:`~pathlib.Path` (``str``, ``bytes`` as :func:`os.fsdecode` reads them, or any
    ``os.PathLike``); anything else is a ``ValueError`` naming what was given."""
    if isinstance(path, bytes):
        return Path(os.fsdecode(path))
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"expected an image file path (str or os.PathLike), got {type(path).__name__}")
    return Path(path)


def read_image(path: str | os.PathLike[str], reduction: int | None = None) -> DecodedImage:
    """Read an image file as BGR ``uint8`` (EXIF orientation applied); ``FileNotFoundError``/``ValueError``
    say what is wrong (a truncated JPEG, a file OpenCV cannot decode, an unsupported pixel type).

    ``reduction``: 1 decodes at full size; 2, 4 or 8 decode a JPEG that much smaller (other formats are
    always decoded at full size, reduction 1); None picks :func:`detection_reduction` for a JPEG.
    """
    p = image_path(path)
    if reduction is not None and reduction not in (1, *REDUCTIONS):
        raise ValueError(f"reduction must be 1 or one of {REDUCTIONS}, got {reduction!r}")
    data = _read_bytes(p)
    layout = jpeg_layout(data[:_HEAD_BYTES].tobytes())  # the markers before the scan are usually < 64 KB
    if layout is None and data.size > _HEAD_BYTES and data[:2].tobytes() == b"\xff\xd8":
        layout = jpeg_layout(data.tobytes())
    if layout is None and data[:2].tobytes() == b"\xff\xd8":
        raise ValueError(f"{p} is a broken JPEG: its header has no readable frame size")
    if layout is not None:
        _check_complete(p, data, layout.scan_offset)
        full = (layout.width, layout.height)
        r = detection_reduction(full) if reduction is None else reduction
    else:
        full, r = None, 1
        header = image_header(data[:_HEAD_BYTES].tobytes())
        if header is not None:
            _check_pixels(p, (header.width, header.height), 1)
    if full is not None:
        _check_pixels(p, full, r)
    with quiet_native_stderr():  # libjpeg / libpng warnings would otherwise reach the terminal
        image = decode_oriented(data, _REDUCED_FLAG[r] if r > 1 else _FULL_FLAGS)
    if image is None:
        raise ValueError(f"{p} is not an image OpenCV can decode")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:  # 16-bit PNG/TIFF: keep the top 8 bits, a faithful tone mapping
            image = (image >> 8).astype(np.uint8)
        else:
            raise ValueError(f"{p} decodes to {image.dtype} pixels; only 8- and 16-bit images are supported")
    image = to_bgr(image)
    h, w = image.shape[:2]
    if full is None:
        full = (w, h)
    elif (h > w) != (full[1] > full[0]):  # EXIF orientation turned it by 90 degrees
        full = (full[1], full[0])
    return DecodedImage(image, r, full)


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file at full size as BGR ``uint8`` (EXIF orientation applied); ``FileNotFoundError``/
    ``ValueError`` say what is wrong."""
    return read_image(path, reduction=1).image
