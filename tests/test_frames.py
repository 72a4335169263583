import numpy as np
import pytest

from lightest import frames


def test_axes_follow_the_convention():
    assert np.allclose(frames.direction_from_angles(0, 0), [0, 0, 1])  # at the camera
    assert np.allclose(frames.direction_from_angles(90, 0), [1, 0, 0])  # image right
    assert np.allclose(frames.direction_from_angles(0, 90), [0, 1, 0])  # up


def test_angles_round_trip():
    rng = np.random.default_rng(0)
    az, el = rng.uniform(-179, 179, 200), rng.uniform(-89, 89, 200)
    back_az, back_el = frames.angles_from_direction(frames.direction_from_angles(az, el))
    assert np.allclose(back_az, az) and np.allclose(back_el, el)


def test_yaleb_positive_azimuth_is_image_left():
    d = frames.direction_from_yaleb(90, 0)
    assert np.allclose(d, [-1, 0, 0])
    assert np.allclose(frames.direction_from_yaleb(-35, 15), frames.direction_from_angles(35, 15))


def test_angle_between_and_normalize():
    assert frames.angle_between_deg(np.array([1, 0, 0]), np.array([0, 2, 0])) == pytest.approx(90)
    with pytest.raises(ValueError, match="zero"):
        frames.normalize(np.zeros(3))


def test_pixel_to_camera_flips_v():
    assert np.allclose(frames.pixel_to_camera(np.array([[3.0, 4.0, 5.0]])), [[3, -4, 5]])
    with pytest.raises(ValueError):
        frames.pixel_to_camera(np.zeros((3, 4)))
