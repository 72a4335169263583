import json

import cv2
import numpy as np
import pytest

from lightest import Estimator, EstimatorOptions, LightEstimate, frames
from lightest.sh import sh_basis
from tests.conftest import EXAMPLE


def test_options_are_validated():
    with pytest.raises(ValueError, match="method"):
        EstimatorOptions(method="magic")
    with pytest.raises(ValueError, match="landmarks"):
        EstimatorOptions(landmarks="openface")
    with pytest.raises(ValueError, match="running_mode"):
        EstimatorOptions(running_mode="live")
    with pytest.raises(ValueError, match="num_threads"):
        EstimatorOptions(num_threads=0)
    with pytest.raises(ValueError, match="max_faces"):
        EstimatorOptions(max_faces=0)
    with pytest.raises(ValueError, match="mesh normals"):
        Estimator(method="physics", landmarks="dlib")
    with pytest.raises(ValueError, match="model_path was given"):
        Estimator(method="physics", model_path="model.tflite")
    with pytest.raises(FileNotFoundError, match=r"model /nonexistent/model.tflite does not exist"):
        Estimator(model_path="/nonexistent/model.tflite")


def test_default_without_bundled_model_is_physics(monkeypatch):
    import lightest.estimator as mod

    monkeypatch.setattr(mod, "default_model_path", lambda landmarks="mediapipe": None)
    with Estimator() as est:
        assert est.method == "physics"
        assert est.light_points.name == "mesh-v1"
    with pytest.raises(FileNotFoundError, match="no bundled model"):
        Estimator(method="model")


def test_example_face(physics_estimator, example_image):
    r = physics_estimator.estimate(example_image)
    assert isinstance(r, LightEstimate)
    assert r.method == "physics"
    assert np.linalg.norm(r.direction) == pytest.approx(1.0)
    assert 0.0 <= r.confidence <= 1.0 and 0.0 <= r.ambient <= 1.0 and r.intensity > 0
    x, y, w, h = r.face_box
    assert w > 50 and h > 50 and x >= 0 and y >= 0
    assert r.landmarks.shape == (468, 3) and r.light_points.shape == (340, 2)
    # frozen: neither fields nor arrays can be changed
    with pytest.raises(AttributeError):
        r.confidence = 1.0
    with pytest.raises(ValueError):
        r.landmarks[0, 0] = 0
    # the SH's linear band points along the estimated direction
    assert np.allclose(frames.normalize(r.sh[[3, 1, 2], 0]), r.direction, atol=1e-6)
    assert r.sh[0, 0] > sh_basis(np.array(r.direction))[0] * r.intensity * 0.999


def test_example_face_matches_its_render_label(physics_estimator, example_image):
    """The shipped example is a render with a known light: the physics estimate must be near it."""

    label = json.loads(EXAMPLE.with_suffix(".json").read_text())
    r = physics_estimator.estimate(example_image)
    assert frames.angle_between_deg(np.array(r.direction), np.array(label["light_dir_camera"])) < 25


def test_to_dict_is_json_and_angles_follow_formulas(physics_estimator, example_image):
    r = physics_estimator.estimate(example_image)
    d = json.loads(json.dumps(r.to_dict()))
    x, y, z = d["direction"]
    assert d["azimuth_deg"] == pytest.approx(np.degrees(np.arctan2(x, z)), abs=1e-3)
    assert d["elevation_deg"] == pytest.approx(np.degrees(np.arcsin(y)), abs=1e-3)
    assert len(d["sh"]) == 9 and len(d["sh"][0]) == 3
    assert d["method"] == "physics" and d["position"] is None and d["color"] is None
    assert len(json.dumps(d)) <= 2048 and "landmarks" not in d  # compact by default (issue 16)
    full = r.to_dict(full=True)
    assert len(full["landmarks"]) == 468 and len(full["light_points"]) == len(r.light_points)


