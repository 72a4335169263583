"""Training features, train, evaluate and export on a tiny dataset made from the shipped example face."""

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from lightest import Estimator
from lightest.image_io import load_image
from tests.conftest import EXAMPLE
from training.features import FeatureSet, extract


@pytest.fixture(scope="module")
def tiny_renders(tmp_path_factory):
    """A blender_gen-style dataset: the example face mirrored and re-exposed, with consistent labels."""
    root = tmp_path_factory.mktemp("renders")
    (root / "images").mkdir()
    label = json.loads(EXAMPLE.with_suffix(".json").read_text())
    base = load_image(EXAMPLE)
    d = np.array(label["light_dir_camera"])
    rows = []
    for i in range(12):
        mirrored = i % 2 == 1
        img = base[:, ::-1] if mirrored else base
        img = np.clip(img.astype(np.float32) * (0.6 + 0.07 * i), 0, 255).astype(np.uint8)
        name = f"images/{i:06d}.png"
        cv2.imwrite(str(root / name), img)
        di = d * [-1, 1, 1] if mirrored else d
        rows.append({
            "index": i, "image": name, "head": "lps", "identity_weights": None if i < 6 else [float(i)],
            "light_dir_camera": di.tolist(), "light_dir_head": di.tolist(), "light_world_m": (1.5 * di).tolist(),
            "light_distance_m": 1.2, "ambient_ratio": 0.1, "camera_to_world": np.eye(4).tolist(),
        })  # fmt: skip
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_features_are_the_runtime_observations(tiny_renders, tmp_path):
    fs = extract(tiny_renders, "mediapipe", "mesh-v1")
    fs.save(tmp_path / "f.npz")
    loaded = FeatureSet.load(tmp_path / "f.npz")
    assert loaded.found.all() and loaded.meta["light_points"] == "mesh-v1" and len(loaded.meta["dataset_hash"]) == 64
    with Estimator(method="physics") as est:
        _, obs = est.observe(load_image(tiny_renders / "images/000003.png"))
    assert np.allclose(loaded.arrays["gray"][3], obs.samples.gray)
    assert np.allclose(loaded.arrays["head_rotation"][3], obs.head_rotation)
    from lightest.features import feature_vector

    assert np.allclose(
        loaded.matrix(("gray_norm", "pose"), np.array([3]))[0], feature_vector(obs, ("gray_norm", "pose"))
    )


def test_train_export_and_ship_round_trip(tiny_renders, tmp_path):
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    from export.convert import export
    from lightest.model_card import ModelCard, card_path_for
    from training.train import TrainConfig, train

    extract(tiny_renders, "mediapipe", "mesh-v1").save(tmp_path / "f.npz")
    cfg = TrainConfig(
        name="tiny", features=(str(tmp_path / "f.npz"),), blocks=("gray_norm", "pose"), model="parallel_direction",
        target="light_dir_head", extra_targets=("ambient_ratio", "light_distance_m"), hidden=4, epochs=3,
        extra_hidden=2, split="identity", validation_fraction=0.3, test_fraction=0.3, gamma_augment=(0.8, 1.25),
        augment_copies=1, direction_loss="chord", shared_hidden=6, quantization_aware=True,
    )  # fmt: skip
    metrics = train(cfg, tmp_path / "run")
    assert {"val", "test"} <= set(metrics) and (tmp_path / "run" / "loss.png").is_file()
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["outputs"] == ["head_dir_x", "head_dir_y", "head_dir_z", "ambient", "distance_m"]
    import keras

    model = keras.models.load_model(tmp_path / "run" / "model.keras", compile=False)
    units = [model.get_layer(f"{n}_hidden").units for n in ("dir_x", "dir_y", "dir_z", "extra1", "extra2")]
    assert units == [4, 4, 4, 2, 2]  # extra_hidden sizes the extra targets' branches only
    assert model.get_layer("shared_hidden").units == 6 and model.get_layer("dir_x_hidden").kernel.shape[0] == 6
    report = export(tmp_path / "run", tmp_path / "out")
    for variant in ("float32", "float16", "int8"):
        entry = report["variants"][variant]
        assert entry["parity"]["rows"] > 0 and "FULLY_CONNECTED" in entry["ops"]
        card = ModelCard.load(card_path_for(tmp_path / "out" / entry["file"]))
        assert card.direction_kind == "head" and card.output_scale[-1] == 3.0
    assert report["variants"]["float32"]["parity"]["max_abs_output_diff"] < 1e-4
    assert report["variants"]["int8"]["parity"]["weight_rounding_median_angle_diff_deg"] < 1e-3  # trained on the grid
    assert report["variants"]["int8"]["bytes"] < report["variants"]["float32"]["bytes"]
    with Estimator(model_path=tmp_path / "out" / "tiny-int8.tflite") as est:
        r = est.estimate(load_image(EXAMPLE))
    assert r.method == "model" and r.ambient is not None and abs(np.linalg.norm(r.direction) - 1) < 1e-9


