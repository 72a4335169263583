"""Per-stage latency, 1 thread, on 640x480 and 1280x720 frames (``pytest mobile_bench``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lightest import Estimator
from lightest.features import feature_vector
from lightest.image_io import to_bgr
from lightest.mirror import MirroredFeatures, merge_mirrored
from lightest.model_card import ModelCard, card_path_for
from lightest.observer import LightPointObserver
from lightest.physics import fit_lambertian, srgb_to_linear
from lightest.sampling import disc_radius, sample_discs
from lightest.tflite_runner import TFLiteRegressor
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
    """Face detection + landmarks (video mode tracks and skips detection on later frames)."""
    with LightPointObserver(video=mode == "video", normals=False) as obs:
        benchmark.group = f"landmarks {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
        assert benchmark(obs.detect, to_bgr(frame_bgr)) is not None


def test_sampling(benchmark, frame_bgr):
    """Disc sampling of all 340 mesh light-points."""
    with LightPointObserver() as obs:
        lm = obs.detect(frame_bgr)
        points = obs.points.locate(lm)
    radius = disc_radius(lm.size)
    benchmark.group = "light head"
    s = benchmark(sample_discs, frame_bgr, points, radius)
    assert s.valid.all()


def test_light_head(benchmark, frame_bgr):
    """Sampling and the regressor (the "light head"): light-points, disc sampling, head axes, features,
    standardisation and the int8 invoke (twice, face + mirror image, when the card mirror-averages), on
    landmarks already found."""
    path = model_variant("int8")
    card = ModelCard.load(card_path_for(path))
    runner = TFLiteRegressor(path, num_threads=1)
    mean, std = np.asarray(card.input_mean), np.asarray(card.input_std)
    mirror = MirroredFeatures(card.light_points, card.features) if card.mirror_average else None
    with LightPointObserver(light_points=card.light_points, normals=False) as obs:
        lm = obs.detect(frame_bgr)

        def light_head():
            o = obs.measure(frame_bgr, lm)
            x = feature_vector(o, card.features)
            out = runner.predict((x - mean) / std)
            if mirror is None:
                return out
            return merge_mirrored(out, runner.predict((mirror(o, x) - mean) / std), card.outputs)

        benchmark.group = "light head"
        assert benchmark(light_head).shape == (len(card.outputs),)


def test_after_landmarks(benchmark, frame_bgr):
    """Everything after landmarks through the public API, including building the LightEstimate (SH etc.)."""
    with Estimator(model_path=model_variant("int8")) as est:
        lm = est.detect_landmarks(frame_bgr)
        benchmark.group = "light head"
        assert benchmark(est.estimate_with_landmarks, frame_bgr, lm) is not None


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
    kwargs = {"model_path": model_variant("int8")} if method == "model" else {"method": "physics"}
    with Estimator(running_mode=mode, num_threads=1, **kwargs) as est:
        benchmark.group = f"end-to-end {frame_bgr.shape[1]}x{frame_bgr.shape[0]}"
        assert benchmark(est.estimate, frame_bgr) is not None


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
    assert benchmark(feature_vector, o, ("gray_norm", "pose")).shape == (349,)
