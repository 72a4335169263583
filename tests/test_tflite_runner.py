"""The LiteRT runner and the model path of Estimator, with small models built here (needs TensorFlow)."""

import json

import numpy as np
import pytest

from lightest import Estimator, frames
from lightest.model_card import ModelCard, card_path_for
from lightest.tflite_runner import TFLiteRegressor

tf = pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) builds the test models")


def _linear_tflite(path, weights, bias, int8=False):
    """A Dense-only model y = x W + b converted to .tflite (optionally full-int8)."""
    import keras

    n_in, n_out = weights.shape
    inp = keras.Input((n_in,))
    dense = keras.layers.Dense(n_out)
    model = keras.Model(inp, dense(inp))
    dense.set_weights([weights.astype(np.float32), bias.astype(np.float32)])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.uniform(-2, 2, (1, n_in)).astype(np.float32)] for _ in range(200))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return model


@pytest.mark.parametrize("int8", [False, True])
def test_runner_matches_keras(tmp_path, int8):
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(10, 3)) * 0.3, rng.normal(size=3) * 0.1
    model = _linear_tflite(tmp_path / "m.tflite", w, b, int8=int8)
    runner = TFLiteRegressor(tmp_path / "m.tflite")
    assert runner.input_size == 10 and runner.output_size == 3
    assert runner.input_dtype == (np.int8 if int8 else np.float32)
    x = rng.uniform(-1.5, 1.5, 10).astype(np.float32)
    expected = model(x[None]).numpy()[0]
    assert np.allclose(runner.predict(x), expected, atol=0.06 if int8 else 1e-5)
    with pytest.raises(ValueError, match="expects 10 inputs"):
        runner.predict(np.zeros(4))


def test_runner_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        TFLiteRegressor(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"definitely not a flatbuffer")
    with pytest.raises(ValueError, match="not a loadable TFLite model"):
        TFLiteRegressor(junk)
    with pytest.raises(ValueError, match="num_threads"):
        TFLiteRegressor(junk, num_threads=0)


def test_estimator_model_path_feeds_the_card_features(tmp_path, example_image):
    """A hand-built 'model' that returns the physics fit's own linear solution must agree with physics.

    The model reads ``normals`` and ``gray_norm`` features; we make it output the mean normal weighted by
    brightness, a crude but deterministic direction. The check is that the runtime builds the features
    in the card's order, standardises them and decodes dir_x/y/z into a unit camera-frame direction.
    """
    from lightest.features import feature_vector

    k = 340
    n_in = k + 3 * k  # gray_norm then normals
    w = np.zeros((n_in, 3))
    for axis in range(3):
        w[k + axis :: 3, axis][:k] = 1.0 / k  # mean normal
    _linear_tflite(tmp_path / "m.tflite", w, np.zeros(3))
    card = ModelCard(
        name="mean-normal",
        light_points="mesh-v1",
        features=("gray_norm", "normals"),
        input_mean=(0.0,) * n_in,
        input_std=(1.0,) * n_in,
        outputs=("dir_x", "dir_y", "dir_z"),
    )
    card.save(card_path_for(tmp_path / "m.tflite"))
    with Estimator(model_path=tmp_path / "m.tflite") as est:
        assert est.method == "model"
        r = est.estimate(example_image)
        _, obs = est.observe(example_image)
    x = feature_vector(obs, card.features)
    expected = frames.normalize(x[k:].reshape(-1, 3).mean(axis=0))
    assert r.method == "model"
    assert np.allclose(r.direction, expected, atol=1e-4)
    assert r.ambient is None and r.intensity is None and 0 <= r.confidence <= 1


def test_card_and_model_must_agree(tmp_path):
    _linear_tflite(tmp_path / "m.tflite", np.zeros((5, 3)), np.zeros(3))
    card = {
        "schema_version": 1,
        "light_points": "mesh-v1",
        "features": ["gray_norm"],
        "input_mean": [0.0] * 7,
        "input_std": [1.0] * 7,
        "outputs": ["dir_x", "dir_y", "dir_z"],
    }
    card_path_for(tmp_path / "m.tflite").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="takes 5 inputs, card says 7"):
        Estimator(model_path=tmp_path / "m.tflite")
    card["outputs"] = ["dir_x", "dir_y", "speed"]
    card_path_for(tmp_path / "m.tflite").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="unknown outputs"):
        Estimator(model_path=tmp_path / "m.tflite")
    card_path_for(tmp_path / "m.tflite").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Estimator(model_path=tmp_path / "m.tflite")
    card.update(outputs=["dir_x", "dir_y", "dir_z"], input_mean=[0.0] * 5, input_std=[1.0] * 5)
    card_path_for(tmp_path / "m.tflite").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=r"landmarks=.dlib. gives dlib68"):
        Estimator(model_path=tmp_path / "m.tflite", landmarks="dlib")
