"""Photometry: point-light irradiance, ambient world strength for a given share, exposure.

Cycles conventions (checked, see :mod:`blender_gen.scene`): a point light of ``P`` W gives irradiance
``P / (4 pi d^2)`` on a surface facing it at ``d`` m; a uniform world of strength ``s`` gives ``pi s``.
"""

from __future__ import annotations

import math

# A white Lambertian surface receiving this irradiance renders at linear 1.0 before exposure.
UNIT_IRRADIANCE = math.pi


def point_irradiance(power_w: float, distance_m: float) -> float:
    return power_w / (4.0 * math.pi * distance_m**2)


def world_strength_for_ratio(ambient_ratio: float, light_irradiance: float) -> float:
    """World strength making ambient ``ambient_ratio`` of the total irradiance (ambient + key)."""
    if not 0.0 <= ambient_ratio < 1.0:
        raise ValueError(f"ambient ratio must be in [0, 1), got {ambient_ratio}")
    ambient = light_irradiance * ambient_ratio / (1.0 - ambient_ratio)
    return ambient / math.pi


def exposure_stops(total_irradiance: float, target_white: float) -> float:
    """Exposure (stops) at which a white surface facing the key+ambient reads ``target_white`` (linear)."""
    return math.log2(target_white * UNIT_IRRADIANCE / total_irradiance)