def test_mirror_augmentation_matches_a_flipped_photo():
    from lightest.lightpoints import get_light_point_set
    from lightest.observer import LightPointObserver
    from training.train import mirrored

    img = load_image(EXAMPLE)
    with LightPointObserver() as obs:
        _, o = obs.observe(img)
        _, flipped = obs.observe(np.ascontiguousarray(img[:, ::-1]))
    m = mirrored(o, get_light_point_set("mesh-v1").mirror_index)
    assert np.corrcoef(m.samples.gray, flipped.samples.gray)[0, 1] > 0.94  # without the mirror table: -0.42
    assert np.allclose(m.head_rotation, flipped.head_rotation, atol=0.05)
    assert np.median(np.sum(m.normals * flipped.normals, axis=1)) > 0.98


def test_seed_position_model_runs_in_the_runtime_with_dlib(tiny_renders, tmp_path):
    """The thesis's setup end to end: dlib 68 -> seed79 gray -> Parallel xyz -> TFLite -> Estimator direction."""
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    pytest.importorskip("dlib", reason="the dlib extra is needed for the seed's landmarks")
    from export.convert import export
    from lightest.model_card import ModelCard, card_path_for
    from training.train import TrainConfig, train

    extract(tiny_renders, "dlib", "seed79").save(tmp_path / "seed.npz")
    cfg = TrainConfig(
        name="tiny-seed", features=(str(tmp_path / "seed.npz"),), blocks=("gray_raw",), model="parallel",
        target="light_world_m", hidden=4, epochs=2, split="random", validation_fraction=0.3,
    )  # fmt: skip
    train(cfg, tmp_path / "run")
    export(tmp_path / "run", tmp_path / "out")
    card = ModelCard.load(card_path_for(tmp_path / "out" / "tiny-seed-float32.tflite"))
    assert card.direction_kind == "seed_position" and np.allclose(card.position_to_camera, np.eye(3))
    with Estimator(landmarks="dlib", model_path=tmp_path / "out" / "tiny-seed-float32.tflite") as est:
        r = est.estimate(load_image(EXAMPLE))
    assert r.method == "model" and r.landmarks.shape == (68, 3) and r.light_points.shape == (79, 2)


def test_direction_losses_measure_the_angle():
    """1 - cos grows with the angle squared, the chord |u - v| = 2 sin(angle / 2) linearly; both ignore the
    prediction's length and the extra outputs' own error is added as MAE."""
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    from training.models import angular_loss, chord_distance, chord_loss, direction_loss

    angles = np.radians([1.0, 10.0, 60.0, 150.0])
    truth = np.stack([np.zeros(4), np.zeros(4), np.ones(4)], axis=1).astype(np.float32)
    pred = 3.0 * np.stack([np.sin(angles), np.zeros(4), np.cos(angles)], axis=1).astype(np.float32)
    assert np.allclose(np.asarray(chord_distance(truth, pred)), 2 * np.sin(angles / 2), atol=1e-4)
    assert np.allclose(np.asarray(direction_loss(truth, pred)), 1 - np.cos(angles), atol=1e-5)
    unit = pred / 3.0
    extras = np.array([[0.5, 0.2]] * 4, np.float32)
    with_extras = np.concatenate([truth, extras], axis=1), np.concatenate([unit, extras + 0.1], axis=1)
    assert np.allclose(np.asarray(chord_loss(*with_extras)), 2 * np.sin(angles / 2) + 0.1, atol=1e-4)
    assert np.allclose(np.asarray(angular_loss(*with_extras)), 1 - np.cos(angles) + 0.1, atol=1e-4)


def test_seed_configs_refuse_product_only_options():
    from training.train import TrainConfig

    seed = dict(name="s", features=("f.npz",), blocks=("gray_raw",), model="parallel", target="light_world_m")
    TrainConfig(**seed)
    for option in (
        {"input_noise": 0.3},
        {"dropout": 0.1},
        {"extra_hidden": 8},
        {"direction_loss": "chord"},
        {"shared_hidden": 64},
        {"quantization_aware": True},
    ):
        with pytest.raises(ValueError, match=f"{next(iter(option))}: only the parallel_direction model"):
            TrainConfig(**seed, **option)
    TrainConfig(**{**seed, "model": "parallel_direction", "target": "light_dir_head"}, input_noise=0.3)


