"""Real faces with known lights (Yale B, research use only: testing, never training)."""

import numpy as np
import pytest

from lightest import frames
from lightest.image_io import load_image
from tests.conftest import yaleb_images

SUBJECTS = ("yaleB01", "yaleB02")


@pytest.fixture(scope="module")
def physics_results(physics_estimator):
    rows = []
    for subject in SUBJECTS:
        images = yaleb_images(subject)
        assert len(images) == 64, f"{subject}: expected 64 lit images, found {len(images)}"
        for path, az, el in images:
            image = load_image(path)
            found = physics_estimator.observe(image) is not None
            r = physics_estimator.estimate(image)
            truth = frames.direction_from_yaleb(az, el)
            err = 180.0 if r is None else frames.angle_between_deg(np.array(r.direction), truth)
            rows.append((subject, found, err))
    return rows


def test_faces_found_on_95_percent(physics_results):
    for subject in SUBJECTS:
        found = [f for s, f, _ in physics_results if s == subject]
        assert np.mean(found) >= 0.95, f"{subject}: faces found on {np.mean(found):.1%}"


def test_physics_median_angle_error(physics_results):
    # faces not found (or not estimated) count as 180 deg failures
    errors = np.array([e for _, _, e in physics_results])
    assert np.median(errors) <= 25.0, f"median {np.median(errors):.1f} deg"


def test_dlib_finds_yaleb_faces():
    pytest.importorskip("dlib", reason="dlib extra not installed")
    from lightest.landmarks import create_backend
    from lightest.lightpoints import get_light_point_set

    backend = create_backend("dlib")
    seed79 = get_light_point_set("seed79")
    images = yaleb_images("yaleB01")
    found = 0
    for path, _, _ in images:
        lm = backend.detect(load_image(path))
        if lm is not None:
            found += 1
            pts = seed79.locate(lm)
            assert pts.shape == (79, 3)
            # extrapolated (forehead) points lie above the brow landmark they extend (v grows downward)
            above = seed79.t > 1
            assert np.all(pts[above, 1] < lm.points[seed79.b[above], 1])
    assert found / len(images) >= 0.9, f"dlib found {found}/{len(images)}"
