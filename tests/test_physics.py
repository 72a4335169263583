import numpy as np
import pytest

from lightest import frames
from lightest.physics import VertexNormals, fit_lambertian, srgb_to_linear


def _hemisphere_normals(n, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v[:, 2] = np.abs(v[:, 2])
    return frames.normalize(v)


@pytest.mark.parametrize(("az", "el"), [(0, 0), (40, 20), (-70, -10), (100, 30)])
def test_recovers_direction_with_attached_shadow(az, el):
    n = _hemisphere_normals(400)
    light = frames.direction_from_angles(az, el)
    intensity = 0.05 + 0.6 * np.clip(n @ light, 0, None)
    fit = fit_lambertian(intensity, n)
    assert fit is not None
    assert frames.angle_between_deg(fit.direction, light) < 1.0
    assert fit.directional == pytest.approx(0.6, rel=0.02)
    assert fit.ambient == pytest.approx(0.05, abs=0.01)
    assert fit.confidence > 0.9


def test_robust_to_cast_shadow():
    n = _hemisphere_normals(400, seed=1)
    light = frames.direction_from_angles(30, 10)
    intensity = 0.05 + 0.6 * np.clip(n @ light, 0, None)
    intensity[:60] = 0.0  # a cast shadow (black), e.g. the nose's
    fit = fit_lambertian(intensity, n)
    assert frames.angle_between_deg(fit.direction, light) < 1.0


def test_dark_face_gives_none():
    n = _hemisphere_normals(100)
    assert fit_lambertian(np.zeros(100), n) is None


def test_vertex_normals_of_a_sphere_cap():
    # a triangulated sphere cap seen from the camera: normals must equal the radial direction
    r = 100.0
    u, v = np.meshgrid(np.linspace(-50, 50, 21), np.linspace(-50, 50, 21))
    z = np.sqrt(r * r - u * u - v * v)
    pts = np.c_[u.ravel(), v.ravel(), z.ravel()]  # v downward, depth toward camera
    idx = np.arange(21 * 21).reshape(21, 21)
    tris = []
    for i in range(20):
        for j in range(20):
            a, b, c, d = idx[i, j], idx[i, j + 1], idx[i + 1, j], idx[i + 1, j + 1]
            tris += [[a, c, b], [b, c, d]]  # counter-clockwise as seen from the camera (v down)
    normals = VertexNormals(np.array(tris))(pts)
    assert np.allclose(VertexNormals(np.array(tris))(pts, np.array([5, 7])), normals[[5, 7]])
    expected = frames.normalize(frames.pixel_to_camera(pts))
    inner = (np.abs(u.ravel()) < 45) & (np.abs(v.ravel()) < 45)
    assert np.all(np.sum(normals[inner] * expected[inner], axis=1) > np.cos(np.radians(2)))


def test_srgb_to_linear_endpoints():
    assert srgb_to_linear(np.array([0.0, 255.0])) == pytest.approx([0.0, 1.0])
    assert srgb_to_linear(np.array([128.0]))[0] == pytest.approx(0.2158, abs=1e-3)
