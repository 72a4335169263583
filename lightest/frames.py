"""The one place that owns lightest's frame and angle conventions.

Camera frame (used for every direction lightest reports):
    +x = image right, +y = image up, +z = toward the camera (out of the screen).
The light direction is the unit vector from the face toward the light in that frame.

Angles derived from a direction ``d = (x, y, z)``:
    azimuth_deg   = degrees(atan2(x, z))   # 0 = light straight in front of the face (at the camera),
                                           # +90 = light at image right, -90 = image left,
                                           # +-180 = behind the face
    elevation_deg = degrees(asin(y))       # +90 = light straight above, -90 = below
and back: ``d = (sin(az) cos(el), sin(el), cos(az) cos(el))``.

Yale B names its lights the other way round (positive azimuth = light on the SUBJECT's right,
which is the IMAGE's left); :func:`direction_from_yaleb` converts.

Image pixels: ``(u, v)`` with u to the right and v DOWN (OpenCV). A point at pixel (u, v) with depth
``z_px`` toward the camera has camera-frame coordinates ``(u, -v, z_px)`` up to a translation
(:func:`pixel_to_camera`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PIXEL_AXES_IN_CAMERA",
    "angle_between_deg",
    "angles_from_direction",
    "direction_from_angles",
    "direction_from_yaleb",
    "normalize",
    "pixel_to_camera",
]


#: Multiply pixel ``(u, v, depth toward camera)`` by this to get camera-frame axes: v points down, +y up.
PIXEL_AXES_IN_CAMERA = np.array([1.0, -1.0, 1.0])


def normalize(v: np.ndarray, axis: int = -1) -> np.ndarray:
    """Unit vector(s) along ``axis``; raises ``ValueError`` for a zero or non-finite vector."""
    v = np.asarray(v, dtype=np.float64)
    n = np.sqrt(np.sum(v * v, axis=axis, keepdims=True))
    if not (np.isfinite(n).all() and (n > 1e-12).all()):
        raise ValueError("cannot normalise a zero or non-finite vector")
    return v / n


def direction_from_angles(azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray) -> np.ndarray:
    """Unit direction(s) ``(..., 3)`` in the camera frame from lightest's azimuth/elevation (degrees)."""
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.stack([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], axis=-1)


def angles_from_direction(direction: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
    """``(azimuth_deg, elevation_deg)`` of camera-frame direction(s); inverse of :func:`direction_from_angles`."""
    d = normalize(direction)
    az = np.degrees(np.arctan2(d[..., 0], d[..., 2]))
    el = np.degrees(np.arcsin(np.clip(d[..., 1], -1.0, 1.0)))
    if np.ndim(az) == 0:
        return float(az), float(el)
    return az, el


def direction_from_yaleb(azimuth_deg: float | np.ndarray, elevation_deg: float | np.ndarray) -> np.ndarray:
    """Camera-frame direction of a Yale B light (dataset convention: +azimuth = subject's right = image left)."""
    return direction_from_angles(-np.asarray(azimuth_deg, dtype=np.float64), elevation_deg)


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Angle in degrees between direction(s) ``a`` and ``b`` (broadcasting over leading axes)."""
    cos = np.sum(normalize(a) * normalize(b), axis=-1)
    out = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return float(out) if np.ndim(out) == 0 else out


def pixel_to_camera(points_px: np.ndarray) -> np.ndarray:
    """Map ``(N, 2|3)`` pixel points ``(u, v[, z_toward_camera_px])`` to camera-frame axes ``(u, -v, z)``."""
    p = np.asarray(points_px, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise ValueError(f"points must have shape (N, 2) or (N, 3), got {p.shape}")
    if p.shape[1] == 2:
        p = np.c_[p, np.zeros(len(p))]
    return p * PIXEL_AXES_IN_CAMERA
