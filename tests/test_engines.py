"""Engine converters (lightest/engines.py): each engine's own shading formula, written out here from its source
(cited per function), evaluated on the converted numbers, must give the light lightest estimated, for random
lights, ambient, SH and camera poses, over a sphere of normals mapped into the engine's world frame.

Every engine function returns the outgoing radiance of a white Lambertian surface (albedo 1); lightest's side is
``lightest.sh.irradiance`` (times ARKit's 1000 for ARKit). Runtime-only: numpy.
"""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from lightest import LightEstimate
from lightest.engines import (
    UNITY_FROM_CAMERA,
    rotate_sh,
    to_arcore,
    to_arkit,
    to_filament,
    to_threejs,
    to_unity,
)
from lightest.sh import irradiance, sh_basis, sh_from_light, sphere_directions

NORMALS = sphere_directions(2000)  # camera frame
TOL = 1e-4  # relative to the largest value: the engines' own constants have 6 digits


def _estimate(direction, sh, intensity=None, color=None):
    return LightEstimate(
        direction=tuple(direction), confidence=0.5, face_box=(0, 0, 10, 10), landmarks=np.zeros((1, 3)),
        light_points=np.zeros((1, 2)), sh=sh, method="physics", intensity=intensity, color=color,
    )


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _random_physical(rng):
    """An estimate of a real-looking lighting: key light + ambient + up to 2 dimmer coloured lights."""
    d = rng.normal(size=3)
    d /= np.linalg.norm(d)
    intensity = rng.uniform(0.2, 1.5)
    color = rng.uniform(0.5, 1.0, size=3)
    color /= color.max()
    sh = sh_from_light(d, intensity * color, rng.uniform(0.0, 0.4, size=3))
    for _ in range(rng.integers(0, 3)):
        e = rng.normal(size=3)
        sh = sh + sh_from_light(e / np.linalg.norm(e), rng.uniform(0, 0.4, size=3), np.zeros(3))
    return _estimate(d, sh, intensity=intensity, color=tuple(color))


def _random_arbitrary(rng):
    """Any SH at all (signs included) and a random direction, intensity unknown."""
    d = rng.normal(size=3)
    return _estimate(d / np.linalg.norm(d), rng.normal(size=(9, 3)))


CASES = [(_random_physical, seed) for seed in range(12)] + [(_random_arbitrary, 100 + seed) for seed in range(6)]


def _case(make, seed):
    rng = np.random.default_rng(seed)
    return make(rng), (np.eye(3) if seed % 6 == 0 else _random_rotation(rng))


def _key(est):
    strength = 1.0 if est.intensity is None else est.intensity
    return strength * (np.ones(3) if est.color is None else np.asarray(est.color))


def _ours(est, key_light, clamp_sh=False):
    """lightest's white-surface radiance on NORMALS: SH irradiance, with the key light exact when it is split."""
    d = np.asarray(est.direction)
    if not key_light:
        e = irradiance(est.sh, NORMALS)
        return np.maximum(e, 0) if clamp_sh else e
    key = _key(est)
    rest = irradiance(est.sh - sh_from_light(d, key, np.zeros(3)), NORMALS)
    rest = np.maximum(rest, 0) if clamp_sh else rest
    return rest + np.maximum(NORMALS @ d, 0)[:, None] * key


def _close(engine, ours):
    scale = max(1.0, float(np.abs(ours).max()))
    return float(np.abs(engine - ours).max()) <= TOL * scale


# ---- the engines' formulas ------------------------------------------------------------------------------------

def threejs_radiance(out, n):
    """three.js: shGetIrradianceAt (lights_pars_begin.glsl.js) + dotNL * color * intensity (WebGLLights.js,
    lights_physical_pars_fragment.glsl.js), times BRDF_Lambert = 1/pi."""
    c = np.asarray(out.probe_sh).reshape(9, 3)  # SphericalHarmonics3.fromArray: coefficient i at [3i, 3i+3)
    x, y, z = (n[:, k : k + 1] for k in range(3))
    e = (c[0] * 0.886227 + c[1] * 2.0 * 0.511664 * y + c[2] * 2.0 * 0.511664 * z + c[3] * 2.0 * 0.511664 * x
         + c[4] * 2.0 * 0.429043 * x * y + c[5] * 2.0 * 0.429043 * y * z + c[6] * (0.743125 * z * z - 0.247708)
         + c[7] * 2.0 * 0.429043 * x * z + c[8] * 0.429043 * (x * x - y * y))
    to_light = np.asarray(out.light_position) / np.linalg.norm(out.light_position)  # position - target
    direct = np.clip(n @ to_light, 0, 1)[:, None] * np.asarray(out.light_color) * out.light_intensity
    return (e + direct) / math.pi


