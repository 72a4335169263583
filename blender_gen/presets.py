"""Preset tables and the per-image samplers that turn (preset, dataset seed, index) into SceneParams.

Blender world: +z up, metres, the face looks toward -y with its face centre at the origin, the camera
sits on -y looking toward +y. So the seed's light box ``y in [-3.6, -0.3]`` is in front of the face
and ``z in [0.3, 3.6]`` is above it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from blender_gen import coords, skin
from blender_gen.natural import NaturalParams
from blender_gen.params import SceneParams


@dataclass(frozen=True)
class SeedBox:
    """The seed's light positions: a box swept at ``step`` (grid) or sampled uniformly (random)."""

    x: tuple[float, float] = (-3.0, 3.0)
    y: tuple[float, float] = (-3.6, -0.3)
    z: tuple[float, float] = (0.3, 3.6)
    step: float = 0.3
    power_w: float = 300.0
    light_radius_m: float = 0.1  # Blender's default point-light radius
    camera_distance_m: float = 1.0
    focal_mm: float = 85.0
    exposure_stops: float = -1.0  # fixed: white facing a 300 W light 2 m away reads ~1.0

    def axis(self, lo_hi: tuple[float, float]) -> np.ndarray:
        lo, hi = lo_hi
        return lo + self.step * np.arange(round((hi - lo) / self.step) + 1)

    def grid(self) -> np.ndarray:
        """(3024, 3) positions, x slowest then y then z (21 x 12 x 12)."""
        xs, ys, zs = np.meshgrid(self.axis(self.x), self.axis(self.y), self.axis(self.z), indexing="ij")
        return np.round(np.stack([xs.ravel(), ys.ravel(), zs.ravel()], axis=1), 6)


@dataclass(frozen=True)
class DiverseRanges:
    """Sampling ranges of the ``diverse`` preset."""

    p_lps: float = 0.2  # else a random ICT identity
    p_expression: float = 0.5
    max_expressions: int = 3
    expression_weight: tuple[float, float] = (0.0, 0.8)
    pose_deg: float = 30.0  # yaw/pitch/roll uniform in +-pose_deg
    max_light_angle_deg: float = 100.0  # from the view axis (face -> camera)
    light_distance_m: tuple[float, float] = (0.5, 3.0)
    power_w: tuple[float, float] = (20.0, 500.0)  # log-uniform
    kelvin: tuple[float, float] = (2700.0, 6500.0)
    light_radius_m: tuple[float, float] = (0.01, 0.15)
    ambient_ratio: tuple[float, float] = (0.0, 0.4)
    focal_mm: tuple[float, float] = (24.0, 85.0)
    field_m: tuple[float, float] = (0.28, 0.45)  # scene extent across the shorter image side
    exposure_jitter_stops: tuple[float, float] = (-0.7, 0.5)
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    jpeg_quality: tuple[int, int] = (60, 96)
    skin_roughness: tuple[float, float] = (0.35, 0.6)


SEED_BOX = SeedBox()
DIVERSE = DiverseRanges()


