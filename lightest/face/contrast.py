"""Contrast normalisation for detection and mesh retries under harsh side light (CLAHE on lightness)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

__all__ = ["equalise_bgr_to_rgb", "equalise_rgb"]

#: CLAHE settings: clip limit and tile grid (the grid suits the detectors' 128-192 px inputs).
CLAHE_CLIP = 2.0
CLAHE_TILES = (4, 4)

_LOCAL = threading.local()  # one CLAHE object per thread: OpenCV's keeps scratch buffers between calls


def _clahe() -> cv2.CLAHE:
    clahe = getattr(_LOCAL, "clahe", None)
    if clahe is None:
        clahe = _LOCAL.clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=CLAHE_TILES)
    return clahe


def _equalise(image: np.ndarray, to_lab: int, from_lab: int) -> np.ndarray:
    lab = cv2.cvtColor(image, to_lab)
    lab[:, :, 0] = _clahe().apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, from_lab)


def equalise_rgb(rgb: np.ndarray) -> np.ndarray:
    """CLAHE on the L channel of an RGB uint8 image: shadows lifted, colours kept.

    Only detection and the mesh see the result; light is always sampled from the original pixels.
    """
    return _equalise(rgb, cv2.COLOR_RGB2LAB, cv2.COLOR_LAB2RGB)


def equalise_bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    """:func:`equalise_rgb` of a BGR image's pixels, returned as RGB (no separate channel swap)."""
    return _equalise(bgr, cv2.COLOR_BGR2LAB, cv2.COLOR_LAB2RGB)
