"""A :class:`~lightest.LightEstimate` as the try-on page's three.js lights, at the page's exposure.

:func:`lightest.engines.to_threejs` gives the DirectionalLight (the estimate's key light) and the LightProbe (what
the estimate's SH hold beyond it). The page's camera looks down -z with +y up, so its world frame is
lightest's camera frame (no rotation). Here both are scaled together so that a surface facing the light
receives irradiance pi: three.js's Lambert term (``albedo / pi``) then renders a white surface facing the light
at 1.0. The estimate decides the direction and the balance of key and ambient light; the page, the exposure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightest.engines import to_threejs
from lightest.result import LightEstimate
from lightest.sh import irradiance

__all__ = ["three_lighting"]


def three_lighting(estimate: LightEstimate) -> dict[str, Any]:
    """``light_position`` (unit, toward the light), ``light_color``, ``light_intensity`` and ``probe_sh`` (27
    floats for ``LightProbe.sh.fromArray``), scaled so that the irradiance facing the light is pi."""
    light = to_threejs(estimate)
    to_light = np.asarray(light.light_position)
    probe = np.asarray(light.probe_sh).reshape(9, 3)
    facing = light.light_intensity * np.asarray(light.light_color) + irradiance(probe, to_light[None])[0]
    norm = float(max(facing.max(), 1e-9)) / np.pi
    return {
        "light_position": np.round(to_light, 6).tolist(),
        "light_color": np.round(light.light_color, 6).tolist(),
        "light_intensity": round(light.light_intensity / norm, 6),
        "probe_sh": np.round(probe.reshape(-1) / norm, 6).tolist(),
    }
