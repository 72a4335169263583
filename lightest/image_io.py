"""Input checking and loading: turn whatever the caller passes into a BGR uint8 image, or say why not."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

__all__ = ["MIN_SIDE", "load_image", "to_bgr"]

#: Smallest image side we accept; a face detector cannot work below this.
MIN_SIDE = 32


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


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as BGR ``uint8``; ``FileNotFoundError``/``ValueError`` say what is wrong."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a directory, not an image file")
    data = np.fromfile(p, dtype=np.uint8)  # also handles non-ASCII paths, unlike cv2.imread
    if data.size == 0:
        raise ValueError(f"{p} is empty")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{p} is not an image OpenCV can decode")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:  # 16-bit PNG/TIFF: keep the top 8 bits, a faithful tone mapping
            image = (image >> 8).astype(np.uint8)
        else:
            raise ValueError(f"{p} decodes to {image.dtype} pixels; only 8- and 16-bit images are supported")
    return to_bgr(image)
