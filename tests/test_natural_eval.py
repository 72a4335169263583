"""Natural-light evaluation and model pieces (issue 14): the one luminance table, the held-out split, SH in
the head frame, the metrics and the colour block."""

from __future__ import annotations

import numpy as np
import pytest

from blender_gen import envsh
from blender_gen.natural import HDRIS
from lightest import frames
from lightest.sh import LUMINANCE, luminance, relative_irradiance_error, sh_basis, sh_from_light, sh_from_shares
from training import natural_targets as nt
from training.natural_eval import (
    WHITE_XY,
    Guess,
    NaturalTruth,
    label_light_guess,
    natural_scores,
    yaleb_scores,
)
from training.natural_split import SPLIT, natural_part


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = np.radians(deg)
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


# ------------------------------------------------------------------------------------------- luminance

def test_one_luminance_table_rec709():
    assert envsh.LUMA is LUMINANCE  # the labels use lightest's table, not a copy
    assert np.allclose(LUMINANCE, envsh.RGB_TO_XYZ[1]) and LUMINANCE.sum() == pytest.approx(1.0)
    assert luminance(np.ones(3)) == pytest.approx(1.0)


def test_irradiance_error_compares_rec709_luminance():
    """A red light from the left and a blue one from the right of equal Rec.709 luminance light a gray
    scene symmetrically: the same luminance irradiance as two equal gray lights (BT.601 would see a
    brighter left side)."""
    left, right = np.array([-1.0, 0, 0.3]), np.array([1.0, 0, 0.3])
    red, blue = np.array([1 / LUMINANCE[0], 0, 0]), np.array([0, 0, 1 / LUMINANCE[2]])
    coloured = sh_from_light(left, red, np.zeros(3)) + sh_from_light(right, blue, np.zeros(3))
    gray = sh_from_light(left, np.ones(3), np.zeros(3)) + sh_from_light(right, np.ones(3), np.zeros(3))
    assert relative_irradiance_error(coloured, gray) < 1e-9
    one_side = sh_from_light(left, np.ones(3), np.zeros(3))
    assert relative_irradiance_error(one_side, gray) > 0.3


# ----------------------------------------------------------------------------------------------- split

def _row(hdri: str, rotation: float, head: str = "ict") -> dict:
    return {"hdri": hdri, "hdri_rotation_deg": rotation, "head": head, "image": "x.jpg"}


def test_split_table_covers_the_preset_and_holds_out_one_hdri_and_a_sector_of_each_other():
    assert set(SPLIT.sectors) | {SPLIT.test_hdri} == set(HDRIS) and SPLIT.test_hdri not in SPLIT.sectors
    for hdri, (test, val) in SPLIT.sectors.items():
        assert test != val
        parts = [natural_part(_row(hdri, r)) for r in np.arange(0.5, 360.0, 5.0)]
        assert parts.count("test") == parts.count("val") == 9  # one 45 deg sector each, 72 rotations
        assert natural_part(_row(hdri, test * SPLIT.sector_deg + 1.0)) == "test"
        assert natural_part(_row(hdri, val * SPLIT.sector_deg + 1.0 + 360.0)) == "val"  # rotations wrap
    assert {natural_part(_row(SPLIT.test_hdri, r)) for r in range(0, 360, 10)} == {"test"}


def test_split_keeps_the_repeated_identity_out_of_test_and_val():
    hdri, (test, val) = next(iter(SPLIT.sectors.items()))
    train_sector = next(k for k in range(8) if k not in (test, val))
    assert natural_part(_row(hdri, train_sector * 45.0 + 1, "lps")) == "train"
    assert natural_part(_row(hdri, test * 45.0 + 1, "lps")) is None
    assert natural_part(_row(SPLIT.test_hdri, 10.0, "lps")) is None


def test_split_refuses_rows_without_natural_labels():
    with pytest.raises(ValueError, match="not a natural render"):
        natural_part({"image": "a.jpg", "head": "ict"})
    with pytest.raises(ValueError, match="not in the natural split"):
        natural_part(_row("moon", 0.0))


# ------------------------------------------------------------------------------------- head-frame SH

def test_sh_in_frame_is_exact_and_inverts():
    rng = np.random.default_rng(0)
    rot = np.stack([_rot(rng.normal(size=3), a) for a in (10.0, 70.0, 150.0)])
    sh = rng.normal(size=(3, 9))
    head = nt.sh_in_frame(sh, rot)
    d = frames.normalize(rng.normal(size=(20, 3)))
    for i in range(3):  # g(d) = f(R d) at every direction
        assert np.allclose(sh_basis(d) @ head[i], sh_basis(d @ rot[i].T) @ sh[i])
    assert np.allclose(nt.sh_in_frame(head, np.transpose(rot, (0, 2, 1))), sh)


