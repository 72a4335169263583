"""Natural-light label maths (blender_gen.envsh, pure numpy): SH projection, dominant direction, ambient share,
light colour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blender_gen import envsh
from lightest import frames, sh


def test_equirect_directions_follow_cycles_and_cover_the_sphere():
    d, omega = envsh.equirect_directions(64, 128)
    assert omega.sum() == pytest.approx(4.0 * math.pi, rel=1e-9)
    assert np.allclose(np.linalg.norm(d, axis=-1), 1.0)
    assert d[0, 64, 2] > 0.99 and d[-1, 64, 2] < -0.99  # top row = zenith
    assert np.allclose(d[32, 64], [1, 0, 0], atol=0.05)  # image centre = world +x
    assert np.allclose(d[32, 32], [0, 1, 0], atol=0.05)  # u = 0.25 = world +y
    assert np.allclose(d[32, 96], [0, -1, 0], atol=0.05)


def test_a_directional_light_projects_to_the_analytic_basis():
    d = frames.normalize(np.array([0.3, -0.5, 0.8]))
    e = np.array([2.0, 1.5, 0.5])
    got = envsh.project_sh(d[None], e[None])
    assert np.allclose(got, np.outer(sh.sh_basis(d), e))
    assert np.allclose(got, sh.sh_from_light(d, e, np.zeros(3)))
    assert np.allclose(envsh.dominant_direction(got), d)
    assert envsh.ambient_share(got) == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(envsh.dominant_rgb(got), e, rtol=1e-5)


def test_a_uniform_environment_gives_only_the_dc_term():
    a = np.array([0.7, 0.5, 0.3])
    env = envsh.EnvSamples.from_equirect(np.broadcast_to(a, (256, 512, 3)).astype(np.float32))
    for rot in (0.0, 77.0):
        dirs, flux = env.world(rot, 2.0, np.array([1.0, 1.0, 1.0]))
        got = envsh.project_sh(dirs, flux)
        assert np.allclose(got[0], 2.0 * a * math.sqrt(4.0 * math.pi), rtol=1e-4)
        assert np.abs(got[1:]).max() < 1e-3 * got[0].max()
        assert envsh.ambient_share(got) == pytest.approx(1.0, abs=1e-3)
        # irradiance of uniform radiance L is pi L on every normal
        assert np.allclose(sh.irradiance(got, sh.sphere_directions(50)), 2.0 * math.pi * a, rtol=1e-3)


def _blob_map(h: int = 64, w: int = 128, centre=(0.3, 0.8, 0.5)) -> np.ndarray:
    d, _ = envsh.equirect_directions(h, w)
    c = frames.normalize(np.array(centre))
    lobe = np.exp(12.0 * (d @ c - 1.0))
    return (0.05 + lobe[..., None] * np.array([1.0, 0.8, 0.6])).astype(np.float32)


def test_rotating_the_environment_rotates_the_dominant_direction():
    env = envsh.EnvSamples.from_equirect(_blob_map())
    d0 = envsh.dominant_direction(envsh.project_sh(*env.world(0.0, 1.0, np.ones(3))))
    assert frames.angle_between_deg(d0, frames.normalize(np.array([0.3, 0.8, 0.5]))) < 3.0
    for rot in (30.0, 135.0, -90.0):
        d = envsh.dominant_direction(envsh.project_sh(*env.world(rot, 1.0, np.ones(3))))
        # world radiance from d is the map's at Rz(rot) d: the lobe moves by Rz(-rot)
        assert np.allclose(d, envsh.rot_z(rot).T @ d0, atol=1e-6)


def test_scale_and_tint_scale_the_sh_per_channel():
    env = envsh.EnvSamples.from_equirect(_blob_map())
    base = envsh.project_sh(*env.world(20.0, 1.0, np.ones(3)))
    tinted = envsh.project_sh(*env.world(20.0, 3.0, np.array([1.0, 0.5, 0.25])))
    assert np.allclose(tinted, base * 3.0 * np.array([1.0, 0.5, 0.25]))


def test_sh_projection_of_a_map_matches_numeric_irradiance():
    env = envsh.EnvSamples.from_equirect(_blob_map(128, 256), block=2)
    dirs, flux = env.world(0.0, 1.0, np.ones(3))
    normals = sh.sphere_directions(300)
    exact = envsh.exact_irradiance(dirs, flux, normals)
    approx = sh.irradiance(envsh.project_sh(dirs, flux), normals)
    # order-2 SH irradiance is within a few percent of the exact clamped-cosine integral
    assert np.abs(approx - exact).max() < 0.05 * exact.max()


def test_ambient_share_of_a_light_plus_uniform_world_is_its_ratio():
    d = frames.normalize(np.array([-0.4, 0.3, 0.9]))
    e_key, ratio = 2.0, 0.3
    amb_irr = e_key * ratio / (1 - ratio)  # irradiance of the uniform part on any surface
    world = sh.sh_from_light(d, np.full(3, e_key), np.full(3, amb_irr / math.pi))
    assert envsh.ambient_share(world) == pytest.approx(ratio, abs=1e-6)
    assert np.allclose(envsh.dominant_direction(world), d)


def test_dominant_colour_ignores_a_coloured_uniform_ambient():
    d = frames.normalize(np.array([0.5, 0.5, 0.7]))
    warm = envsh.planck_rgb(3000.0)
    world = sh.sh_from_light(d, 4.0 * warm, np.array([0.1, 0.2, 0.6]))
    rgb = envsh.dominant_rgb(world)
    assert np.allclose(rgb / rgb.max(), warm / warm.max(), atol=1e-6)
    label = envsh.lighting_label(d[None], (4.0 * warm)[None])
    assert label["dominant_cct_k"] == pytest.approx(3000.0, rel=0.01)


def test_cct_of_white_and_of_the_planckian_locus():
    k, duv = envsh.cct_duv(envsh.rgb_to_xy(np.ones(3)))  # D65
    assert k == pytest.approx(6504.0, abs=40.0) and duv == pytest.approx(0.0032, abs=0.0008)
    for t in (1900.0, 2700.0, 4000.0, 5500.0, 9000.0, 15000.0):
        kt, duvt = envsh.cct_duv(envsh.planck_xy(t))
        assert kt == pytest.approx(t, rel=2e-3) and abs(duvt) < 1e-4
        # the blackbody RGB (in gamut above ~1900 K) has the same chromaticity
        assert envsh.cct_duv(envsh.rgb_to_xy(envsh.planck_rgb(t)))[0] == pytest.approx(t, rel=0.01)
    green = envsh.rgb_to_xy(np.array([0.8, 1.0, 0.8]))
    assert envsh.cct_duv(green)[1] > 0.005  # above the locus


def test_point_light_irradiance_and_a_small_area_light_like_a_point():
    pl = envsh.LightSpec("point", (0.0, -2.0, 0.0), 100.0, (1.0, 0.5, 0.2), radius_m=0.05)
    d, e = envsh.light_samples(pl, np.zeros(3))
    assert np.allclose(d, [[0, -1, 0]]) and np.allclose(e, 100.0 / (4 * math.pi * 4.0) * np.array([1, 0.5, 0.2]))
    # area light 2 m in front facing the origin (its local -z toward +y... i.e. toward the target)
    m = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))  # rows; columns x, y, z: local z = world -y
    small = envsh.LightSpec("area", (0.0, -2.0, 0.0), 100.0, (1.0, 1.0, 1.0), size_m=(0.01, 0.01), matrix=m)
    _, e = envsh.light_samples(small, np.zeros(3))
    assert e.sum(axis=0) == pytest.approx(np.full(3, 100.0 / (math.pi * 4.0)), rel=1e-4)


def test_a_large_area_light_matches_the_rectangle_formula():
    m = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))
    sx, sy, h, p = 1.2, 0.8, 0.5, 50.0
    lamp = envsh.LightSpec("area", (0.0, -h, 0.0), p, (1.0, 1.0, 1.0), size_m=(sx, sy), matrix=m)
    d, e = envsh.light_samples(lamp, np.zeros(3), n=64)
    got = envsh.exact_irradiance(d, e, np.array([[0.0, -1.0, 0.0]]))[0, 0]
    a, b = sx / 2, sy / 2
    radiance = p / (math.pi * sx * sy)
    want = 2 * radiance * (a / math.hypot(a, h) * math.atan(b / math.hypot(a, h))
                           + b / math.hypot(b, h) * math.atan(a / math.hypot(b, h)))
    assert got == pytest.approx(want, rel=5e-3)


def test_label_rows_are_finite_and_normalised():
    env = envsh.EnvSamples.from_equirect(_blob_map())
    dirs, flux = env.world(45.0, 1.0, envsh.planck_rgb(5000.0))
    row = envsh.lighting_label(dirs, flux, cam_to_head=np.eye(3))
    assert np.array(row["sh_rgb"]).shape == (9, 3)
    assert np.linalg.norm(row["dominant_dir_camera"]) == pytest.approx(1.0)
    assert 0.0 < row["ambient_share"] < 1.0
    assert np.array(row["dominant_rgb"]) @ envsh.LUMA == pytest.approx(1.0)
    assert 1667.0 <= row["dominant_cct_k"] <= 25000.0
