"""The ``natural`` preset's parameters and sampler (pure numpy): realistic ICT faces (brows, lips, lashes, stubble,
freckles, subsurface scattering, hair, glasses) under one of Blender's eight CC0 HDRIs, rotated, scaled and
tinted, plus zero to three added lights (window, lamp, phone screen), or a Yale B-like lab light.

Light powers are sampled as *shares*: a light's irradiance on a surface facing it, relative to the mean
irradiance of the (unscaled, untinted) HDRI (its flux / 4); the renderer turns shares into watts once it has
read the HDRI, so the sampler does not need the image files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from blender_gen import coords, envsh, skin

#: the CC0 Poly Haven HDRIs shipped with bpy (datafiles/studiolights/world/<name>.exr)
HDRIS: tuple[str, ...] = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")

HAIR_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.010, 0.008, 0.007), (0.025, 0.015, 0.009), (0.06, 0.035, 0.018), (0.11, 0.04, 0.015),
    (0.26, 0.18, 0.09), (0.22, 0.21, 0.2),
)  # black, dark brown, brown, auburn, blonde, grey (linear RGB)
HAIR_WEIGHTS = (0.3, 0.3, 0.17, 0.07, 0.1, 0.06)


@dataclass(frozen=True)
class NaturalLight:
    """An added light, in the Blender world. ``share``: its irradiance facing it / the HDRI's mean irradiance."""

    role: str  # window | lamp | phone | lab
    kind: str  # point | area
    position: tuple[float, float, float]
    kelvin: float
    share: float
    radius_m: float = 0.0
    size_m: tuple[float, float] = (0.0, 0.0)
    matrix: tuple[tuple[float, float, float], ...] | None = None  # area: 3x3 world orientation (emits along -z)


@dataclass(frozen=True)
class NaturalRanges:
    p_lps: float = 0.15
    p_expression: float = 0.5
    max_expressions: int = 3
    expression_weight: tuple[float, float] = (0.0, 0.7)
    pose_deg: float = 30.0
    p_lab: float = 0.15  # Yale B-like: one strong point light, the HDRI dimmed to 3-30 % of it
    lab_share: tuple[float, float] = (3.0, 30.0)
    n_lights_p: tuple[float, ...] = (0.3, 0.35, 0.25, 0.1)  # P(0..3 added lights)
    hdri_scale: tuple[float, float] = (0.5, 2.0)  # log-uniform
    hdri_tint_kelvin: tuple[float, float] = (4000.0, 10000.0)  # white balance shift (ratio to 6504 K)
    hdri_tint_jitter: float = 0.04  # per-channel multiplicative jitter (sd)
    window_share: tuple[float, float] = (0.2, 3.0)
    lamp_share: tuple[float, float] = (0.1, 2.0)
    phone_share: tuple[float, float] = (0.03, 0.4)
    focal_mm: tuple[float, float] = (24.0, 85.0)
    field_m: tuple[float, float] = (0.3, 0.5)
    exposure_jitter_stops: tuple[float, float] = (-0.7, 0.5)
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    jpeg_quality: tuple[int, int] = (60, 96)
    skin_roughness: tuple[float, float] = (0.35, 0.6)
    p_hair: float = 0.75
    hairline_cm: tuple[float, float] = (-1.0, 3.0)  # height of the hairline above the reference; < 1: fringe
    p_glasses: float = 0.25
    p_stubble: float = 0.4
    p_freckles: float = 0.3
    p_subsurface: float = 0.5  # subsurface scattering costs +30 % render time when on (docs/blender_gen.md)
    subsurface: tuple[float, float] = (0.1, 0.3)  # Principled subsurface weight when on


NATURAL = NaturalRanges()
#: The ``natural-lab`` preset: the same faces, every image under one Yale B-like lab light (point light, the HDRI
#: dimmed to 3-30 % of it): training data for the light direction on realistic skin.
NATURAL_LAB = replace(NATURAL, p_lab=1.0)


