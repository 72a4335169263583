"""Check an uploaded file before decoding it: a JPEG, PNG or WebP of sane size, else a clear HTTP error.

Reading the dimensions from the header first keeps a small file that decodes to a huge image (a
"decompression bomb") from ever reaching the decoder.
"""

from __future__ import annotations

import cv2
import numpy as np

from lightest.image_io import ImageHeader, decode_oriented, image_header, to_bgr

__all__ = ["MAX_PIXELS", "UploadError", "decode_image", "sniff_image"]

#: Largest image accepted, in pixels (a 48 MP phone photo fits).
MAX_PIXELS = 50_000_000


class UploadError(ValueError):
    """An upload the server refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def sniff_image(data: bytes) -> ImageHeader:
    """Format and size from the first bytes; ``UploadError(400)`` for anything but JPEG, PNG or WebP."""
    header = image_header(data)
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
    image = decode_oriented(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UploadError(400, f"the {header.kind} file is damaged or truncated: it cannot be decoded")
    try:
        return to_bgr(image)
    except ValueError as exc:
        raise UploadError(400, str(exc)) from exc
