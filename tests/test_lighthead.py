"""The light-head graph: it computes what the numpy path computes, checks its file, and is what Estimator runs."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from lightest import Estimator, frames
from lightest.estimator import default_model_path
from lightest.features import LOG_FLOOR, feature_vector
from lightest.headpose import head_rotation
from lightest.lighthead import CROP_DISC_RADIUS, CROP_SIZE, LightHead, LightHeadCard
from lightest.litert import ModelIntegrityError
from lightest.model_card import card_path_for
from lightest.physics import srgb_to_linear

MODELS = Path(str(resources.files("lightest.models")))


@pytest.fixture(scope="module")
def head_path() -> Path:
    path = default_model_path()
    if path is None:
        pytest.fail("lightest/models/lighthead.tflite (+ card) is missing: python -m export lighthead ... --install")
    return path


@pytest.fixture(scope="module")
def card(head_path) -> LightHeadCard:
    return LightHeadCard.from_json(json.loads(card_path_for(head_path).read_text()))


@pytest.fixture(scope="module")
def face(example_image):
    with Estimator(method="physics") as est:
        landmarks = est.detect_landmarks(example_image)
        assert landmarks is not None and landmarks.crop is not None
        return landmarks, est.observe(example_image)[1]


def test_crop_disc_follows_the_sampling_rule():
    # 1.5 % of a face spanning CROP_SIZE / 1.5 px: round(1.92) = 2
    assert CROP_SIZE == 192 and CROP_DISC_RADIUS == 2


def test_graph_features_equal_the_numpy_observation(head_path, card, face, example_image):
    """Training builds features with the observer (numpy); the runtime runs the graph: they must agree."""
    landmarks, obs = face
    crop = landmarks.crop
    h, w = example_image.shape[:2]
    out = LightHead(head_path, card).run(crop.image, crop.points, crop.to_image, (w, h))
    np.testing.assert_allclose(out.gray, obs.samples.gray, atol=1e-3)
    np.testing.assert_allclose(out.rgb, obs.samples.rgb, atol=1e-3)
    np.testing.assert_array_equal(out.valid, obs.samples.valid)
    np.testing.assert_allclose(out.features, feature_vector(obs, card.features), atol=1e-4)
    np.testing.assert_allclose(out.light_points, obs.points[:, :2], atol=1e-3)
    np.testing.assert_allclose(out.head_rotation, head_rotation(landmarks), atol=1e-5)
    assert out.valid_fraction == pytest.approx(obs.samples.valid.mean())
    log = np.log(srgb_to_linear(obs.samples.gray[obs.samples.valid]) + LOG_FLOOR)  # gray_logz's spread
    assert out.contrast == pytest.approx(float(log.std()), abs=1e-4)


def test_graph_features_on_a_face_cut_by_the_frame(head_path, card, example_image):
    """Light-points outside the frame: the graph's validity and its gray_logz over the valid points alone
    equal the numpy observation's (the frame's left 30 % of the face cut away)."""
    part = np.ascontiguousarray(example_image[:, 265:])
    with Estimator(method="physics") as est:
        landmarks = est.detect_landmarks(part)
        assert landmarks is not None and landmarks.crop is not None
        obs = est.observe(part)[1]
    crop = landmarks.crop
    out = LightHead(head_path, card).run(crop.image, crop.points, crop.to_image, (part.shape[1], part.shape[0]))
    assert 0.5 < obs.samples.valid.mean() < 0.95
    np.testing.assert_array_equal(out.valid, obs.samples.valid)
    np.testing.assert_allclose(out.features, feature_vector(obs, card.features), atol=1e-4)


def test_graph_equals_the_regressor_run_in_numpy(card, example_image):
    """The embedded regressor (its float32 file + card: standardisation, mirror averaging, head frame) run by
    the numpy path gives the graph's direction, up to the shipped graph's int8 weights (exact float32 graphs:
    :func:`test_float_weight_graph_is_the_numpy_path`)."""
    regressor = MODELS / card.extra["regressor"]["file"]
    assert card.extra["weights"].startswith("int8")
    with Estimator() as graph, Estimator(model_path=regressor) as numpy_path:
        a, b = graph.estimate(example_image), numpy_path.estimate(example_image)
    assert a is not None and b is not None
    # int8 matrices with a scale per output column: measured 0.01 deg here, at most 0.37 deg on 49 Yale B faces
    assert frames.angle_between_deg(np.array(a.direction), np.array(b.direction)) < 0.5
    assert a.ambient == pytest.approx(b.ambient, abs=5e-3)
    # confidence differs by design: the graph's is calibrated for it (lightest.confidence), the numpy path's is
    # the in-image share times input typicality


def test_float_weight_graph_is_the_numpy_path(card, example_image, tmp_path):
    """The same graph exported with float32 weights: the numpy path's answer to 0.01 deg (the structure of the
    graph, every folded matrix and the head axes, is exact; only the weights' precision differs)."""
    pytest.importorskip("tensorflow", reason="exporting a light head needs the export extra (tensorflow-cpu)")
    from export.lighthead import export_light_head

    regressor = MODELS / card.extra["regressor"]["file"]
    exported = export_light_head(regressor, tmp_path, int8_weights=False)
    assert exported.extra["weights"] == "float32"
    with Estimator(model_path=tmp_path / f"{exported.name}.tflite") as graph, \
            Estimator(model_path=regressor) as numpy_path:
        a, b = graph.estimate(example_image), numpy_path.estimate(example_image)
    assert a is not None and b is not None
    assert frames.angle_between_deg(np.array(a.direction), np.array(b.direction)) < 0.01
    assert a.ambient == pytest.approx(b.ambient, abs=1e-4)


def test_example_face_through_the_graph(example_image):
    truth = np.array(json.loads((Path(__file__).parents[1] / "examples" / "lee_perry_smith.json").read_text())[
        "light_dir_camera"])
    with Estimator() as est:
        r = est.estimate(example_image)
    assert r is not None and r.method == "model"
    assert frames.angle_between_deg(np.array(r.direction), truth) < 15.0
    assert r.light_points.shape == (340, 2)


def test_card_records_the_file_digest(head_path, card):
    from lightest.litert import file_sha256

    assert card.sha256 == file_sha256(head_path)
    assert card.extra["regressor"]["sha256"] == file_sha256(MODELS / card.extra["regressor"]["file"])


def test_a_flipped_byte_is_refused_before_use(head_path, tmp_path):
    bad = tmp_path / "lighthead.tflite"
    data = bytearray(head_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    shutil.copyfile(card_path_for(head_path), card_path_for(bad))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Estimator(model_path=bad)


def test_a_regressor_with_a_flipped_byte_is_refused(tmp_path):
    src = MODELS / "product-v5-int8.tflite"
    bad = tmp_path / src.name
    data = bytearray(src.read_bytes())
    data[-100] ^= 0x80
    bad.write_bytes(bytes(data))
    shutil.copyfile(card_path_for(src), card_path_for(bad))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        Estimator(model_path=bad)


def test_card_of_another_kind_is_refused(card):
    data = card.to_json()
    data["kind"] = "regressor"
    with pytest.raises(ValueError, match="not a light-head card"):
        LightHeadCard.from_json(data)
    data = card.to_json()
    del data["extras"]
    with pytest.raises(ValueError, match="lacks field"):
        LightHeadCard.from_json(data)


def test_light_head_needs_the_mesh(head_path):
    with pytest.raises(ValueError, match="landmarks='mediapipe'"):
        Estimator(landmarks="dlib", model_path=head_path)