@dataclass(frozen=True)
class NaturalParams:
    """One image of the ``natural`` preset (Blender world, metres; see :mod:`blender_gen.coords`)."""

    head: str
    identity_weights: tuple[float, ...] | None
    expression_weights: tuple[float, ...] | None
    skin_tone: int | None
    skin_redness: float
    skin_pattern: float
    skin_roughness: float
    iris: int
    # face features (ICT only; 0 = absent)
    hair_colour: int  # index into HAIR_COLOURS (brows, stubble, hair)
    brow_strength: float
    brow_width: float  # threshold on the brow map (1 = the nominal width)
    lip_strength: float
    lip_darkness: float
    socket_darkening: float
    stubble: float
    freckles: float
    subsurface: float
    hair: bool
    hairline_cm: float
    glasses: bool
    glasses_rgb: tuple[float, float, float]
    glasses_size: float
    # lighting
    lab: bool
    hdri: str
    hdri_rotation_deg: float
    hdri_scale: float
    hdri_tint_kelvin: float
    hdri_tint: tuple[float, float, float]
    lights: tuple[NaturalLight, ...]
    # camera
    head_pose_deg: tuple[float, float, float]
    camera_distance_m: float
    focal_mm: float
    exposure_jitter_stops: float
    noise_sigma: float
    jpeg_quality: int | None
    cycles_seed: int


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def _logu(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(*np.log(lo_hi))))


def _facing(position: np.ndarray) -> tuple[tuple[float, float, float], ...]:
    """3x3 orientation of an area light at ``position`` whose -z axis points at the face centre (origin)."""
    m = coords.look_at(position, np.zeros(3))[:3, :3]
    return tuple(tuple(float(x) for x in row) for row in m)


def _from_camera(cam_rot: np.ndarray, az_deg: float, el_deg: float, dist: float) -> np.ndarray:
    """World position at ``dist`` from the face in lightest's camera-frame direction (az, el)."""
    return cam_rot @ coords_dir(az_deg, el_deg) * dist


def coords_dir(az_deg: float, el_deg: float) -> np.ndarray:
    a, e = math.radians(az_deg), math.radians(el_deg)
    return np.array([math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)])


def _light(rng: np.random.Generator, role: str, cam_rot: np.ndarray) -> NaturalLight:
    r = NATURAL
    if role == "window":
        pos = _from_camera(cam_rot, _u(rng, (-100, 100)), _u(rng, (-10, 45)), _u(rng, (1.2, 3.0)))
        return NaturalLight(role, "area", tuple(float(x) for x in pos), _u(rng, (5000, 8000)),
                            _logu(rng, r.window_share), size_m=(_u(rng, (0.6, 1.5)), _u(rng, (0.8, 1.6))),
                            matrix=_facing(pos))
    if role == "lamp":
        pos = _from_camera(cam_rot, _u(rng, (-120, 120)), _u(rng, (-10, 60)), _u(rng, (0.6, 2.5)))
        return NaturalLight(role, "point", tuple(float(x) for x in pos), _u(rng, (2400, 3600)),
                            _logu(rng, r.lamp_share), radius_m=_u(rng, (0.03, 0.2)))
    if role == "phone":
        pos = _from_camera(cam_rot, _u(rng, (-25, 25)), _u(rng, (-35, 5)), _u(rng, (0.22, 0.4)))
        return NaturalLight(role, "area", tuple(float(x) for x in pos), _u(rng, (6500, 9500)),
                            _logu(rng, r.phone_share), size_m=(0.07, 0.15), matrix=_facing(pos))
    raise ValueError(role)


