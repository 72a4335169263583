"""Per-stage latency, 1 thread, on 640x480 and 1280x720 frames (``pytest mobile_bench``).

The ratios against bare MediaPipe are measured interleaved in one process by ``python -m mobile_bench compare``;
these benchmarks time the stages one by one.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from lightest import Estimator
from lightest.estimator import default_model_path
from lightest.features import feature_vector
from lightest.lighthead import CROP_DISC_RADIUS, LightHead, LightHeadCard
from lightest.model_card import ModelCard, card_path_for
from lightest.observer import LightPointObserver
from lightest.physics import fit_lambertian, srgb_to_linear
from lightest.sampling import sample_crop
from lightest.tflite_runner import TFLiteRegressor
from mobile_bench.compare import no_face_frame
from mobile_bench.conftest import SEED_RUN, model_variant

pytestmark = pytest.mark.benchmark(min_rounds=20, warmup=True)


def test_decode_jpeg(benchmark, frame_bgr):
    ok, jpeg = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    benchmark.group = f"decode {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
    out = benchmark(cv2.imdecode, jpeg, cv2.IMREAD_COLOR)
    assert out.shape == frame_bgr.shape


@pytest.mark.parametrize("mode", ["image", "video"])
def test_landmarks(benchmark, frame_bgr, mode):
    """Face detection + mesh (video mode tracks from the previous mesh and skips detection)."""
    with Estimator(running_mode=mode, num_threads=1) as est:
        benchmark.group = f"landmarks {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
        assert benchmark(est.detect_landmarks, frame_bgr) is not None


def test_light_head(benchmark, frame_bgr):
    """The light-head graph on one face (sampling, features, regressor twice, head axes), on a found mesh."""
    path = default_model_path()
    if path is None:
        pytest.skip("no bundled light head (python -m export lighthead ... --install)")
    head = LightHead(path, LightHeadCard.from_json(json.loads(card_path_for(path).read_text())), num_threads=1)
    with Estimator(num_threads=1) as est:
        crop = est.detect_landmarks(frame_bgr).crop
    size = (frame_bgr.shape[1], frame_bgr.shape[0])
    benchmark.group = "light head"
    out = benchmark(head.run, crop.image, crop.points, crop.to_image, size)
    assert np.isfinite(out.direction).all()


def test_sampling(benchmark, frame_bgr):
    """The numpy twin of the graph's sampling (training features, physics): 340 discs in the face crop."""
    with LightPointObserver(normals=False) as obs:
        lm = obs.detect(frame_bgr)
        ids = obs.points.a
    size = (frame_bgr.shape[1], frame_bgr.shape[0])
    benchmark.group = "light head"
    s = benchmark(sample_crop, lm.crop.image, lm.crop.points[ids], lm.crop.to_image, size, CROP_DISC_RADIUS)
    assert s.valid.all()


@pytest.mark.parametrize("variant", ["float32", "float16", "int8"])
def test_regressor_invoke(benchmark, variant):
    path = model_variant(variant)
    runner = TFLiteRegressor(path, num_threads=1)
    x = np.random.default_rng(0).normal(size=runner.input_size).astype(np.float32)
    benchmark.group = "regressor"
    benchmark.extra_info["bytes"] = path.stat().st_size
    benchmark.extra_info["ops"] = ModelCard.load(card_path_for(path)).extra.get("export", {}).get("ops")
    assert benchmark(runner.predict, x).shape == (runner.output_size,)


def test_physics_fit(benchmark, frame_bgr):
    with LightPointObserver() as obs:
        _, o = obs.observe(frame_bgr)
    benchmark.group = "physics"
    assert benchmark(lambda: fit_lambertian(srgb_to_linear(o.samples.gray), o.normals)) is not None


@pytest.mark.parametrize("method", ["model", "physics"])
@pytest.mark.parametrize("mode", ["image", "video"])
def test_end_to_end(benchmark, frame_bgr, method, mode):
    """Frame in, LightEstimate out: the default light head (``model``) or the physics fit."""
    kwargs = {} if method == "model" else {"method": "physics"}
    with Estimator(running_mode=mode, num_threads=1, **kwargs) as est:
        benchmark.group = f"end-to-end {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
        assert benchmark(est.estimate, frame_bgr) is not None


def test_no_face(benchmark, frame_bgr):
    """Image mode on a frame without a face: every detector and the bounded retries run, then None."""
    blank = no_face_frame(frame_bgr)
    with Estimator(num_threads=1) as est:
        benchmark.group = f"end-to-end {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
        assert benchmark(est.estimate, blank) is None


@pytest.fixture(scope="module")
def seed_keras():
    """The seed's Parallel model as the thesis ran it (Keras) and one 79-value input sample. Uses the trained
    run when present; otherwise the same architecture untrained (its speed does not depend on the weights)."""
    pytest.importorskip("keras", reason="the train extra is needed for the seed's Keras path")
    from training.models import parallel
    from training.runs import KerasRun

    model = KerasRun.load(SEED_RUN).model if (SEED_RUN / "run.json").is_file() else parallel(79)
    x = np.random.default_rng(0).normal(size=(1, model.input_shape[-1])).astype(np.float32)
    return model, x


def test_seed_keras_predict(benchmark, seed_keras):
    model, x = seed_keras
    benchmark.group = "regressor"
    benchmark(model.predict, x, verbose=0)


def test_seed_keras_call(benchmark, seed_keras):
    model, x = seed_keras
    benchmark.group = "regressor"
    benchmark(lambda: model(x, training=False))


def test_feature_vector(benchmark, frame_bgr):
    with LightPointObserver(normals=False) as obs:
        _, o = obs.observe(frame_bgr)
    benchmark.group = "light head"
    assert benchmark(feature_vector, o, ("gray_logz",)).shape == (340,)
