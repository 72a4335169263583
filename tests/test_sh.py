import numpy as np

from lightest import frames
from lightest.sh import sh_basis, sh_from_light


def _sphere_quadrature(n=200_000, seed=0):
    d = frames.normalize(np.random.default_rng(seed).normal(size=(n, 3)))
    return d, 4 * np.pi / n


def test_basis_is_orthonormal():
    d, w = _sphere_quadrature()
    y = sh_basis(d)
    gram = (y.T @ y) * w
    assert np.allclose(gram, np.eye(9), atol=0.03)


def test_directional_light_projects_to_basis_at_its_direction():
    light = frames.direction_from_angles(30, 20)
    sh = sh_from_light(light, np.array([1.0, 0.5, 0.25]), np.zeros(3))
    assert sh.shape == (9, 3)
    assert np.allclose(sh[:, 0], sh_basis(light))
    assert np.allclose(sh[:, 2], 0.25 * sh_basis(light))
    # linear band points at the light: (Y11, Y1-1, Y10) ~ (x, y, z)
    assert np.allclose(frames.normalize(sh[[3, 1, 2], 0]), light)


def test_ambient_is_constant_radiance():
    sh = sh_from_light(np.array([0, 0, 1.0]), np.zeros(3), np.array([0.3, 0.3, 0.3]))
    d, _ = _sphere_quadrature(1000)
    radiance = sh_basis(d) @ sh
    assert np.allclose(radiance, 0.3)
