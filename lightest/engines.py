"""Light a 3D engine with a :class:`~lightest.LightEstimate`: three.js, Unity, Filament / SceneView, ARCore, ARKit.

A ``LightEstimate`` lives in lightest's camera frame (+x image right, +y image up, +z toward the camera;
:mod:`lightest.frames`) with real SH of incoming radiance (:mod:`lightest.sh`). Each engine wants the light in
its own world frame (handedness, axes), its own SH layout and normalisation, and its own sign for a light's
direction (toward the light, or the way the light travels). The converters here do that, given the camera's
pose in the engine's world: ``camera_to_world`` is the 3x3 rotation whose columns are the engine camera's
local axes in world coordinates (three.js ``camera.matrixWorld``, Unity ``camera.transform.localToWorldMatrix``,
Filament ``Camera::getModelMatrix()``, ARCore ``Camera.getDisplayOrientedPose()``, ARKit ``ARCamera.transform``:
their upper-left 3x3, with any scale of parent objects divided out of its columns; three.js's ``elements`` are
column-major, so read them as columns, or the transposed rotation, also a rotation, is taken silently). Identity
(the default) puts the camera at the world origin looking down the engine's
forward axis; the image given to lightest must be oriented as that camera's image (display orientation).

Scale, the same for every engine: the numbers make a white Lambertian surface (albedo 1) render with the
brightness lightest's irradiance gives the skin (:func:`lightest.sh.irradiance`, 0-1 linear), i.e. the engine's
radiometric irradiance is ``pi`` times lightest's (ARKit: ``1000`` times, its "neutral" lumens). Multiply
every intensity and SH number by one factor of your own to change exposure.

Key light: with ``key_light=True`` (the default) the estimate's main light (``direction``, ``intensity`` or 1
when unknown, ``color`` or white) becomes the engine's directional light and the SH keep only the rest
(``sh`` minus the key light's own SH projection), so the two add up to the estimate without counting the key
light twice: the engine then shades the key light with its exact clamped cosine where lightest's SH carry its
9-term approximation. ``key_light=False`` puts everything in the SH and the directional light's intensity to 0.
ARCore's ambient SH always exclude the main light (ARCore's own convention); ARKit's SH always hold all of it
(ARKit's primary light is a summary for renderers without SH lighting).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lightest import frames
from lightest.result import LightEstimate
from lightest.sh import COSINE_LOBE, sh_basis, sh_from_light, sphere_directions

__all__ = [
    "ArCoreLight",
    "ArKitLight",
    "FilamentLight",
    "ThreeJsLight",
    "UnityLight",
    "rotate_sh",
    "to_arcore",
    "to_arkit",
    "to_filament",
    "to_threejs",
    "to_unity",
]

#: Constants of lightest's real SH basis (:mod:`lightest.sh`), per coefficient: Y_i(n) = K_i * polynomial_i(n)
#: with polynomials 1, y, z, x, xy, yz, 3z^2-1, xz, x^2-y^2 (the order every engine here evaluates them in).
BASIS_CONSTANTS = np.array([0.282095, 0.488603, 0.488603, 0.488603, 1.092548, 1.092548, 0.315392, 1.092548, 0.546274])
#: Condon-Shortley phase (-1)^m of Filament's and ARCore's basis relative to lightest's (odd m flips sign).
CONDON_SHORTLEY = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
#: lightest's (+x right, +y up, +z toward the viewer) to Unity's camera axes (+z = forward, left-handed).
UNITY_FROM_CAMERA = np.diag([1.0, 1.0, -1.0])
#: ARKit's "neutral" light intensity in lumens (ARLightEstimate.ambientIntensity: ~1000 in a well lit scene).
ARKIT_NEUTRAL_LUMENS = 1000.0

_FIT_DIRECTIONS = sphere_directions(64)
_FIT_BASIS_PINV = np.linalg.pinv(sh_basis(_FIT_DIRECTIONS))


def rotate_sh(sh: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(9, 3)`` SH of the same lighting with directions mapped by ``matrix`` (3x3 orthogonal, reflections too).

    Band 0-2 SH stay band 0-2 under any orthogonal map, so a least-squares fit on 64 directions is exact to
    rounding: the result ``c'`` satisfies ``Y(matrix @ w) . c' = Y(w) . c`` for every unit ``w``.
    """
    m = np.asarray(matrix, dtype=np.float64)
    # radiance arriving from world direction w' is what arrived from camera direction m^T w'
    return _FIT_BASIS_PINV @ (sh_basis(_FIT_DIRECTIONS @ m) @ np.asarray(sh, dtype=np.float64))


