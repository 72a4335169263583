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

__all__ = ["PhysicsFit", "VertexNormals", "fit_lambertian", "srgb_to_linear"]

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
    c = np.asarray(values_255, dtype=np.float64) * (1.0 / 255.0)
    return np.where(c <= 0.04045, c * (1.0 / 12.92), ((c + 0.055) * (1.0 / 1.055)) ** 2.4)


class VertexNormals:
    """Area-weighted unit vertex normals of a triangle mesh, with the vertex-to-triangle table precomputed.

    Triangles are counter-clockwise seen from the camera. Call with pixel-space points ``(u, v, depth
    toward camera)``; normals come back in the camera frame. Vertices in no triangle get a zero normal.
    """

    def __init__(self, triangles: np.ndarray) -> None:
        triangles = np.asarray(triangles, dtype=np.intp)
        n_vertices = int(triangles.max()) + 1
        owners: list[list[int]] = [[] for _ in range(n_vertices)]
        for t, tri in enumerate(triangles):
            for v in tri:
                owners[v].append(t)
        width = max(len(o) for o in owners)
        # Padded with index len(triangles): a zero row appended to the face normals at call time.
        self._table = np.full((n_vertices, width), len(triangles), dtype=np.intp)
        for v, o in enumerate(owners):
            self._table[v, : len(o)] = o
        self.triangles = triangles

    def __call__(self, points_px: np.ndarray, vertices: np.ndarray | None = None) -> np.ndarray:
        """Normals ``(N, 3)`` of all vertices, or ``(len(vertices), 3)`` of just those."""
        v = frames.pixel_to_camera(points_px)
        t = self.triangles
        e1, e2 = v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]
        face_n = np.zeros((len(t) + 1, 3))  # last row stays zero: the table's padding
        face_n[:-1, 0] = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]  # cross product, written out: np.cross
        face_n[:-1, 1] = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]  # is several times slower on short rows
        face_n[:-1, 2] = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        table = self._table if vertices is None else self._table[vertices]
        acc = face_n[table[:, 0]]
        for k in range(1, table.shape[1]):
            acc += face_n[table[:, k]]
        norm = np.sqrt(acc[:, 0] ** 2 + acc[:, 1] ** 2 + acc[:, 2] ** 2)[:, None]
        return np.divide(acc, norm, out=np.zeros_like(acc), where=norm > 0)


def _solve_linear(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares via the 4x4 normal equations (fast for few unknowns); lstsq if singular."""
    try:
        return np.linalg.solve(design.T @ design, design.T @ target)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(design, target, rcond=None)[0]


def fit_lambertian(intensity: np.ndarray, normals: np.ndarray) -> PhysicsFit | None:
    """Fit light direction, directional and ambient strength to linear intensities at known normals.

    Returns None when fewer than ``MIN_POINTS`` points are lit at all (a face almost entirely dark).
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    ok = np.isfinite(intensity) & (np.linalg.norm(normals, axis=1) > 0.5)
    keep = ok & (intensity > DARK_LEVEL)
    full_design = np.c_[np.ones(len(intensity)), normals]
    coef, used = None, keep
    for _ in range(ITERATIONS):
        if keep.sum() < MIN_POINTS:
            break  # too few lit points left: keep the previous fit
        coef = _solve_linear(full_design[keep], intensity[keep])
        used = keep
        c = coef[1:]
        if np.linalg.norm(c) < 1e-9:
            return None
        keep = ok & (normals @ (c / np.linalg.norm(c)) > SHADOW_COS) & (intensity > DARK_LEVEL)
        if np.array_equal(keep, used):
            break
    if coef is None:
        return None
    design = full_design[used]
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
