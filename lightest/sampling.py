"""Brightness at the light-points: mean of a small disc around each, vectorised.

The seed used a 3 px disc on 320x320 renders; lightest scales the radius with the face so the same
patch of skin is averaged at any resolution. One gather over precomputed disc offsets serves all points
(no full-frame mask per point as the seed built).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

__all__ = ["LUMA_RGB", "RADIUS_FRACTION", "Samples", "disc_offsets", "disc_radius", "sample_crop", "sample_discs"]

#: Disc radius as a fraction of face size (seed: 3 px for a ~200 px face on a 320x320 render).
RADIUS_FRACTION = 0.015

#: Gray from mean R, G, B: ITU-R BT.601 luma, as OpenCV's BGR2GRAY.
LUMA_RGB = (0.299, 0.587, 0.114)
# Mean B, G, R (rows) -> R, G, B and gray (columns).
_BGR_TO_RGB_GRAY = np.array(
    [[0.0, 0.0, 1.0, LUMA_RGB[2]], [0.0, 1.0, 0.0, LUMA_RGB[1]], [1.0, 0.0, 0.0, LUMA_RGB[0]]], dtype=np.float32
)


@dataclass(frozen=True)
class Samples:
    """Per light-point means (0-255 scale). ``valid`` is False where the disc fell outside the image."""

    gray: np.ndarray = field(repr=False)  # (K,) float32
    rgb: np.ndarray = field(repr=False)  # (K, 3) float32, R, G, B
    valid: np.ndarray = field(repr=False)  # (K,) bool
    radius: int


def disc_radius(face_size_px: float) -> int:
    """Disc radius in pixels for a face of this size (at least 1)."""
    return max(1, round(face_size_px * RADIUS_FRACTION))


@cache
def disc_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dy)`` pixel offsets of every pixel in a disc of ``radius`` px, row by row."""
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    inside = xx * xx + yy * yy <= radius * radius
    return xx[inside].astype(np.intp), yy[inside].astype(np.intp)


@cache
def _mean_weights(disc_pixels: int) -> np.ndarray:
    """(P*3, 4) matrix taking a point's P gathered B, G, R pixels to its mean R, G, B and gray at once."""
    return np.tile(_BGR_TO_RGB_GRAY / disc_pixels, (disc_pixels, 1))


def sample_discs(bgr: np.ndarray, points_uv: np.ndarray, radius: int) -> Samples:
    """Mean colour in a disc of ``radius`` px around each ``(u, v)`` point of a BGR uint8 image."""
    h, w = bgr.shape[:2]
    radius = int(radius)
    dx, dy = disc_offsets(radius)
    centre = np.rint(points_uv[:, :2]).astype(np.intp)
    pixels_flat = bgr.reshape(-1, 3)
    if centre.min() >= radius and (np.array([w - 1 - radius, h - 1 - radius]) - centre).min() >= 0:
        # Every disc lies inside the image (the usual case): one gather, one matrix product.
        flat = (centre[:, 1] * w + centre[:, 0])[:, None] + (dy * w + dx)
        pixels = np.take(pixels_flat, flat, axis=0).reshape(len(flat), -1).astype(np.float32)  # (K, P*3)
        means = pixels @ _mean_weights(len(dx))
        return Samples(gray=means[:, 3], rgb=means[:, :3], valid=np.ones(len(centre), dtype=bool), radius=radius)
    xs = centre[:, :1] + dx  # (K, P)
    ys = centre[:, 1:2] + dy
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    pixels = np.take(pixels_flat, np.where(inside, ys * w + xs, 0), axis=0).astype(np.float32)
    counts = inside.sum(axis=1)
    sums = (pixels.transpose(0, 2, 1) @ inside[:, :, None].astype(np.float32))[:, :, 0]
    valid = counts > 0
    bgr_mean = sums / np.maximum(counts, 1)[:, None]
    bgr_mean[~valid] = np.nan
    means = bgr_mean @ _BGR_TO_RGB_GRAY
    return Samples(gray=means[:, 3], rgb=means[:, :3], valid=valid, radius=radius)


def sample_crop(
    crop_rgb: np.ndarray, crop_uv: np.ndarray, crop_to_image: np.ndarray, image_size: tuple[int, int], radius: int
) -> Samples:
    """Disc means around ``crop_uv`` in a uint8 RGB face crop (the light head's sampling, in numpy).

    Pixels are addressed in the crop's row-major buffer, ``x + side * y``, clamped to it (a disc can only
    cross the crop's edge for a point the mesh put at the edge of its own crop). A point is ``valid`` when
    its rounded position in the frame (``crop_to_image @ (u, v, 1)``) lies inside the
    ``image_size = (width, height)`` frame. The light-head graph (:mod:`lightest.lighthead`) does exactly
    this; the two are tested equal.
    """
    side = crop_rgb.shape[0]
    dx, dy = disc_offsets(int(radius))
    centre = np.rint(crop_uv[:, :2]).astype(np.intp)
    flat = np.clip((centre[:, 0] + side * centre[:, 1])[:, None] + (dx + side * dy), 0, side * side - 1)
    rgb = crop_rgb.reshape(-1, 3)[flat].astype(np.float32).mean(axis=1)
    uv = np.rint(crop_uv[:, :2] @ crop_to_image[:, :2].T + crop_to_image[:, 2])
    width, height = image_size
    valid = (uv >= 0).all(axis=1) & (uv[:, 0] <= width - 1) & (uv[:, 1] <= height - 1)
    gray = rgb @ np.asarray(LUMA_RGB, dtype=np.float32)
    return Samples(gray=gray, rgb=rgb, valid=valid, radius=int(radius))