def _rotation(camera_to_world: np.ndarray | None) -> np.ndarray:
    """The validated 3x3 rotation (identity for None)."""
    if camera_to_world is None:
        return np.eye(3)
    r = np.asarray(camera_to_world, dtype=np.float64)
    if r.shape != (3, 3):
        raise ValueError(f"camera_to_world must be a 3x3 rotation matrix, got shape {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("camera_to_world holds NaN or infinite values")
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
        scales = np.linalg.norm(r, axis=0)
        unit = r / np.maximum(scales, 1e-12)
        orthogonal = np.allclose(unit.T @ unit, np.eye(3), atol=1e-4)
        lengths = np.round(scales, 4).tolist()
        hint = ""
        if orthogonal and np.linalg.det(unit) < 0:
            hint = " (its determinant is negative: a reflection, as a change of handedness makes; mirror one axis back)"
        elif orthogonal:
            hint = f" (its columns have lengths {lengths}: divide each by its length)"
        raise ValueError(f"camera_to_world must be a rotation matrix (orthonormal columns, determinant +1){hint}")
    return r


@dataclass(frozen=True)
class _World:
    """An estimate re-expressed in an engine's world frame: key light and remaining SH."""

    to_light: np.ndarray  # unit vector toward the light, engine world
    key_rgb: np.ndarray  # key light strength per channel (lightest's 0-1 skin scale)
    sh: np.ndarray  # (9, 3) radiance SH left for the engine's SH lighting, engine world, lightest's basis


def _key_rgb(estimate: LightEstimate) -> np.ndarray:
    strength = 1.0 if estimate.intensity is None else float(estimate.intensity)
    color = np.ones(3) if estimate.color is None else np.asarray(estimate.color, dtype=np.float64)
    return strength * color


def _to_world(estimate: LightEstimate, camera_to_world: np.ndarray | None, camera_axes: np.ndarray,
              split_key: bool) -> _World:
    """Map ``estimate`` into a world frame: ``camera_axes`` takes lightest's camera axes to the engine camera's."""
    if not isinstance(estimate, LightEstimate):
        raise TypeError(f"expected a lightest.LightEstimate, got {type(estimate).__name__}")
    m = _rotation(camera_to_world) @ camera_axes
    d = np.asarray(estimate.direction, dtype=np.float64)
    key = _key_rgb(estimate)
    sh = np.asarray(estimate.sh, dtype=np.float64)
    if split_key:
        sh = sh - sh_from_light(d, key, np.zeros(3))
    else:
        key = np.zeros(3)
    return _World(to_light=frames.normalize(m @ d), key_rgb=key, sh=rotate_sh(sh, m))


def _color_and_intensity(rgb: np.ndarray) -> tuple[tuple[float, float, float], float]:
    """Split an RGB strength into a colour with largest channel 1 and a scalar intensity."""
    peak = float(np.max(rgb))
    if peak <= 0:
        return (1.0, 1.0, 1.0), 0.0
    return _floats(rgb / peak), peak


def _floats(a: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))