def test_targets_round_trip_and_mirror():
    rng = np.random.default_rng(1)
    rot = np.stack([_rot(rng.normal(size=3), a) for a in (5.0, 40.0)])
    d = frames.normalize(rng.normal(size=(2, 3)))
    sh = np.stack([sh_from_light(d[i], np.array([1.0, 0.9, 0.7]), np.full(3, 0.2)) for i in range(2)])
    xy = np.array([[0.33, 0.34], [0.29, 0.30]])
    y = nt.head_targets(d, np.array([0.3, 0.6]), sh, xy, rot)
    assert np.allclose(y[:, :3], np.einsum("nji,nj->ni", rot, d))
    out = nt.camera_outputs(y, rot)
    assert np.allclose(out["direction"], d) and np.allclose(out["xy"], xy) and np.allclose(out["ambient"], [0.3, 0.6])
    lum = luminance(sh)
    assert np.allclose(out["sh"][:, :, 1], lum / lum[:, :1])
    # a face mirrored left-right sees the light mirrored: the targets of the mirrored light
    m = np.diag([-1.0, 1.0, 1.0])
    y_light_mirrored = nt.head_targets(np.zeros((2, 3)), np.zeros(2), sh, xy, np.stack([np.eye(3)] * 2))
    sh_m = np.stack([sh_from_light(m @ d[i], np.array([1.0, 0.9, 0.7]), np.full(3, 0.2)) for i in range(2)])
    y_m = nt.head_targets(np.zeros((2, 3)), np.zeros(2), sh_m, xy, np.stack([np.eye(3)] * 2))
    assert np.allclose(nt.mirror_targets(y_light_mirrored)[:, 4:12], y_m[:, 4:12])


# --------------------------------------------------------------------------------------------- metrics

def _truth(n: int = 6) -> NaturalTruth:
    rng = np.random.default_rng(2)
    d = frames.normalize(rng.normal(size=(n, 3)) + np.array([0.0, 0.0, 1.5]))
    amb = rng.uniform(0.1, 0.7, n)
    sh = np.stack([sh_from_shares(d[i], 1.0, amb[i]) * [1.0, 0.95, 0.8] for i in range(n)])
    xy = np.stack([envsh.rgb_to_xy(envsh.dominant_rgb(s)) for s in sh])
    return NaturalTruth(d, amb, sh, xy, np.array([envsh.cct_duv(v)[0] for v in xy]))


def test_perfect_estimate_scores_zero_and_white_guess_scores_its_cct_gap():
    t = _truth()
    perfect = natural_scores(Guess(t.direction, t.ambient, 2.0 * t.sh, t.xy), t)
    for key in ("direction_deg_median", "sh_irradiance_error_median", "ambient_error_median", "uv_error_median"):
        assert perfect[key] == pytest.approx(0.0, abs=1e-6)
    assert perfect["cct_error_k_median"] < 5.0 and perfect["colour"] == "estimated"
    blind = natural_scores(Guess(t.direction, t.ambient, t.sh, None), t)
    white_k = envsh.cct_duv(WHITE_XY)[0]
    assert blind["colour"].startswith("white") and 6400 < white_k < 6600
    assert blind["cct_error_k_median"] == pytest.approx(np.median(np.abs(t.cct_k - white_k)), rel=1e-3)
    assert label_light_guess(t).sh.shape == t.sh.shape
    assert natural_scores(label_light_guess(t), t)["sh_irradiance_error_median"] < 1e-6  # truth is 1 light


def test_missing_faces_count_180_deg_and_wrong_light_scores_badly():
    t = _truth()
    d = t.direction.copy()
    d[:2] = np.nan
    s = natural_scores(Guess(d, t.ambient, t.sh, t.xy), t)
    assert s["faces_found"] == 4 and s["direction_deg_p90"] == pytest.approx(180.0)
    sh_flipped = np.stack([sh_from_shares(-t.direction[i], 1.0, t.ambient[i]) for i in range(len(t.ambient))])
    flipped = natural_scores(Guess(-t.direction, t.ambient, sh_flipped, t.xy), t)
    assert flipped["direction_deg_median"] == pytest.approx(180.0) and flipped["sh_irradiance_error_median"] > 0.3


def test_yaleb_elevation_bias_of_frontal_lights():
    truth = np.stack([frames.direction_from_angles(az, el) for az, el in [(0, 0), (10, 10), (20, -10), (80, 0)]])
    guess = np.stack([frames.direction_from_angles(az, el + 5) for az, el in [(0, 0), (10, 10), (20, -10), (80, 0)]])
    guess[3] = np.nan
    s = yaleb_scores(Guess(guess, np.full(4, np.nan), np.full((4, 9, 3), np.nan), None), truth)
    assert s["frontal_images"] == 3 and s["frontal_found"] == 3 and s["faces_found"] == 3
    assert s["frontal_elevation_bias_deg"] == pytest.approx(5.0, abs=1e-6)
    assert s["direction_deg_p90"] > 100  # the missing face counts 180