def unity_radiance(out, n):
    """Unity: PackSH into unity_SHAr..SHC, SHEvalLinearL0L1 + SHEvalLinearL2 (SphericalHarmonics.hlsl), plus
    LightingLambert = lightColor * saturate(dot(normal, lightDir)) with lightDir = -forward (URP)."""
    sh = np.asarray(out.ambient_probe)
    a = np.array([[sh[c * 9 + 3], sh[c * 9 + 1], sh[c * 9 + 2], sh[c * 9 + 0] - sh[c * 9 + 6]] for c in range(3)])
    b = np.array([[sh[c * 9 + 4], sh[c * 9 + 5], sh[c * 9 + 6] * 3.0, sh[c * 9 + 7]] for c in range(3)])
    shc = np.array([sh[8], sh[17], sh[26]])
    va = np.c_[n, np.ones(len(n))]
    vb = n[:, [0, 1, 2, 2]] * n[:, [1, 2, 2, 0]]  # N.xyzz * N.yzzx
    vc = n[:, 0] ** 2 - n[:, 1] ** 2
    ambient = va @ a.T + vb @ b.T + vc[:, None] * shc
    light_dir = -np.asarray(out.light_forward)
    direct = np.clip(n @ light_dir, 0, 1)[:, None] * np.asarray(out.light_color) * out.light_intensity
    return ambient + direct


def _polynomials(n):
    x, y, z = n[:, 0], n[:, 1], n[:, 2]
    return np.stack([np.ones_like(x), y, z, x, y * x, y * z, 3 * z * z - 1, z * x, x * x - y * y], axis=1)


def filament_radiance(out, n):
    """Filament: Irradiance_SphericalHarmonics = max(sum sh_i p_i(n), 0) times diffuseColor times iblLuminance
    (surface_light_indirect.fs), plus diffuseColor / pi * intensity * NoL with l = -direction."""
    sh = np.asarray(out.irradiance_sh).reshape(9, 3)
    ambient = np.maximum(_polynomials(n) @ sh, 0) * out.indirect_intensity
    direct = np.clip(n @ -np.asarray(out.light_direction), 0, 1)[:, None] * np.asarray(out.light_color)
    return ambient + direct * out.light_intensity / math.pi


ARCORE_FACTORS = np.array([0.282095, -0.325735, 0.325735, -0.325735, 0.273137, -0.273137, 0.078848, -0.273137,
                           0.136569])  # HelloArActivity.sphericalHarmonicFactors