class _AsDict:
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of plain floats and lists, keyed by the field names (rounded to 7 decimals)."""

        def plain(v: Any) -> Any:
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            return round(float(v), 7) + 0.0  # + 0.0 turns -0.0 into 0.0

        return {k: plain(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ThreeJsLight(_AsDict):
    """three.js lights: a ``DirectionalLight`` and a ``LightProbe`` (world frame: right-handed, +y up).

    ``light_position``: unit vector from the light's target toward the light (three.js shades with
    ``normalize(position - target)``); set ``light.position`` to ``target.position + light_position * distance``.
    ``light_color`` / ``light_intensity``: ``DirectionalLight(color, intensity)``. ``probe_sh``: 27 floats,
    coefficient-major RGB, for ``lightProbe.sh.fromArray(probe_sh)`` (probe intensity 1).
    """

    light_position: tuple[float, float, float]
    light_color: tuple[float, float, float]
    light_intensity: float
    probe_sh: tuple[float, ...]


def to_threejs(estimate: LightEstimate, camera_to_world: np.ndarray | None = None, *,
               key_light: bool = True) -> ThreeJsLight:
    """three.js ``DirectionalLight`` + ``LightProbe`` for ``estimate``; ``camera_to_world``: rotation of
    ``camera.matrixWorld`` (three.js cameras look down their local -z with +y up: lightest's camera axes).

    Sources (mrdoob/three.js): ``src/math/SphericalHarmonics3.js`` (coefficient order (0,0), (1,-1), (1,0), (1,1),
    (2,-2) ... (2,2); basis 0.282095, 0.488603 y, ... = lightest's; ``getIrradianceAt`` = pi, 2pi/3, pi/4 bands),
    ``src/renderers/shaders/ShaderChunk/lights_pars_begin.glsl.js`` (``shGetIrradianceAt`` on the world normal),
    ``src/renderers/webgl/WebGLLights.js`` (directional ``direction = position - target``, ``color * intensity``),
    ``lights_physical_pars_fragment.glsl.js`` (``irradiance = dotNL * color``, ``BRDF_Lambert = diffuse / pi``).
    """
    w = _to_world(estimate, camera_to_world, np.eye(3), key_light)
    color, intensity = _color_and_intensity(w.key_rgb)
    return ThreeJsLight(
        light_position=_floats(w.to_light),
        light_color=color,
        light_intensity=np.pi * intensity,
        probe_sh=_floats(np.pi * w.sh),  # (9, 3) row-major = coefficient-major RGB, as fromArray reads it
    )


@dataclass(frozen=True)
class UnityLight(_AsDict):
    """Unity lights: main ``Light`` (directional) and ``SphericalHarmonicsL2`` (left-handed world, +y up, +z forward).

    ``light_forward``: the direction the light travels (the light's ``transform.forward``):
    ``light.transform.rotation = Quaternion.LookRotation(light_forward)``. ``light_color`` / ``light_intensity``:
    ``light.color`` / ``light.intensity`` (linear colour space). ``ambient_probe``: 27 floats, channel-major
    (``sh[c, i] = ambient_probe[9 * c + i]``) for ``RenderSettings.ambientProbe`` or ``LightProbes``.
    """

    light_forward: tuple[float, float, float]
    light_color: tuple[float, float, float]
    light_intensity: float
    ambient_probe: tuple[float, ...]


def to_unity(estimate: LightEstimate, camera_to_world: np.ndarray | None = None, *,
             key_light: bool = True) -> UnityLight:
    """Unity main light + ``SphericalHarmonicsL2`` for ``estimate``; ``camera_to_world``: the rotation of the
    camera's ``transform.localToWorldMatrix`` (Unity cameras look down local +z: lightest's z is flipped).

    Unity stores SphericalHarmonicsL2 pre-multiplied: ``sh[c, i]`` are the coefficients of the polynomials
    1, y, z, x, xy, yz, 3z^2-1, xz, x^2-y^2 whose sum the shader adds as diffuse light (times albedo, no 1/pi),
    so ``sh[c, i] = A_l * K_i * L_i`` (``A_l`` = pi, 2pi/3, pi/4; ``K_i`` lightest's basis constants) for our
    white-surface scale. Sources (Unity-Technologies/Graphics): ``Packages/com.unity.render-pipelines.core/
    ShaderLibrary/SphericalHarmonics.hlsl`` (``PackSH``: unity_SHAr = (sh3, sh1, sh2, sh0 - sh6), SHBr = (sh4,
    sh5, 3 sh6, sh7), SHC = sh8; ``SHEvalLinearL0L1`` / ``SHEvalLinearL2``), ``Packages/com.unity.render-
    pipelines.core/Runtime/Lighting/SphericalHarmonics.cs`` (``sh[channel, coefficient]``); URP
    ``ForwardLights.cs`` (main light position ``= -localToWorld.GetColumn(2)``: the shader's vector toward the
    light is minus the light's forward).
    """
    w = _to_world(estimate, camera_to_world, UNITY_FROM_CAMERA, key_light)
    color, intensity = _color_and_intensity(w.key_rgb)
    poly = (COSINE_LOBE * BASIS_CONSTANTS)[:, None] * w.sh  # (9, 3): polynomial coefficients = E(n)
    return UnityLight(
        light_forward=_floats(-w.to_light),
        light_color=color,
        light_intensity=intensity,
        ambient_probe=_floats(poly.T),  # channel-major: 9 red, 9 green, 9 blue
    )


@dataclass(frozen=True)
class FilamentLight(_AsDict):
    """Filament (and SceneView, which wraps it) lights: a ``LightManager`` DIRECTIONAL/SUN light and an
    ``IndirectLight`` with 3-band irradiance SH (world: right-handed, +y up).

    ``light_direction``: the direction the light travels (``LightManager.Builder.direction``).
    ``light_color`` / ``light_intensity``: ``.color()`` / ``.intensity()`` (lux at exposure 1).
    ``irradiance_sh``: 27 floats, 9 RGB triplets, for ``IndirectLight.Builder.irradiance(3, sh)`` together
    with ``.intensity(indirect_intensity)`` (Filament's default is 30000). Filament multiplies both by the
    camera exposure (``Camera.setExposure(1.0f, 1.2f, 100.0f)`` gives exposure 1).
    """

    light_direction: tuple[float, float, float]
    light_color: tuple[float, float, float]
    light_intensity: float
    irradiance_sh: tuple[float, ...]
    indirect_intensity: float = 1.0


def to_filament(estimate: LightEstimate, camera_to_world: np.ndarray | None = None, *,
                key_light: bool = True) -> FilamentLight:
    """Filament / SceneView directional light + ``IndirectLight`` irradiance SH for ``estimate``;
    ``camera_to_world``: rotation of ``Camera::getModelMatrix()`` (Filament cameras look down local -z, +y up).

    Filament wants the SH pre-scaled and pre-convolved as ``cmgen`` writes them: ``sh[i] = L_i * A_i * C_l / pi``
    in its Condon-Shortley basis (``A_i`` = 0.282095, -0.488602, 0.488602, -0.488602, 1.092548, -1.092548,
    0.315392, -1.092548, 0.546274; ``C_l`` = pi, 2pi/3, pi/4), evaluated as ``max(sum sh_i * polynomial_i(n), 0)``
    and multiplied by the diffuse colour (Lambert's 1/pi baked in). The phase signs cancel against the basis's,
    so ``sh[i] = K_i * C_l / pi * L_i`` in lightest's basis. Sources (google/filament):
    ``filament/include/filament/IndirectLight.h`` (``Builder::irradiance``, its table and "sh[0] is the
    environment's average irradiance"), ``shaders/src/surface_light_indirect.fs``
    (``Irradiance_SphericalHarmonics``, ``Fd = diffuseColor * diffuseIrradiance``),
    ``filament/include/filament/LightManager.h`` (``Builder::direction``: default {0,-1,0}, intensity in lux),
    ``filament/src/ds/ColorPassDescriptorSet.cpp`` (``prepareDirectionalLight``: the shader's ``l = -direction``).
    """
    w = _to_world(estimate, camera_to_world, np.eye(3), key_light)
    color, intensity = _color_and_intensity(w.key_rgb)
    # engine irradiance is pi x ours, and Filament's SH carry E / pi: the two pi cancel
    sh = (COSINE_LOBE * BASIS_CONSTANTS)[:, None] * w.sh
    return FilamentLight(
        light_direction=_floats(-w.to_light),
        light_color=color,
        light_intensity=np.pi * intensity,
        irradiance_sh=_floats(sh),
    )


@dataclass(frozen=True)
class ArCoreLight(_AsDict):
    """ARCore ``LightEstimate`` Environmental HDR values (world: right-handed, +y up, as ARCore's poses).

    ``main_light_direction``: unit vector toward the light (``getEnvironmentalHdrMainLightDirection``).
    ``main_light_intensity``: linear RGB (``getEnvironmentalHdrMainLightIntensity``).
    ``ambient_spherical_harmonics``: 27 floats ``[r0, g0, b0, r1, ...]``
    (``getEnvironmentalHdrAmbientSphericalHarmonics``): the ambient light only, the main light excluded.
    """

    main_light_direction: tuple[float, float, float]
    main_light_intensity: tuple[float, float, float]
    ambient_spherical_harmonics: tuple[float, ...]


def to_arcore(estimate: LightEstimate, camera_to_world: np.ndarray | None = None) -> ArCoreLight:
    """ARCore Environmental HDR light estimate for ``estimate``, to feed code written for ARCore's values;
    ``camera_to_world``: rotation of ``Camera.getDisplayOrientedPose()`` (+x right, +y up, looking down -z).

    Sources (google-ar/arcore-android-sdk): ``libraries/include/arcore_c_api.h``
    (``ArLightEstimate_getEnvironmentalHdrMainLightDirection``: "[0, 1, 0] = a light shining straight down from
    above", i.e. toward the light; intensity ``[r, g, b]``; SH "channel-major [r0, g0, b0, r1, ...]"),
    ``samples/hello_ar_java/.../HelloArActivity.java`` (``updateSphericalHarmonicsCoefficients``: factors
    0.282095, -0.325735, 0.325735, -0.325735, 0.273137, -0.273137, 0.078848, -0.273137, 0.136569 = the SH basis
    with Condon-Shortley phase x cosine lobe / pi, the Filament convention) and
    ``samples/hello_ar_java/.../assets/shaders/environmental_hdr.frag`` (diffuse = albedo x ``max(sum, 0)`` +
    albedo / pi x intensity x N.L; "E(spherical harmonics) + E(main light) == E(cubemap)": the SH exclude the
    main light). So the raw coefficients are radiance SH in the Condon-Shortley basis.
    """
    w = _to_world(estimate, camera_to_world, np.eye(3), split_key=True)
    sh = np.pi * CONDON_SHORTLEY[:, None] * w.sh
    return ArCoreLight(
        main_light_direction=_floats(w.to_light),
        main_light_intensity=_floats(np.pi * w.key_rgb),
        ambient_spherical_harmonics=_floats(sh),  # (9, 3) row-major = [r0, g0, b0, r1, ...]
    )


@dataclass(frozen=True)
class ArKitLight(_AsDict):
    """ARKit ``ARDirectionalLightEstimate`` values (world: right-handed, +y up, as ARKit's transforms).

    ``primary_light_direction``: the direction the light travels (world). ``primary_light_intensity``: lumens,
    1000 = ARKit's neutral. ``spherical_harmonics_coefficients``: 27 floats, three planes (9 red, 9 green,
    9 blue), holding all the light (the primary light included), on the same 1000-scale.
    """

    primary_light_direction: tuple[float, float, float]
    primary_light_intensity: float
    spherical_harmonics_coefficients: tuple[float, ...]


def to_arkit(estimate: LightEstimate, camera_to_world: np.ndarray | None = None) -> ArKitLight:
    """ARKit face-tracking light estimate for ``estimate``; ``camera_to_world``: rotation of ``ARCamera.transform``
    (+x right, +y up, looking down -z, for the image in the camera's own orientation).

    Apple documents (developer.apple.com/documentation/arkit/ardirectionallightestimate): the SH are "second-level
    spherical harmonics in separate red, green, and blue data planes ... 3 sets of 9 coefficients"; the
    primary light is "the orientation of the strongest directional light source" in world space ("The primary
    direction of light" in ARLightEstimate.h) and its intensity is in lumens (ambientIntensity: ~1000 in a well
    lit scene). Apple does not document the SH basis order, sign or normalisation, nor whether the direction
    points to or from the light: we use lightest's basis (real, (l, m) order, no Condon-Shortley phase, radiance;
    the layout SceneKit's ``SCNLight.sphericalHarmonicsCoefficients`` takes) and the direction the light travels
    (the way a SceneKit or RealityKit directional light node is oriented). Scale: 1000 x lightest's.
    """
    w = _to_world(estimate, camera_to_world, np.eye(3), split_key=False)
    key = _key_rgb(estimate)
    return ArKitLight(
        primary_light_direction=_floats(-w.to_light),
        primary_light_intensity=ARKIT_NEUTRAL_LUMENS * float(np.max(key)),
        spherical_harmonics_coefficients=_floats(ARKIT_NEUTRAL_LUMENS * w.sh.T),  # planar: R plane, G, B
    )