def test_quantization_aware_weights_are_exact_in_int8():
    """Trained through the int8 grid and snapped, every FULLY_CONNECTED weight of the int8 export dequantizes
    to the float model's weight exactly; a model trained without it does not."""
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    from ai_edge_litert.interpreter import Interpreter

    from export.convert import convert
    from training.models import parallel_direction, snap_to_int8_grid

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20)).astype(np.float32)
    y = np.concatenate([x[:, :3] / np.linalg.norm(x[:, :3], axis=1, keepdims=True), x[:, 3:5]], axis=1)

    def worst_weight_error(quantization_aware: bool) -> float:
        model = parallel_direction(
            20, n_out=5, hidden=8, extra_hidden=4, loss="chord", shared_hidden=12, quantization_aware=quantization_aware
        )
        model.fit(x, y, epochs=2, verbose=0)
        if quantization_aware:
            snapped = snap_to_int8_grid(model)
            assert np.allclose(snapped.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
            model = snapped
        kernels = [layer.get_weights()[0].T for layer in model.layers if layer.get_weights()]
        interpreter = Interpreter(model_content=convert(model, "int8", x[:64]))
        interpreter.allocate_tensors()
        errors = []
        for op in interpreter._get_ops_details():  # each FULLY_CONNECTED's weight tensor (input 1)
            if op["op_name"] != "FULLY_CONNECTED":
                continue
            detail = interpreter._get_tensor_details(op["inputs"][1], 0)
            weights = interpreter.get_tensor(detail["index"]) * detail["quantization_parameters"]["scales"][:, None]
            errors.append(min(np.abs(weights - k).max() for k in kernels if k.shape == weights.shape))
        assert len(errors) == len(kernels)
        return max(errors)

    assert worst_weight_error(True) < 1e-6
    assert worst_weight_error(False) > 1e-4


def test_light_head_graph_of_a_trained_model_matches_its_regressor(tiny_renders, tmp_path):
    """Train (gray_logz, mirror averaging), export the regressor, build the light-head graph from its float32
    file with float32 weights: the graph and the regressor run by the numpy path give the same light (the
    shipped graph's int8 matrices are measured against it in tests/test_lighthead.py)."""
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    from export.convert import export
    from export.lighthead import export_light_head
    from lightest import frames
    from training.train import TrainConfig, train

    extract(tiny_renders, "mediapipe", "mesh-v1").save(tmp_path / "f.npz")
    cfg = TrainConfig(
        name="tinyhead", features=(str(tmp_path / "f.npz"),), blocks=("gray_logz",), model="parallel_direction",
        target="light_dir_head", extra_targets=("ambient_ratio", "light_distance_m"), hidden=4, epochs=3,
        extra_hidden=2, split="identity", validation_fraction=0.3, test_fraction=0.3, mirror=True,
        mirror_average=True, shared_hidden=6,
    )  # fmt: skip
    train(cfg, tmp_path / "run")
    export(tmp_path / "run", tmp_path / "out")
    card = export_light_head(tmp_path / "out" / "tinyhead-float32.tflite", tmp_path / "head", int8_weights=False)
    assert card.mirror_average and card.extras == ("ambient", "distance_m")
    image = load_image(EXAMPLE)
    with Estimator(model_path=tmp_path / "head" / "lighthead-tinyhead.tflite") as graph, Estimator(
        model_path=tmp_path / "out" / "tinyhead-float32.tflite"
    ) as numpy_path:
        a, b = graph.estimate(image), numpy_path.estimate(image)
    assert frames.angle_between_deg(np.array(a.direction), np.array(b.direction)) < 0.01
    assert a.ambient == pytest.approx(b.ambient, abs=1e-4)


def test_fine_tuning_starts_from_the_shipped_regressor(tiny_renders, tmp_path):
    pytest.importorskip("tensorflow", reason="the train extra (tensorflow-cpu) is needed to train")
    from lightest.litert import open_interpreter
    from lightest.model_card import ModelCard, card_path_for
    from training.models import parallel_direction
    from training.train import REPO, TrainConfig, load_product_weights, start_card, train

    shipped = REPO / "lightest/models/product-v5-float32.tflite"
    card = ModelCard.load(card_path_for(shipped))
    extract(tiny_renders, "mediapipe", "mesh-v1").save(tmp_path / "f.npz")
    fs = FeatureSet.load(tmp_path / "f.npz")
    cfg = TrainConfig(
        name="tuned", features=(str(tmp_path / "f.npz"),), blocks=card.features, model="parallel_direction",
        target="light_dir_head", extra_targets=("ambient_ratio", "light_distance_m"), hidden=48, extra_hidden=8,
        shared_hidden=96, mirror_average=True, init_from=str(shipped),
    )  # fmt: skip
    n = len(card.input_mean)
    assert start_card(cfg, fs, n) == card
    model = parallel_direction(n, n_out=5, hidden=48, extra_hidden=8, shared_hidden=96)
    load_product_weights(model, cfg)
    x = np.random.default_rng(0).normal(size=(4, n)).astype(np.float32)
    interp = open_interpreter(shipped)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    interp.resize_tensor_input(inp["index"], x.shape)
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    assert np.allclose(model.predict(x, verbose=0), interp.get_tensor(out["index"]), atol=1e-4)
    with pytest.raises(ValueError, match=r"is \(96, 48\), the config.s \(64, 48\)"):  # another shape: refused
        load_product_weights(parallel_direction(n, n_out=5, hidden=48, extra_hidden=8, shared_hidden=64), cfg)
    with pytest.raises(ValueError, match="not this config's"):  # no shared layer: a different architecture
        load_product_weights(parallel_direction(n, n_out=5, hidden=48, extra_hidden=8), cfg)
    for change, message in (({"blocks": ("gray_norm",)}, "features"), ({"mirror_average": False}, "mirror_average")):
        with pytest.raises(ValueError, match=message):
            start_card(replace(cfg, **change), fs, n)
    # a short fine-tuning run on the tiny renders keeps the start model's standardisation
    train(replace(cfg, epochs=2, validation_fraction=0.3, learning_rate=1e-4), tmp_path / "run")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert np.allclose(run["input_mean"], card.input_mean) and np.allclose(run["input_std"], card.input_std)


def test_config_mistakes_are_named(tiny_renders, tmp_path):
    from training.train import TrainConfig, split_rows, targets

    config = tmp_path / "c.toml"
    config.write_text('name = "x"\nfeatures = ["f"]\nblocks = ["gray_logz"]\nmodel = "fnn"\nexclude_hdri = "city"\n')
    with pytest.raises(ValueError, match=r"exclude_hdri must be a list, e.g. exclude_hdri = \['city'\]"):
        TrainConfig.load(config)
    fs = extract(tiny_renders, "mediapipe", "mesh-v1")
    cfg = TrainConfig(name="x", features=(), blocks=("gray_logz",), model="fnn", exclude_hdri=("citty",))
    with pytest.raises(ValueError, match="needs features with an 'hdri' label"):
        split_rows(FeatureSet({k: v for k, v in fs.arrays.items() if k != "hdri"}, fs.meta), cfg)
    fs.arrays["hdri"] = np.full(len(fs), "city")
    with pytest.raises(ValueError, match=r"exclude_hdri names \['citty'\], which light no render"):
        split_rows(fs, cfg)
    assert len(split_rows(fs, replace(cfg, exclude_hdri=("city",)))["train"]) == 0
    fs.arrays["light_distance_m"][3] = np.nan
    with pytest.raises(ValueError, match="1 of 12 rows have no light_distance_m label"):
        targets(fs, replace(cfg, extra_targets=("light_distance_m",)), np.arange(12))


def test_config_values_of_the_wrong_type_are_named():
    """A TOML string where a bool or number belongs used to run (``quantization_aware = "false"`` meant on)."""
    from training.train import TrainConfig

    base = {"name": "x", "features": ("f",), "blocks": ("gray_logz",), "model": "parallel_direction"}
    for key, value, kind in (("quantization_aware", "false", "bool"), ("epochs", "2", "int"),
                             ("learning_rate", "fast", "float"), ("epochs", True, "int")):  # fmt: skip
        with pytest.raises(ValueError, match=f"{key} must be {kind}, got {value!r}"):
            TrainConfig(**base, **{key: value})
    assert TrainConfig(**base, learning_rate=1).learning_rate == 1  # an int is a fine float


def test_train_command_does_not_replace_a_run(tmp_path):
    from training.train import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    config = tmp_path / "c.toml"
    config.write_text('name = "x"\nfeatures = ["f"]\nblocks = ["gray_logz"]\nmodel = "fnn"\n')
    with pytest.raises(ValueError, match="already holds a run; give another --out, or --overwrite"):
        main(["--config", str(config), "--out", str(run)])
    assert (run / "run.json").read_text() == "{}"