def image_seed(dataset_seed: int, index: int) -> int:
    """Per-image seed derived from (dataset seed, image index); also the Cycles seed."""
    return int(np.random.SeedSequence([dataset_seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


def _seed_params(light: np.ndarray, seed: int) -> SceneParams:
    b = SEED_BOX
    return SceneParams(
        head="lps", identity_weights=None, expression_weights=None, skin_tone=None, skin_redness=0.0,
        skin_pattern=0.0, skin_roughness=0.5, iris=0, head_pose_deg=(0.0, 0.0, 0.0),
        light_world=tuple(float(v) for v in light), light_power_w=b.power_w, light_kelvin=None,
        light_radius_m=b.light_radius_m, ambient_ratio=0.0, camera_distance_m=b.camera_distance_m,
        focal_mm=b.focal_mm, exposure_stops=b.exposure_stops, exposure_jitter_stops=0.0, noise_sigma=0.0,
        jpeg_quality=None, cycles_seed=seed)


def seed_uniform(dataset_seed: int, index: int, width: int, height: int) -> SceneParams:
    return _seed_params(SEED_BOX.grid()[index], image_seed(dataset_seed, index))


def seed_random(dataset_seed: int, index: int, width: int, height: int) -> SceneParams:
    seed = image_seed(dataset_seed, index)
    rng = np.random.default_rng(seed)
    b = SEED_BOX
    light = rng.uniform([b.x[0], b.y[0], b.z[0]], [b.x[1], b.y[1], b.z[1]])
    return _seed_params(light, seed)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def sample_cap_direction(rng: np.random.Generator, max_angle_deg: float) -> np.ndarray:
    """Uniform unit vector within ``max_angle_deg`` of +z (camera frame: toward the camera)."""
    cos_t = rng.uniform(math.cos(math.radians(max_angle_deg)), 1.0)
    phi = rng.uniform(0.0, 2.0 * math.pi)
    s = math.sqrt(1.0 - cos_t * cos_t)
    return np.array([s * math.cos(phi), s * math.sin(phi), cos_t])


def sample_head_and_camera(
    rng: np.random.Generator, r: Any, width: int, height: int, n_identities: int, n_expressions: int
) -> tuple[bool, tuple[float, ...] | None, tuple[float, ...] | None, tuple[float, ...], float, float]:
    """The head and camera draws the ``diverse`` and ``natural`` presets share, in this order of ``rng`` calls
    (changing it changes every image): Lee Perry-Smith or an ICT identity (with expressions on
    ``r.p_expression`` of them), head pose, focal length, and the camera distance that frames ``r.field_m``.

    Returns ``(is_lps, identity, expression, pose, focal_mm, camera_distance_m)``.
    """
    is_lps = bool(rng.random() < r.p_lps)
    identity = expression = None
    if not is_lps:
        identity = tuple(float(w) for w in rng.standard_normal(n_identities))
        if rng.random() < r.p_expression:
            e = np.zeros(n_expressions)
            picks = rng.choice(n_expressions, size=rng.integers(1, r.max_expressions + 1), replace=False)
            e[picks] = rng.uniform(*r.expression_weight, size=len(picks))
            expression = tuple(float(w) for w in e)
    pose = tuple(float(a) for a in rng.uniform(-r.pose_deg, r.pose_deg, size=3))
    focal = _uniform(rng, r.focal_mm)
    field = _uniform(rng, r.field_m)
    sensor_short = coords.SENSOR_MM * min(width, height) / max(width, height)
    return is_lps, identity, expression, pose, focal, focal / sensor_short * field


def diverse(dataset_seed: int, index: int, width: int, height: int, n_identities: int = 100,
            n_expressions: int = 53) -> SceneParams:
    """Random head, skin, pose, light, camera and camera effects (see :class:`DiverseRanges`)."""
    r = DIVERSE
    seed = image_seed(dataset_seed, index)
    rng = np.random.default_rng(seed)
    is_lps, identity, expression, pose, focal, cam_dist = sample_head_and_camera(
        rng, r, width, height, n_identities, n_expressions
    )
    d_cam = sample_cap_direction(rng, r.max_light_angle_deg)
    light = coords.frontal_camera(cam_dist)[:3, :3] @ d_cam * _uniform(rng, r.light_distance_m)
    return SceneParams(
        head="lps" if is_lps else "ict", identity_weights=identity, expression_weights=expression,
        skin_tone=None if is_lps else int(rng.integers(len(skin.SKIN_TONES_HEX))),
        skin_redness=_uniform(rng, (0.0, 1.0)), skin_pattern=_uniform(rng, (0.0, 100.0)),
        skin_roughness=_uniform(rng, r.skin_roughness), iris=int(rng.integers(len(skin.IRIS_COLOURS))),
        head_pose_deg=pose, light_world=tuple(float(v) for v in light),
        light_power_w=float(np.exp(rng.uniform(*np.log(r.power_w)))),
        light_kelvin=_uniform(rng, r.kelvin), light_radius_m=_uniform(rng, r.light_radius_m),
        ambient_ratio=_uniform(rng, r.ambient_ratio), camera_distance_m=cam_dist, focal_mm=focal,
        exposure_stops=None, exposure_jitter_stops=_uniform(rng, r.exposure_jitter_stops),
        noise_sigma=_uniform(rng, r.noise_sigma), jpeg_quality=int(rng.integers(*r.jpeg_quality, endpoint=True)),
        cycles_seed=seed)


def natural_sampler(dataset_seed: int, index: int, width: int, height: int) -> NaturalParams:
    """The ``natural`` preset (:mod:`blender_gen.natural`)."""
    from blender_gen.natural import natural

    return natural(dataset_seed, index, width, height)


def natural_lab_sampler(dataset_seed: int, index: int, width: int, height: int) -> NaturalParams:
    """The ``natural-lab`` preset: the ``natural`` faces, each under one lab light (``NATURAL_LAB``)."""
    from blender_gen.natural import NATURAL_LAB, natural

    return natural(dataset_seed, index, width, height, ranges=NATURAL_LAB)


@dataclass(frozen=True)
class Preset:
    """A named preset: its sampler, default size and resolution, and image format."""

    sampler: Callable[[int, int, int, int], SceneParams]
    default_count: int
    default_resolution: int
    max_count: int | None = None  # grid presets have a fixed number of images
    natural: bool = False  # rendered by natural_render.NaturalRenderer (HDRI world, featured skin)
    default_denoise: bool = False  # OpenImageDenoise unless --no-denoise / --denoise says otherwise


PRESETS: dict[str, Preset] = {
    "seed-uniform": Preset(seed_uniform, len(SEED_BOX.grid()), 320, max_count=len(SEED_BOX.grid())),
    "seed-random": Preset(seed_random, 400, 320),
    "diverse": Preset(diverse, 1000, 256),
    "natural": Preset(natural_sampler, 1000, 256, natural=True, default_denoise=True),
    "natural-lab": Preset(natural_lab_sampler, 1000, 256, natural=True, default_denoise=True),
}
