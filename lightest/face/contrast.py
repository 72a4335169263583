"""Contrast normalisation for detection and mesh retries under harsh side light (CLAHE on lightness)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

__all__ = ["equalise_rgb"]

#: CLAHE settings: clip limit and tile grid (the grid suits the detectors' 128-192 px inputs).
CLAHE_CLIP = 2.0
CLAHE_TILES = (4, 4)

_LOCAL = threading.local()  # one CLAHE object per thread: OpenCV's keeps scratch buffers between calls


def _clahe() -> cv2.CLAHE:
    clahe = getattr(_LOCAL, "clahe", None)
    if clahe is None:
        clahe = _LOCAL.clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=CLAHE_TILES)
    return clahe


def equalise_rgb(rgb: np.ndarray) -> np.ndarray:
    """CLAHE on the L channel of an RGB uint8 image: shadows lifted, colours kept.

    Only detection and the mesh see the result; light is always sampled from the original pixels.
    """
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = _clahe().apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
