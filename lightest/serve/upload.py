"""Check an uploaded file before decoding it: a JPEG, PNG or WebP of sane size, else a clear HTTP error.

Reading the dimensions from the header first keeps a small file that decodes to a huge image (a
"decompression bomb") from ever reaching the decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from lightest.image_io import jpeg_size, to_bgr

__all__ = ["MAX_PIXELS", "UploadError", "decode_image", "sniff_image"]

#: Largest image accepted, in pixels (a 48 MP phone photo fits).
MAX_PIXELS = 50_000_000


class UploadError(ValueError):
    """An upload the server refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ImageHeader:
    """What the file's header says: format and size in pixels."""

    kind: str
    width: int
    height: int


def sniff_image(data: bytes) -> ImageHeader:
    """Format and size from the first bytes; ``UploadError(400)`` for anything but JPEG, PNG or WebP."""
    try:
        header = _png(data) or _jpeg(data) or _webp(data)
    except (struct.error, IndexError):
        header = None
    if header is None or header.width <= 0 or header.height <= 0:
        raise UploadError(400, "not an image: upload a JPEG, PNG or WebP photo")
    if header.width * header.height > MAX_PIXELS:
        raise UploadError(
            413, f"image is {header.width}x{header.height} pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels"
        )
    return header


def decode_image(data: bytes) -> np.ndarray:
    """BGR uint8 pixels of an uploaded JPEG/PNG/WebP; ``UploadError(400)`` naming the problem otherwise."""
    header = sniff_image(data)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UploadError(400, f"the {header.kind} file is damaged or truncated: it cannot be decoded")
    try:
        return to_bgr(image)
    except ValueError as exc:
        raise UploadError(400, str(exc)) from exc


def _png(data: bytes) -> ImageHeader | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return ImageHeader("PNG", width, height)


def _jpeg(data: bytes) -> ImageHeader | None:
    size = jpeg_size(data)  # the runtime's own marker walk (lightest.image_io)
    return None if size is None else ImageHeader("JPEG", *size)


def _webp(data: bytes) -> ImageHeader | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
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
