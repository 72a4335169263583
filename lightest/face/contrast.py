"""Contrast normalisation for detection and mesh retries under harsh side light (CLAHE on lightness)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["equalise_rgb"]


def equalise_rgb(rgb: np.ndarray) -> np.ndarray:
    """CLAHE (clip 2, 4x4 tiles) on the L channel of an RGB uint8 image: shadows lifted, colours kept.

    Only detection and the mesh see the result; light is always sampled from the original pixels.
    """
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