def natural(dataset_seed: int, index: int, width: int, height: int, n_identities: int = 100,
            n_expressions: int = 53, ranges: NaturalRanges = NATURAL) -> NaturalParams:
    """Sample image ``index`` of the ``natural`` preset (or of another set of ``ranges``: :data:`NATURAL_LAB`)."""
    from blender_gen.presets import image_seed, sample_cap_direction, sample_head_and_camera

    r = ranges
    seed = image_seed(dataset_seed, index)
    rng = np.random.default_rng(seed)
    is_lps, identity, expression, pose, focal, cam_dist = sample_head_and_camera(
        rng, r, width, height, n_identities, n_expressions
    )
    cam_rot = coords.frontal_camera(cam_dist)[:3, :3]

    lab = bool(rng.random() < r.p_lab)
    hdri = HDRIS[int(rng.integers(len(HDRIS)))]
    rotation = _u(rng, (0.0, 360.0))
    scale = _logu(rng, r.hdri_scale)
    tint_k = _logu(rng, r.hdri_tint_kelvin)
    tint = envsh.planck_rgb(tint_k) / envsh.planck_rgb(6504.0)
    tint = tint * np.exp(rng.normal(0.0, r.hdri_tint_jitter, 3))
    tint = tint / float(tint @ envsh.LUMA)
    if lab:
        d_cam = sample_cap_direction(rng, 100.0)
        pos = cam_rot @ d_cam * _u(rng, (0.8, 3.0))
        kelvin = _u(rng, (2700.0, 6500.0))
        lights: tuple[NaturalLight, ...] = (NaturalLight("lab", "point", tuple(float(x) for x in pos), kelvin,
                                                         _logu(rng, r.lab_share), radius_m=_u(rng, (0.01, 0.1))),)
    else:
        n = int(rng.choice(len(r.n_lights_p), p=np.asarray(r.n_lights_p)))
        roles = rng.choice(["window", "lamp", "phone"], size=n, p=[0.4, 0.4, 0.2])
        lights = tuple(_light(rng, str(role), cam_rot) for role in roles)

    ict = not is_lps
    hair = bool(ict and rng.random() < r.p_hair)
    glasses = bool(ict and rng.random() < r.p_glasses)
    hair_colour = int(rng.choice(len(HAIR_COLOURS), p=np.asarray(HAIR_WEIGHTS)))
    return NaturalParams(
        head="lps" if is_lps else "ict", identity_weights=identity, expression_weights=expression,
        skin_tone=None if is_lps else int(rng.integers(len(skin.SKIN_TONES_HEX))),
        skin_redness=_u(rng, (0.0, 1.0)), skin_pattern=_u(rng, (0.0, 100.0)),
        skin_roughness=_u(rng, r.skin_roughness), iris=int(rng.integers(len(skin.IRIS_COLOURS))),
        hair_colour=hair_colour, brow_strength=_u(rng, (0.5, 1.0)), brow_width=_u(rng, (0.7, 1.3)),
        lip_strength=_u(rng, (0.3, 1.0)), lip_darkness=_u(rng, (0.0, 1.0)),
        socket_darkening=_u(rng, (0.2, 1.0)),
        stubble=_u(rng, (0.2, 1.0)) if rng.random() < r.p_stubble else 0.0,
        freckles=_u(rng, (0.2, 1.0)) if rng.random() < r.p_freckles else 0.0,
        subsurface=_u(rng, r.subsurface) if rng.random() < r.p_subsurface else 0.0,
        hair=hair, hairline_cm=_u(rng, r.hairline_cm), glasses=glasses,
        glasses_rgb=tuple(float(c) for c in (rng.uniform(0.005, 0.05, 3) if rng.random() < 0.7
                                             else rng.uniform(0.2, 0.6, 1).repeat(3))),
        glasses_size=_u(rng, (0.9, 1.15)),
        lab=lab, hdri=hdri, hdri_rotation_deg=rotation, hdri_scale=scale, hdri_tint_kelvin=tint_k,
        hdri_tint=tuple(float(c) for c in tint), lights=lights,
        head_pose_deg=pose, camera_distance_m=cam_dist, focal_mm=focal,
        exposure_jitter_stops=_u(rng, r.exposure_jitter_stops), noise_sigma=_u(rng, r.noise_sigma),
        jpeg_quality=int(rng.integers(*r.jpeg_quality, endpoint=True)), cycles_seed=seed)
