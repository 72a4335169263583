"""Real faces with known lights (Yale B, research use only: testing, never training)."""

import numpy as np
import pytest

from tests.conftest import YALEB
from training import yaleb

SUBJECTS = ["yaleB01", "yaleB02"]


@pytest.fixture(scope="module")
def images():
    if not YALEB.is_dir():
        pytest.skip(f"Yale B not found at {YALEB} (needs ../shared/data/yaleb beside the repo)")
    found = yaleb.list_images(YALEB, SUBJECTS)
    for subject in SUBJECTS:
        n = sum(i.subject == subject for i in found)
        assert n == 64, f"{subject}: expected 64 lit images, found {n}"
    return found


@pytest.fixture(scope="module")
def physics_results(physics_estimator, images):
    return yaleb.angle_errors(physics_estimator, images)


def test_faces_found_on_95_percent(images, physics_results):
    _, found, _ = physics_results
    for subject in SUBJECTS:
        rate = found[[i.subject == subject for i in images]].mean()
        assert rate >= 0.95, f"{subject}: faces found on {rate:.1%}"


def test_physics_median_angle_error(physics_results):
    errors, _, _ = physics_results  # faces not found or not estimated count as 180 deg
    assert np.median(errors) <= 25.0, f"median {np.median(errors):.1f} deg"


def test_failures_count_as_180_degrees(images):
    class NeverAFace:
        def detect_landmarks(self, image):
            return None

    errors, found, estimated = yaleb.angle_errors(NeverAFace(), images[:3])
    assert list(errors) == [180.0] * 3 and not found.any() and not estimated.any()
    assert yaleb.score(errors, found, estimated).median_deg == 180.0


def test_dlib_finds_yaleb_faces(images):
    pytest.importorskip("dlib", reason="dlib extra not installed")
    from lightest.image_io import load_image
    from lightest.landmarks import create_backend
    from lightest.lightpoints import get_light_point_set

    backend = create_backend("dlib")
    seed79 = get_light_point_set("seed79")
    subject = [i for i in images if i.subject == "yaleB01"]
    found = 0
    for img in subject:
        lm = backend.detect(load_image(img.path))
        if lm is not None:
            found += 1
            pts = seed79.locate(lm)
            assert pts.shape == (79, 3)
            # extrapolated (forehead) points lie above the brow landmark they extend (v grows downward)
            above = seed79.t > 1
            assert np.all(pts[above, 1] < lm.points[seed79.b[above], 1])
    assert found / len(subject) >= 0.95, f"dlib found {found}/{len(subject)}"