def test_gray_bgr_and_bgra_agree(physics_estimator, example_image):
    import cv2

    gray = cv2.cvtColor(example_image, cv2.COLOR_BGR2GRAY)
    a = physics_estimator.estimate(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    b = physics_estimator.estimate(gray)
    c = physics_estimator.estimate(cv2.cvtColor(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2BGRA))
    assert np.allclose(a.direction, b.direction) and np.allclose(a.direction, c.direction)


def test_mirrored_face_mirrors_the_light(physics_estimator, example_image):
    r = physics_estimator.estimate(example_image)
    m = physics_estimator.estimate(np.ascontiguousarray(example_image[:, ::-1]))
    assert frames.angle_between_deg(np.array(m.direction) * [-1, 1, 1], np.array(r.direction)) < 8


def test_video_mode_tracks_a_stream(example_image):
    with Estimator(method="physics", running_mode="video") as est:
        results = [est.estimate(example_image) for _ in range(3)]
    assert all(r is not None for r in results)
    assert frames.angle_between_deg(np.array(results[0].direction), np.array(results[2].direction)) < 5


def test_stage_times(physics_estimator, example_image):
    r, t = physics_estimator.estimate_timed(example_image)
    assert r is not None
    assert t.landmarks_ms > 0 and t.sampling_ms > 0 and t.estimate_ms > 0
    assert t.total_ms == pytest.approx(t.landmarks_ms + t.sampling_ms + t.estimate_ms)
    with Estimator() as est:  # the light-head graph (sampling ... head axes), then building the result
        r, t = est.estimate_timed(example_image)
    assert r is not None and t.sampling_ms > 0 and t.estimate_ms > 0


def test_observer_is_the_estimators_measuring_step(physics_estimator, example_image):
    from lightest.observer import LightPointObserver

    with LightPointObserver(landmarks="mediapipe", light_points="mesh-v1") as obs:
        lm, o = obs.observe(example_image)
    lm2, o2 = physics_estimator.observe(example_image)
    assert np.allclose(lm.points, lm2.points) and np.allclose(o.samples.gray, o2.samples.gray)
    assert o.normals.shape == (340, 3)
    with LightPointObserver(normals=False) as obs:
        assert obs.observe(example_image)[1].normals is None
    with pytest.raises(ValueError, match="defined on dlib68"):
        LightPointObserver(landmarks="mediapipe", light_points="seed79")


def test_dlib_landmarks_default_to_the_seed_reproduction(example_image):
    pytest.importorskip("dlib", reason="dlib extra not installed")
    with Estimator(landmarks="dlib") as est:
        r = est.estimate(example_image)
    assert est.light_points.name == "seed79" and r is not None and r.method == "model"
    assert r.landmarks.shape == (68, 3)


def test_seed_observer_on_dlib_landmarks(example_image):
    pytest.importorskip("dlib", reason="dlib extra not installed")
    from lightest.observer import LightPointObserver

    with LightPointObserver(landmarks="dlib", light_points="seed79") as obs:
        lm, o = obs.observe(example_image)
    assert lm.scheme == "dlib68" and o.points.shape == (79, 3) and o.normals is None
    assert o.samples.valid.all()


def test_estimate_with_given_landmarks(physics_estimator, example_image):
    lm = physics_estimator.detect_landmarks(example_image)
    a = physics_estimator.estimate_with_landmarks(example_image, lm)
    b = physics_estimator.estimate(example_image)
    assert np.allclose(a.direction, b.direction)


def test_default_estimator_uses_the_bundled_light_head(example_image):
    from lightest.estimator import default_model_path

    path = default_model_path()
    if path is None:
        pytest.skip("no light head bundled in lightest/models")
    assert path.name == "lighthead.tflite"
    with Estimator() as est:
        r = est.estimate(example_image)
    assert est.method == "model" and r.method == "model" and r.ambient is not None
    label = json.loads(EXAMPLE.with_suffix(".json").read_text())
    assert frames.angle_between_deg(np.array(r.direction), np.array(label["light_dir_camera"])) < 25


def _face_patch(image: np.ndarray, face_width: int) -> np.ndarray:
    """The example's face with some margin, scaled so the face (landmark box) is ``face_width`` px wide."""
    import cv2

    with Estimator(method="physics") as est:
        x, y, w, h = est.detect_landmarks(image).box
    cx, cy, half = x + w / 2, y + h / 2, 0.8 * max(w, h)
    x0, y0 = max(0, round(cx - half)), max(0, round(cy - half))
    patch = image[y0 : round(cy + half), x0 : round(cx + half)]
    scale = face_width / w
    return cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def test_estimate_all_finds_three_small_faces_in_a_full_hd_frame(example_image):
    frame = np.full((1080, 1920, 3), 40, np.uint8)
    for (x, y), width in zip([(200, 300), (900, 500), (1500, 200)], [60, 120, 200], strict=True):
        patch = _face_patch(example_image, width)
        frame[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    with Estimator(max_faces=5) as est:
        results = est.estimate_all(frame)
        largest = est.estimate(frame)
    assert len(results) == 3
    widths = [r.face_box[2] for r in results]
    assert widths == sorted(widths, reverse=True)  # largest first
    assert largest is not None and largest.face_box == results[0].face_box
    with Estimator() as est:  # max_faces=1: one face, the largest
        assert len(est.estimate_all(frame)) == 1


def test_landmarks_from_elsewhere_get_a_crop(example_image):
    """Landmarks without the mesh model's crop (a user's own tracker) are cropped by the tracking rule."""
    from lightest.landmarks import FaceLandmarks

    with Estimator() as est:
        found = est.detect_landmarks(example_image)
        bare = FaceLandmarks(points=found.points, scheme=found.scheme, has_depth=True)
        a, b = est.estimate_with_landmarks(example_image, bare), est.estimate(example_image)
    assert frames.angle_between_deg(np.array(a.direction), np.array(b.direction)) < 3


def test_landmarks_reused_on_another_image_read_that_image(example_image):
    """The crop that came with detect_landmarks is cut again from the image given: the light is that image's
    (it used to sample the first image's crop and answer its light, confidently, on any frame)."""
    import dataclasses

    with Estimator() as est:
        landmarks = est.detect_landmarks(example_image)
        same, direct = est.estimate_with_landmarks(example_image, landmarks), est.estimate(example_image)
        inverted = est.estimate_with_landmarks(255 - example_image, landmarks)  # shading reversed: light opposite
        black = est.estimate_with_landmarks(np.zeros_like(example_image), landmarks)
        half = cv2.resize(example_image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        small = est.detect_landmarks(half)
        scaled = est.estimate_with_landmarks(example_image, dataclasses.replace(small, points=small.points * 2))
    assert same == direct
    assert inverted.direction[0] > 0 > direct.direction[0] and black.confidence < 0.1
    x, y, w, h = direct.face_box  # moved points get a crop of their own: light-points on this image's face
    assert (scaled.light_points.min(0) >= (x - 2, y - 2)).all() and (scaled.light_points.max(0) <= (x + w, y + h)).all()
    assert frames.angle_between_deg(np.array(scaled.direction), np.array(direct.direction)) < 5


def test_estimates_compare_by_value(example_image):
    """Two estimates of one image are equal (the dataclass default compared arrays with == and raised)."""
    import copy
    from dataclasses import replace

    with Estimator() as est:
        a, b = est.estimate(example_image), est.estimate(example_image)
    assert a is not None and a == b and a == copy.deepcopy(a) and a in [b]
    assert a != replace(a, held=True) and a != replace(a, landmarks=a.landmarks + 1.0)
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)
