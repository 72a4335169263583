"""Second-order real spherical harmonics (9 coefficients per colour channel) for lighting.

Layout (the one ARKit, SceneKit and the Ramamoorthi-Hanrahan irradiance papers use): coefficient order
``(l, m) = (0,0), (1,-1), (1,0), (1,1), (2,-2), (2,-1), (2,0), (2,1), (2,2)`` with the real basis

    Y00 = 0.282095                 Y1-1 = 0.488603 y     Y10 = 0.488603 z     Y11 = 0.488603 x
    Y2-2 = 1.092548 xy             Y2-1 = 1.092548 yz    Y20 = 0.315392 (3z^2 - 1)
    Y21 = 1.092548 xz              Y22 = 0.546274 (x^2 - y^2)

evaluated on unit directions in lightest's camera frame (see :mod:`lightest.frames`). lightest stores them
as a ``(9, 3)`` array: row = coefficient, column = R, G, B. ARKit's 27-float buffer is three planes (all
red coefficients, then green, then blue): ``sh.T.reshape(-1)``. The coefficients describe incoming
radiance; ARKit expresses them in its world frame, so rotate the direction by the camera pose first if
you feed an ARKit-style renderer.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "COSINE_LOBE",
    "LUMINANCE",
    "irradiance",
    "luminance",
    "relative_irradiance_error",
    "sh_basis",
    "sh_from_light",
    "sh_from_shares",
    "sphere_directions",
]

_C0 = 0.282095
_C1 = 0.488603
_C2 = 1.092548
_C20 = 0.315392
_C22 = 0.546274
_SQRT_4PI = float(np.sqrt(4.0 * np.pi))
#: Clamped-cosine convolution per band (Ramamoorthi and Hanrahan 2001): irradiance E(n) = sum A_l L_lm Y_lm(n).
COSINE_LOBE = np.array([np.pi] + [2.0 * np.pi / 3.0] * 3 + [np.pi / 4.0] * 5)
#: Luminance (CIE Y) of *linear* RGB in the Rec.709 / sRGB primaries: the Y row of the sRGB -> XYZ (D65)
#: matrix. SH coefficients are linear radiance in those primaries (Blender's scene-linear space, which the
#: render labels come from, and sRGB photos once linearised), so this is the physically right weighting
#: for them and the one table every SH luminance in the project uses (``blender_gen.envsh`` imports it).
#: Not to be confused with :data:`lightest.sampling.LUMA_RGB` (BT.601 *luma* of gamma-encoded pixel values,
#: as OpenCV and JPEG compute gray, and as the light-head graph samples): a different quantity.
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def sh_basis(directions: np.ndarray) -> np.ndarray:
    """The 9 basis values ``(..., 9)`` at unit direction(s) ``(..., 3)``."""
    d = np.asarray(directions, dtype=np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack(
        [
            np.full_like(x, _C0),
            _C1 * y,
            _C1 * z,
            _C1 * x,
            _C2 * x * y,
            _C2 * y * z,
            _C20 * (3.0 * z * z - 1.0),
            _C2 * x * z,
            _C22 * (x * x - y * y),
        ],
        axis=-1,
    )


def sh_from_light(direction: np.ndarray, directional_rgb: np.ndarray, ambient_rgb: np.ndarray) -> np.ndarray:
    """SH ``(9, 3)`` of a distant light (radiance ``directional_rgb`` from ``direction``) plus uniform ambient.

    A directional light projects to ``radiance * Y(direction)``; a constant environment of radiance ``a``
    projects to ``a * sqrt(4 pi)`` on the first coefficient only.
    """
    x, y, z = (float(v) for v in np.asarray(direction, dtype=np.float64).reshape(3))
    # the nine basis values in plain floats: one direction per frame, where numpy's per-call cost dominates
    basis = [_C0, _C1 * y, _C1 * z, _C1 * x, _C2 * x * y, _C2 * y * z, _C20 * (3.0 * z * z - 1.0), _C2 * x * z,
             _C22 * (x * x - y * y)]
    sh = np.outer(basis, np.asarray(directional_rgb, dtype=np.float64))
    sh[0] += _SQRT_4PI * np.asarray(ambient_rgb, dtype=np.float64)
    return sh


def sh_from_shares(direction: np.ndarray, intensity: float | None, ambient_share: float | None) -> np.ndarray:
    """Gray SH of a :class:`~lightest.LightEstimate`'s light: ``intensity`` (1 when unknown) from ``direction``
    plus the uniform ambient that makes up ``ambient_share`` of the total (none when unknown)."""
    s = 1.0 if intensity is None else intensity
    a = 0.0 if ambient_share is None else ambient_share * s / max(1e-6, 1.0 - ambient_share)
    gray = np.ones(3)
    return sh_from_light(direction, s * gray, a / np.pi * gray)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luminance of linear RGB ``(..., 3)`` (or of ``(9, 3)`` SH, giving the 9 luminance coefficients)."""
    return np.asarray(rgb, dtype=np.float64) @ LUMINANCE


def irradiance(sh: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Irradiance ``(..., 3)`` that ``(9, 3)`` incoming-radiance SH deliver to surfaces with unit ``normals``
    ``(..., 3)``: the order-2 approximation every engine's SH lighting uses (lit Lambertian surface = albedo
    / pi times this)."""
    return sh_basis(normals) @ (COSINE_LOBE[:, None] * np.asarray(sh, dtype=np.float64))


def sphere_directions(n: int = 2000) -> np.ndarray:
    """``(n, 3)`` unit directions spread evenly over the sphere (Fibonacci lattice): normals for comparisons."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def relative_irradiance_error(sh: np.ndarray, reference: np.ndarray, normals: np.ndarray | None = None) -> float:
    """RMS difference of the irradiance two SH give over all normal directions, each normalised by its mean
    first (exposure is unknown), relative to the reference's mean: 0 for the same lighting up to a scale.

    Luminance (:data:`LUMINANCE` of the RGB irradiance) is compared, so a colour error alone does not count.
    """
    n = sphere_directions() if normals is None else normals
    a, b = luminance(irradiance(sh, n)), luminance(irradiance(reference, n))
    if a.mean() <= 0 or b.mean() <= 0:
        raise ValueError("irradiance with a non-positive mean cannot be normalised")
    return float(np.sqrt(np.mean((a / a.mean() - b / b.mean()) ** 2)))
