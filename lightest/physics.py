"""Physics estimator: Lambertian shading fit on mesh normals, no trained model needed.

Each light-point i sees ``I_i = rho * (A + S * max(0, n_i . l))`` (albedo rho, ambient A, light S from
unit direction l). On lit points that is linear in the normal, ``I_i = c0 + c . n_i``: a least-squares fit
of first-order spherical harmonics gives ``l = c / |c|``. Points facing away from the current estimate
(attached shadow) or black (cast shadow) break linearity, so they are dropped and the fit repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightest import frames

__all__ = ["PhysicsFit", "fit_lambertian", "srgb_to_linear", "vertex_normals"]

#: Points whose normal is closer than this cosine to the shadow terminator are left out of the fit.
SHADOW_COS = 0.0
#: Linear intensities (0-1) below this are treated as cast shadow or black.
DARK_LEVEL = 0.003
#: Fewest lit points a fit may rest on.
MIN_POINTS = 8
ITERATIONS = 6


@dataclass(frozen=True)
class PhysicsFit:
    """Result of :func:`fit_lambertian` (intensities on the linear 0-1 scale)."""

    direction: np.ndarray  # (3,) unit, camera frame
    directional: float  # rho * S
    ambient: float  # rho * A, clipped at 0
    r_squared: float  # goodness of fit on the points used
    points_used: int
    confidence: float


def srgb_to_linear(values_255: np.ndarray) -> np.ndarray:
    """Undo the sRGB transfer curve: 0-255 encoded values to linear 0-1 light."""
    c = np.asarray(values_255, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def vertex_normals(points_px: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(N, 3)`` in the camera frame from pixel-space mesh points.

    ``points_px`` are ``(u, v, depth toward camera)``; triangles are counter-clockwise seen from the camera.
    Vertices in no triangle get a zero normal.
    """
    v = frames.pixel_to_camera(points_px)
    face_n = np.cross(v[triangles[:, 1]] - v[triangles[:, 0]], v[triangles[:, 2]] - v[triangles[:, 0]])
    acc = np.zeros_like(v)
    for k in range(3):
        np.add.at(acc, triangles[:, k], face_n)
    norm = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.divide(acc, norm, out=np.zeros_like(acc), where=norm > 0)


def fit_lambertian(intensity: np.ndarray, normals: np.ndarray) -> PhysicsFit | None:
    """Fit light direction, directional and ambient strength to linear intensities at known normals.

    Returns None when fewer than ``MIN_POINTS`` points are lit at all (a face almost entirely dark).
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    ok = np.isfinite(intensity) & (np.linalg.norm(normals, axis=1) > 0.5)
    keep = ok & (intensity > DARK_LEVEL)
    coef, used = None, keep
    for _ in range(ITERATIONS):
        if keep.sum() < MIN_POINTS:
            break  # too few lit points left: keep the previous fit
        design = np.c_[np.ones(keep.sum()), normals[keep]]
        coef, *_ = np.linalg.lstsq(design, intensity[keep], rcond=None)
        used = keep
        c = coef[1:]
        if np.linalg.norm(c) < 1e-9:
            return None
        keep = ok & (normals @ (c / np.linalg.norm(c)) > SHADOW_COS) & (intensity > DARK_LEVEL)
        if np.array_equal(keep, used):
            break
    if coef is None:
        return None
    design = np.c_[np.ones(used.sum()), normals[used]]
    c = coef[1:]
    s = float(np.linalg.norm(c))
    if s < 1e-9:
        return None
    y = intensity[used]
    residual = y - design @ coef
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 0 else 0.0
    n_used = int(used.sum())
    coverage = min(1.0, n_used / (4 * MIN_POINTS))
    confidence = float(np.clip(r2, 0.0, 1.0) * coverage)
    return PhysicsFit(
        direction=c / s,
        directional=s,
        ambient=max(0.0, float(coef[0])),
        r_squared=r2,
        points_used=n_used,
        confidence=confidence,
    )
