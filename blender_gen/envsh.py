"""Labels of natural lighting in pure numpy: SH of the incoming radiance, dominant direction, ambient share,
dominant light colour (chromaticity, correlated colour temperature).

Everything here is a plain function of arrays (no bpy), so the maths is unit tested on its own.

Lighting is described by *samples*: unit directions ``(k, 3)`` (from the face toward the light) with the
RGB irradiance each delivers to a surface facing it, ``(k, 3)`` (radiance times solid angle for an
environment pixel, ``P rgb / (4 pi d^2)`` for a point light). The SH of such a set follows
:mod:`lightest.sh`: ``sh[j] = sum_k Y_j(d_k) E_k`` (a directional light projects to ``E Y(d)``, a
uniform environment of radiance ``a`` to ``a sqrt(4 pi)`` on the DC term only).

Equirectangular maps use Cycles' convention (measured with a probe image in Blender 5.0, see
docs/blender_gen.md): in a top-row-first ``(H, W, 3)`` array, column ``c`` has ``u = (c + 0.5) / W`` and
azimuth ``atan2(y, x) = 2 pi (0.5 - u)`` (image centre = world +x, u = 0.25 is +y), row ``r`` has elevation
``pi (0.5 - (r + 0.5) / H)`` (top row = zenith). An environment rotated by ``rotation_deg`` about world +z
(the world's Mapping node, type POINT) looks the image up at ``Rz(rotation) d`` for world direction ``d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lightest.sh import LUMINANCE, sh_basis

C1 = 0.488603  # first-order basis constant (lightest.sh)
Y00 = 0.282095
#: linear Rec.709 / sRGB primaries (Blender's scene-linear space) -> CIE XYZ (D65)
RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
LUMA = LUMINANCE  # Rec.709 luminance of linear RGB: lightest.sh's one table (= RGB_TO_XYZ's Y row)


def rot_z(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# ----------------------------------------------------------------------------------------- environment

def equirect_directions(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """World directions ``(H, W, 3)`` of pixel centres (Cycles' mapping, top row first) and their solid
    angles ``(H, W)`` (summing to 4 pi)."""
    el = math.pi * (0.5 - (np.arange(height) + 0.5) / height)
    az = 2.0 * math.pi * (0.5 - (np.arange(width) + 0.5) / width)
    cel, sel = np.cos(el)[:, None], np.sin(el)[:, None]
    d = np.stack(np.broadcast_arrays(cel * np.cos(az)[None, :], cel * np.sin(az)[None, :], sel), axis=-1)
    # exact solid angle of each pixel's band: (2 pi / W) * (sin(el_top) - sin(el_bottom))
    edges = math.pi * (0.5 - np.arange(height + 1) / height)
    band = (2.0 * math.pi / width) * (np.sin(edges[:-1]) - np.sin(edges[1:]))
    return d, np.broadcast_to(band[:, None], (height, width)).copy()


@dataclass(frozen=True)
class EnvSamples:
    """An environment map reduced to samples in its own (unrotated) frame: directions and radiance x solid
    angle per sample (RGB). Block sums keep every integral of the map exact up to the block's extent."""

    dirs: np.ndarray  # (k, 3) unit, image frame
    flux: np.ndarray  # (k, 3) sum of L * d_omega over the block

    @classmethod
    def from_equirect(cls, radiance: np.ndarray, block: int = 4) -> EnvSamples:
        """``radiance``: ``(H, W, 3)`` linear RGB, top row first; summed over ``block x block`` pixels."""
        h, w, _ = radiance.shape
        d, omega = equirect_directions(h, w)
        f = radiance.astype(np.float64) * omega[..., None]
        hb, wb = h // block, w // block
        f = f[:hb * block, :wb * block].reshape(hb, block, wb, block, 3).sum(axis=(1, 3))
        # flux-weighted mean direction of each block (falls back to the geometric mean where dark)
        lum = (radiance.astype(np.float64) @ LUMA) * omega + 1e-12 * omega
        lum = lum[:hb * block, :wb * block]
        dw = (d[:hb * block, :wb * block] * lum[..., None]).reshape(hb, block, wb, block, 3).sum(axis=(1, 3))
        dw /= np.linalg.norm(dw, axis=-1, keepdims=True)
        return cls(dw.reshape(-1, 3), f.reshape(-1, 3))

    def world(self, rotation_deg: float, scale: float, tint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Samples in the world after rotating the lookup by ``rotation_deg`` about +z (world radiance from
        ``d`` is the image's at ``Rz d``, so image direction ``w`` arrives from ``Rz^T w``), times
        ``scale * tint``."""
        return self.dirs @ rot_z(rotation_deg), self.flux * (scale * np.asarray(tint, float))


# ---------------------------------------------------------------------------------------------- lights

@dataclass(frozen=True)
class LightSpec:
    """An added light in the Blender world. ``point``: sphere light of ``radius_m`` (no soft falloff),
    ``P rgb / (4 pi d^2)``. ``area``: a rectangle ``size_m`` (local x, y) emitting along its local -z,
    ``matrix`` its 3x3 world orientation; Lambertian, radiance ``P rgb / (pi A)``."""

    kind: str
    position: tuple[float, float, float]
    power_w: float
    rgb: tuple[float, float, float]  # linear; the light's colour (multiplies the power per channel)
    radius_m: float = 0.0
    size_m: tuple[float, float] = (0.0, 0.0)
    matrix: tuple[tuple[float, float, float], ...] | None = None


def light_samples(light: LightSpec, target: np.ndarray, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Directions from ``target`` toward the light and the RGB irradiance each part delivers to a surface
    facing it (area lights split into ``n x n`` patches, so their extent and cosine falloff count)."""
    rgb = np.asarray(light.rgb, float)
    pos, target = np.asarray(light.position, float), np.asarray(target, float)
    if light.kind == "point":
        v = pos - target
        d2 = float(v @ v)
        return (v / math.sqrt(d2))[None], (light.power_w / (4.0 * math.pi * d2) * rgb)[None]
    if light.kind != "area":
        raise ValueError(f"unknown light kind {light.kind!r}")
    m = np.asarray(light.matrix, float)
    sx, sy = light.size_m
    g = (np.arange(n) + 0.5) / n - 0.5
    px, py = np.meshgrid(g * sx, g * sy, indexing="ij")
    pts = pos + px.reshape(-1, 1) * m[:, 0] + py.reshape(-1, 1) * m[:, 1]
    v = pts - target
    r = np.linalg.norm(v, axis=1)
    d = v / r[:, None]
    normal = -m[:, 2]  # emits along local -z
    cos_l = np.clip(-(d @ normal), 0.0, None)  # angle at the light between its normal and the target
    radiance = light.power_w / (math.pi * sx * sy)
    e = radiance * (sx * sy / (n * n)) * cos_l / r**2
    return d, e[:, None] * rgb[None]


# ------------------------------------------------------------------------------------------------ SH

def project_sh(dirs: np.ndarray, irradiance_rgb: np.ndarray) -> np.ndarray:
    """``(9, 3)`` SH (lightest.sh order and basis) of delta samples: ``sum_k Y(d_k) E_k``."""
    return sh_basis(np.asarray(dirs, float)).T @ np.asarray(irradiance_rgb, float)


def exact_irradiance(dirs: np.ndarray, irradiance_rgb: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """RGB irradiance ``(m, 3)`` of the samples on surfaces with unit ``normals`` ``(m, 3)`` (clamped cosine,
    no SH truncation; for checking renders)."""
    cos = np.clip(np.asarray(normals, float) @ np.asarray(dirs, float).T, 0.0, None)
    return cos @ np.asarray(irradiance_rgb, float)


def luminance_sh(sh: np.ndarray) -> np.ndarray:
    return np.asarray(sh, float) @ LUMA


def dominant_direction(sh: np.ndarray) -> np.ndarray | None:
    """Normalised first-order luminance vector (rows (1,1)=x, (1,-1)=y, (1,0)=z); None if it vanishes."""
    s = luminance_sh(sh)
    v = np.array([s[3], s[1], s[2]])
    n = float(np.linalg.norm(v))
    return None if n <= 1e-12 * max(abs(float(s[0])), 1e-30) else v / n


def directional_split(sh: np.ndarray) -> tuple[float, float]:
    """Split the luminance into one distant light plus a uniform environment with the same first two bands:
    returns (irradiance of the light on a surface facing it, irradiance of the uniform part). The light's
    irradiance is ``|L1| / C1``, the total flux ``L00 / Y00``; the rest, spread uniformly, gives a quarter of
    itself as irradiance on any surface."""
    s = luminance_sh(sh)
    e_dir = float(np.linalg.norm(s[1:4])) / C1
    flux = float(s[0]) / Y00
    return e_dir, max(flux - e_dir, 0.0) / 4.0


def ambient_share(sh: np.ndarray) -> float:
    """Ambient / (ambient + directional) irradiance on a surface facing the dominant direction (the same
    definition as the ``diverse`` preset's ``ambient_ratio`` for one light plus a uniform world)."""
    e_dir, e_amb = directional_split(sh)
    return e_amb / (e_amb + e_dir) if e_amb + e_dir > 0 else 1.0


def dominant_rgb(sh: np.ndarray) -> np.ndarray | None:
    """RGB irradiance of the dominant light: each channel's first-order vector projected on the dominant
    direction, divided by C1 (a uniform environment adds nothing to it); negative channels clipped to 0."""
    d = dominant_direction(sh)
    if d is None:
        return None
    s = np.asarray(sh, float)
    l1 = np.stack([s[3], s[1], s[2]], axis=0)  # (3 axes, 3 channels)
    return np.clip(d @ l1 / C1, 0.0, None)


# -------------------------------------------------------------------------------------------- colour

def rgb_to_xy(rgb: np.ndarray) -> np.ndarray:
    """CIE 1931 chromaticity of linear Rec.709 RGB."""
    xyz = RGB_TO_XYZ @ np.asarray(rgb, float)
    return xyz[:2] / xyz.sum()


def planck_xy(kelvin: np.ndarray | float) -> np.ndarray:
    """Chromaticity ``(..., 2)`` of a blackbody (Kim et al. 2002 cubic fit of the Planckian locus,
    1667-25000 K; clipped to that range)."""
    t = np.clip(np.asarray(kelvin, float), 1667.0, 25000.0)
    x = np.where(t <= 4000.0,
                 -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910,
                 -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390)
    y = np.where(t <= 2222.0, -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683,
                 np.where(t <= 4000.0, -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867,
                          3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483))
    return np.stack([x, y], axis=-1)


def planck_rgb(kelvin: float) -> np.ndarray:
    """Linear Rec.709 RGB of a blackbody's chromaticity, scaled to a maximum channel of 1 (negative
    channels, outside the gamut below ~1900 K, clipped)."""
    x, y = planck_xy(kelvin)
    rgb = np.clip(XYZ_TO_RGB @ np.array([x / y, 1.0, (1.0 - x - y) / y]), 0.0, None)
    return rgb / rgb.max()


def _uv60(xy: np.ndarray) -> np.ndarray:
    x, y = xy[..., 0], xy[..., 1]
    den = -2.0 * x + 12.0 * y + 3.0
    return np.stack([4.0 * x / den, 6.0 * y / den], axis=-1)


@lru_cache(maxsize=1)
def _locus() -> tuple[np.ndarray, np.ndarray]:
    t = np.geomspace(1667.0, 25000.0, 6000)
    return t, _uv60(planck_xy(t))


def cct_duv(xy: np.ndarray) -> tuple[float, float]:
    """Correlated colour temperature (K) and Duv (signed distance from the Planckian locus in CIE 1960 uv,
    positive above it) of a chromaticity, by nearest point on the locus (1667-25000 K)."""
    t, uv = _locus()
    p = _uv60(np.asarray(xy, float))
    dist = np.linalg.norm(uv - p, axis=1)
    i = int(np.clip(np.argmin(dist), 1, len(t) - 2))
    # parabola through the three nearest samples (in log T) refines the minimum
    lt = np.log(t[i - 1:i + 2])
    a, b, _ = np.polyfit(lt, dist[i - 1:i + 2], 2)
    lt_min = float(np.clip(-b / (2 * a), lt[0], lt[2])) if a > 0 else float(lt[1])
    kelvin = math.exp(lt_min)
    q = _uv60(planck_xy(kelvin))
    tangent = _uv60(planck_xy(kelvin * 1.001)) - _uv60(planck_xy(kelvin / 1.001))
    normal = np.array([-tangent[1], tangent[0]])
    normal *= np.sign(normal[1])  # "above" the locus: toward larger v (greenish)
    d = p - q
    return kelvin, math.copysign(float(np.linalg.norm(d)), float(d @ normal))


# --------------------------------------------------------------------------------------------- label

def lighting_label(dirs_cam: np.ndarray, irradiance_rgb: np.ndarray, cam_to_head: np.ndarray | None = None
                   ) -> dict:
    """The natural-light label of samples given in the camera frame: ``sh_rgb`` (9x3), ``dominant_dir_camera``
    (and ``_head`` with ``cam_to_head``, a 3x3 rotation), ``ambient_share``, dominant light colour
    (``dominant_rgb`` at luminance 1, ``dominant_xy``, ``dominant_cct_k``, ``dominant_duv``) and the
    chromaticity of the whole light (``total_xy``, ``total_cct_k``: the colour a white card would take)."""
    sh = project_sh(dirs_cam, irradiance_rgb)
    d = dominant_direction(sh)
    rgb = dominant_rgb(sh)
    row: dict = {"sh_rgb": sh.tolist(), "dominant_dir_camera": None if d is None else d.tolist(),
                 "dominant_dir_head": None if d is None or cam_to_head is None else (cam_to_head @ d).tolist(),
                 "ambient_share": ambient_share(sh)}
    if rgb is not None and float(rgb @ LUMA) > 0:
        xy = rgb_to_xy(rgb)
        k, duv = cct_duv(xy)
        row.update(dominant_rgb=(rgb / float(rgb @ LUMA)).tolist(), dominant_xy=xy.tolist(), dominant_cct_k=k,
                   dominant_duv=duv)
    else:
        row.update(dominant_rgb=None, dominant_xy=None, dominant_cct_k=None, dominant_duv=None)
    total = np.asarray(irradiance_rgb, float).sum(axis=0)
    txy = rgb_to_xy(total)
    row.update(total_xy=txy.tolist(), total_cct_k=cct_duv(txy)[0])
    return row
