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


def test_irradiance_of_ambient_and_of_a_distant_light():
    from lightest.sh import irradiance, sphere_directions

    normals = sphere_directions(500)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    ambient = sh_from_light(np.array([0, 0, 1.0]), np.zeros(3), np.full(3, 0.3))
    assert np.allclose(irradiance(ambient, normals), np.pi * 0.3)  # uniform radiance a -> irradiance pi a
    light = frames.direction_from_angles(-40, 25)
    sh = sh_from_light(light, np.ones(3), np.zeros(3))
    e = irradiance(sh, normals)[:, 0]
    # order-2 SH of a clamped cosine: brightest facing the light, symmetric about it, ~max(0, n.l) elsewhere
    assert np.argmax(e) == np.argmax(normals @ light)
    cos = normals @ light
    assert np.abs(e - np.maximum(cos, 0)).max() < 0.2 and np.corrcoef(e, np.maximum(cos, 0))[0, 1] > 0.97


def test_relative_irradiance_error_ignores_exposure_and_sees_direction():
    from lightest.sh import relative_irradiance_error

    light = frames.direction_from_angles(30, 10)
    sh = sh_from_light(light, np.ones(3), np.full(3, 0.1))
    assert relative_irradiance_error(3.0 * sh, sh) < 1e-12  # a brighter exposure is the same lighting
    other = sh_from_light(frames.direction_from_angles(-30, 10), np.ones(3), np.full(3, 0.1))
    more_ambient = [relative_irradiance_error(sh_from_light(light, np.ones(3), np.full(3, a)), sh) for a in (0.12, 0.2)]
    # more ambient flattens the shading a little, then more; a light from the other side changes it most
    assert 0 < more_ambient[0] < more_ambient[1] < relative_irradiance_error(other, sh)
    assert relative_irradiance_error(other, sh) > 0.5