def arcore_radiance(out, n):
    """ARCore hello_ar: coefficients[i] * factor[i / 3], Pbr_CalculateDiffuseEnvironmentalRadiance (max(sum, 0))
    plus diffuse / pi * intensity * N.L with L = the main light direction (environmental_hdr.frag)."""
    raw = np.asarray(out.ambient_spherical_harmonics)
    pre = raw * ARCORE_FACTORS[np.arange(27) // 3]
    ambient = np.maximum(_polynomials(n) @ pre.reshape(9, 3), 0)
    direct = np.clip(n @ np.asarray(out.main_light_direction), 0, 1)[:, None] * np.asarray(out.main_light_intensity)
    return ambient + direct / math.pi


def arkit_sh_radiance(out, n):
    """ARKit's SH planes (R, G, B) as Ramamoorthi-Hanrahan irradiance (bands pi, 2pi/3, pi/4) over pi, / 1000."""
    planes = np.asarray(out.spherical_harmonics_coefficients).reshape(3, 9)
    lobe = np.array([math.pi] + [2 * math.pi / 3] * 3 + [math.pi / 4] * 5)
    return (sh_basis(n) * lobe) @ planes.T / 1000.0


def arkit_direct_radiance(out, n):
    """ARKit's primary light (lumens, 1000 = neutral) shining along its direction."""
    return np.clip(n @ -np.asarray(out.primary_light_direction), 0, 1) * out.primary_light_intensity / 1000.0


# ---- irradiance equality -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "seed"), CASES)
@pytest.mark.parametrize("key_light", [True, False])
def test_threejs_shades_like_lightest(make, seed, key_light):
    est, r = _case(make, seed)
    out = to_threejs(est, r, key_light=key_light)
    assert _close(threejs_radiance(out, NORMALS @ r.T), _ours(est, key_light))


@pytest.mark.parametrize(("make", "seed"), CASES)
@pytest.mark.parametrize("key_light", [True, False])
def test_unity_shades_like_lightest(make, seed, key_light):
    est, r = _case(make, seed)
    out = to_unity(est, r, key_light=key_light)
    unity_normals = NORMALS @ (r @ UNITY_FROM_CAMERA).T  # lightest camera -> Unity camera (z flipped) -> world
    assert _close(unity_radiance(out, unity_normals), _ours(est, key_light))


@pytest.mark.parametrize(("make", "seed"), CASES)
@pytest.mark.parametrize("key_light", [True, False])
def test_filament_shades_like_lightest(make, seed, key_light):
    est, r = _case(make, seed)
    out = to_filament(est, r, key_light=key_light)
    assert _close(filament_radiance(out, NORMALS @ r.T), _ours(est, key_light, clamp_sh=True))


@pytest.mark.parametrize(("make", "seed"), CASES)
def test_arcore_shades_like_lightest(make, seed):
    est, r = _case(make, seed)
    out = to_arcore(est, r)
    assert _close(arcore_radiance(out, NORMALS @ r.T), _ours(est, True, clamp_sh=True))


@pytest.mark.parametrize(("make", "seed"), CASES)
def test_arkit_shades_like_lightest(make, seed):
    est, r = _case(make, seed)
    out = to_arkit(est, r)
    n_world = NORMALS @ r.T
    assert _close(arkit_sh_radiance(out, n_world), irradiance(est.sh, NORMALS))
    key = _key(est).max() * np.maximum(NORMALS @ np.asarray(est.direction), 0)
    assert _close(arkit_direct_radiance(out, n_world), key)


def test_physical_cases_stay_clear_of_the_sh_clamp():
    """Filament and ARCore clamp their SH term at 0: the physical test lights must mostly not rely on it."""
    for make, seed in CASES[:12]:
        est, _ = _case(make, seed)
        rest = est.sh - sh_from_light(np.asarray(est.direction), _key(est), np.zeros(3))
        assert irradiance(rest, NORMALS).min() > -0.05 * np.abs(irradiance(est.sh, NORMALS)).max()


# ---- negative controls: a wrong sign or layout is caught -----------------------------------------------------

def test_wrong_layouts_and_signs_are_caught():
    est, r = _case(_random_physical, 1)
    ours = _ours(est, True)
    n_world = NORMALS @ r.T

    three = to_threejs(est, r)
    planar = np.asarray(three.probe_sh).reshape(9, 3).T.reshape(-1)  # channel-major instead of coefficient-major
    assert not _close(threejs_radiance(replace(three, probe_sh=tuple(planar)), n_world), ours)
    flipped = replace(three, light_position=tuple(-np.asarray(three.light_position)))
    assert not _close(threejs_radiance(flipped, n_world), ours)

    unity = to_unity(est, r)
    assert not _close(unity_radiance(unity, n_world), ours)  # the z flip into Unity's left-handed frame matters

    arcore = to_arcore(est, r)
    unsigned = np.asarray(arcore.ambient_spherical_harmonics) * np.repeat([1, -1, 1, -1, 1, -1, 1, -1, 1], 3)
    no_phase = replace(arcore, ambient_spherical_harmonics=tuple(unsigned))
    assert not _close(arcore_radiance(no_phase, n_world), _ours(est, True, clamp_sh=True))

    filament = to_filament(est, r)
    toward = replace(filament, light_direction=tuple(-np.asarray(filament.light_direction)))
    assert not _close(filament_radiance(toward, n_world), _ours(est, True, clamp_sh=True))

    arkit = to_arkit(est, r)
    interleaved = np.asarray(arkit.spherical_harmonics_coefficients).reshape(3, 9).T.reshape(-1)
    wrong = replace(arkit, spherical_harmonics_coefficients=tuple(interleaved))
    assert not _close(arkit_sh_radiance(wrong, n_world), irradiance(est.sh, NORMALS))


def test_splitting_the_key_light_differs_from_the_sh_approximation():
    """With the key light split, the engine shades it exactly: not the SH's 9-term clamped cosine."""
    est, r = _case(_random_physical, 2)
    out = to_threejs(est, r)
    assert not _close(threejs_radiance(out, NORMALS @ r.T), _ours(est, key_light=False))


# ---- directions ----------------------------------------------------------------------------------------------

RIGHT = np.array([1.0, 0.0, 0.0])  # light at the image's right
TOWARD_CAMERA = np.array([0.0, 0.0, 1.0])  # light behind the camera, shining on the face


@pytest.mark.parametrize(
    ("light", "three", "unity_forward", "filament", "arcore", "arkit"),
    [
        (RIGHT, (1, 0, 0), (-1, 0, 0), (-1, 0, 0), (1, 0, 0), (-1, 0, 0)),
        # three.js/ARCore/ARKit/Filament cameras look down -z, so the camera side is +z; Unity's look down +z
        (TOWARD_CAMERA, (0, 0, 1), (0, 0, 1), (0, 0, -1), (0, 0, 1), (0, 0, -1)),
        (np.array([0.0, 1.0, 0.0]), (0, 1, 0), (0, -1, 0), (0, -1, 0), (0, 1, 0), (0, -1, 0)),
    ],
)
def test_directions_with_identity_pose(light, three, unity_forward, filament, arcore, arkit):
    est = _estimate(light, sh_from_light(light, np.ones(3), np.zeros(3)))
    assert np.allclose(to_threejs(est).light_position, three)
    assert np.allclose(to_unity(est).light_forward, unity_forward)
    assert np.allclose(to_filament(est).light_direction, filament)
    assert np.allclose(to_arcore(est).main_light_direction, arcore)
    assert np.allclose(to_arkit(est).primary_light_direction, arkit)


def test_camera_pose_turns_the_light():
    """Camera turned to look down world -x (yaw +90 deg about +y): its right is world -z."""
    yaw = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # columns: camera x, y, z in world
    assert np.allclose(yaw @ [0, 0, -1.0], [-1, 0, 0])
    est = _estimate(RIGHT, sh_from_light(RIGHT, np.ones(3), np.zeros(3)))
    assert np.allclose(to_threejs(est, yaw).light_position, (0, 0, -1))
    assert np.allclose(to_arcore(est, yaw).main_light_direction, (0, 0, -1))
    # Unity camera looking down world -x is yaw -90 deg in Unity (left-handed): its right is world +z
    unity_yaw = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert np.allclose(unity_yaw @ [0, 0, 1.0], [-1, 0, 0])
    assert np.allclose(to_unity(est, unity_yaw).light_forward, (0, 0, -1))


def test_lightest_estimate_leaves_only_ambient_in_the_probe():
    """A physics/model estimate is key light + uniform ambient: once split, the probe is a constant colour."""
    d = np.array([0.6, 0.48, 0.64])
    from lightest.sh import sh_from_shares

    est = _estimate(d, sh_from_shares(d, 0.8, 0.25), intensity=0.8)
    probe = np.asarray(to_threejs(est, _random_rotation(np.random.default_rng(5))).probe_sh).reshape(9, 3)
    assert np.allclose(probe[1:], 0, atol=1e-9)
    assert np.allclose(probe[0] * 0.886227 / math.pi, 0.8 * 0.25 / 0.75, rtol=1e-5)  # = ambient irradiance


# ---- rotation of SH, API -------------------------------------------------------------------------------------

@pytest.mark.parametrize("reflect", [False, True])
def test_rotate_sh_is_exact(reflect):
    rng = np.random.default_rng(7)
    m = _random_rotation(rng) @ (np.diag([1.0, 1.0, -1.0]) if reflect else np.eye(3))
    sh = rng.normal(size=(9, 3))
    assert np.allclose(irradiance(rotate_sh(sh, m), NORMALS @ m.T), irradiance(sh, NORMALS), atol=1e-12)
    assert np.allclose(rotate_sh(sh, np.eye(3)), sh, atol=1e-12)


def test_to_dict_is_json():
    est, r = _case(_random_physical, 3)
    for convert in (to_threejs, to_unity, to_filament, to_arcore, to_arkit):
        d = json.loads(json.dumps(convert(est, r).to_dict()))
        assert all(isinstance(v, (float, list)) for v in d.values())
    assert len(to_unity(est).to_dict()["ambient_probe"]) == 27


def test_bad_input_is_a_clear_error():
    est, _ = _case(_random_physical, 4)
    with pytest.raises(ValueError, match="3x3"):
        to_threejs(est, np.eye(4))
    for mirror in (np.diag([1.0, 1.0, -1.0]), np.diag([2.0, 2.0, -2.0])):  # no "divide by its length" advice
        with pytest.raises(ValueError, match=r"rotation matrix .*determinant is negative: a reflection"):
            to_unity(est, mirror)
    with pytest.raises(ValueError, match=r"lengths \[2.0, 2.0, 2.0\]: divide each by its length"):
        to_filament(est, 2 * np.eye(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        to_arcore(est, np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="LightEstimate"):
        to_arkit({"direction": (0, 0, 1)})