# ---------------------------------------------------------------------------------------------- colour

def test_colour_block_sees_a_tinted_light_and_ignores_exposure():
    from lightest.features import LightPointObservation
    from lightest.sampling import Samples
    from training.natural_model import colour_features
    from training.train import srgb_encode

    rng = np.random.default_rng(3)
    k = 60
    skin = np.array([0.5, 0.35, 0.25]) * rng.uniform(0.2, 1.0, (k, 1))  # linear, varied shading

    def obs(linear: np.ndarray) -> LightPointObservation:
        rgb = srgb_encode(linear).astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return LightPointObservation(np.zeros((k, 3)), Samples(gray, rgb, np.ones(k, bool), 2), None, 100.0)

    base = colour_features(obs(skin))
    assert np.allclose(colour_features(obs(0.5 * skin)), base, atol=0.02)  # exposure
    warm = colour_features(obs(skin * [1.3, 1.0, 0.7]))
    assert warm[0] - base[0] == pytest.approx(np.log(1.3), abs=0.03)
    assert warm[1] - base[1] == pytest.approx(np.log(0.7), abs=0.03)


# ------------------------------------------------------------------------------------------------ model

def test_product_v5_block_is_the_shipped_answer(example_image):
    from lightest import Estimator
    from lightest.observer import LightPointObserver
    from training.natural_model import ProductV5Block, synthesised_sh

    with LightPointObserver() as observer, Estimator() as shipped:
        landmarks, obs = observer.observe(example_image)
        expected = shipped.estimate_with_landmarks(example_image, landmarks)
    v = ProductV5Block()(obs)
    assert frames.angle_between_deg(obs.head_rotation @ v[:3], np.array(expected.direction)) < 0.05
    assert v[3] == pytest.approx(expected.ambient, abs=1e-3)
    assert np.allclose(v[4:], synthesised_sh(v[:3], v[3]))


def test_residual_model_starts_from_product_v5():
    """Untrained, the stacked model answers product-v5's direction, ambient and synthesised SH exactly."""
    from training.natural_model import V5_INPUTS, NaturalConfig, build_model, synthesised_sh

    cfg = NaturalConfig(name="t", features=(), v5=True, residual=True, input_noise=0.3, dropout=0.1)
    rng = np.random.default_rng(4)
    d = frames.normalize(rng.normal(size=(5, 3)))
    amb = rng.uniform(0.1, 0.6, 5)
    prior = np.concatenate([d, amb[:, None], np.stack([synthesised_sh(d[i], amb[i]) for i in range(5)])], axis=1)
    assert prior.shape[1] == V5_INPUTS
    x = np.concatenate([rng.normal(size=(5, 40)), prior], axis=1).astype(np.float32)
    y = build_model(x.shape[1], cfg).predict(x, verbose=0)
    assert np.allclose(y[:, :3], d, atol=1e-5) and np.allclose(y[:, 3], amb, atol=1e-5)
    assert np.allclose(y[:, 4:12], prior[:, 4:], atol=1e-5)


def test_tinted_targets_follow_the_labels_code():
    """White tints give the stored labels back; a warm tint moves the dominant colour toward lower CCT."""
    from training.features import FeatureSet
    from training.natural_model import all_targets, tinted_targets

    rng = np.random.default_rng(5)
    rows = []
    for _ in range(4):
        dirs = frames.normalize(rng.normal(size=(3, 3)) + np.array([0.0, 0.5, 1.0]))
        e = rng.uniform(0.2, 1.0, (3, 3))
        rows.append(envsh.lighting_label(dirs, e))
    arrays = {
        "sh_rgb": np.array([np.ravel(r["sh_rgb"]) for r in rows]),
        "dominant_dir_camera": np.array([r["dominant_dir_camera"] for r in rows]),
        "ambient_share": np.array([[r["ambient_share"]] for r in rows]),
        "dominant_xy": np.array([r["dominant_xy"] for r in rows]),
        "head_rotation": np.stack([_rot([0, 1, 0], 20.0)] * 4),
        "found": np.ones(4, bool),
    }
    fs, idx = FeatureSet(arrays, {}), np.arange(4)
    assert np.allclose(tinted_targets(fs, idx, np.ones((4, 3))), all_targets(fs, idx), atol=1e-9)
    warm = envsh.planck_rgb(3000.0) / envsh.planck_rgb(6504.0)
    y = tinted_targets(fs, idx, np.tile(warm / luminance(warm), (4, 1)))
    assert (y[:, 12] > all_targets(fs, idx)[:, 12]).all()  # chromaticity x grows: warmer
