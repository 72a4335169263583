"""Frozen parameters of one rendered image: everything a render and its label depend on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneParams:
    """One image's sampled scene. Positions in metres, Blender world (+z up, face looks toward -y)."""

    head: str  # "lps" or "ict"
    identity_weights: tuple[float, ...] | None  # ICT identity weights w_i (None for LPS)
    expression_weights: tuple[float, ...] | None  # ICT expression weights in [0, 1] (None: neutral)
    skin_tone: int | None  # index into skin.SKIN_TONES_HEX (None: the scan's own texture)
    skin_redness: float  # ICT skin: how much the blotches shift toward red (0-1)
    skin_pattern: float  # ICT skin: noise pattern offset
    skin_roughness: float  # ICT skin: specular roughness
    iris: int  # ICT eyes: index into skin.IRIS_COLOURS
    head_pose_deg: tuple[float, float, float]  # yaw, pitch, roll (see coords)
    light_world: tuple[float, float, float]
    light_power_w: float
    light_kelvin: float | None  # None: white light
    light_radius_m: float
    ambient_ratio: float  # ambient share of total irradiance at the face (0 = key light only)
    camera_distance_m: float  # camera on -y looking at the face centre (the world origin)
    focal_mm: float  # 35 mm equivalent
    exposure_stops: float | None  # None: auto exposure to a mid-grey target, else fixed stops
    exposure_jitter_stops: float  # added to the auto exposure
    noise_sigma: float  # Gaussian sensor noise, in 8-bit levels (0 = none)
    jpeg_quality: int | None  # None: save lossless PNG
    cycles_seed: int
