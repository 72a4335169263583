"""lightest.mirror and the tone-invariant feature blocks."""

import numpy as np
import pytest

from lightest import Estimator, frames
from lightest.features import LightPointObservation, feature_vector
from lightest.lightpoints import get_light_point_set
from lightest.mirror import merge_mirrored, mirrored
from lightest.physics import srgb_to_linear
from lightest.sampling import Samples
from training.train import srgb_encode


def _observation(gray: np.ndarray) -> LightPointObservation:
    k = len(gray)
    rng = np.random.default_rng(0)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    return LightPointObservation(
        points=rng.normal(size=(k, 3)),
        samples=Samples(gray=gray, rgb=np.repeat(gray[:, None], 3, axis=1), valid=gray > 0, radius=3),
        normals=frames.normalize(rng.normal(size=(k, 3))),
        face_size=100.0,
        head_rotation=rot,
    )


def test_logz_ignores_exposure_and_rank_ignores_any_tone_curve():
    gray = np.random.default_rng(1).uniform(60, 200, 340)
    gray[:5] = 0.0  # discs outside the image
    obs = _observation(gray)
    brighter = _observation(np.where(gray > 0, srgb_encode(srgb_to_linear(gray) * 1.4), 0.0))
    curved = _observation(np.where(gray > 0, 255 * (gray / 255) ** 0.5, 0.0))
    a, b = feature_vector(obs, ["gray_logz"]), feature_vector(brighter, ["gray_logz"])
    assert np.abs(a - b).max() < 0.02 and np.all(a[:5] == 0)
    assert np.array_equal(feature_vector(obs, ["gray_rank"]), feature_vector(curved, ["gray_rank"]))
    assert not np.allclose(feature_vector(obs, ["gray_norm"]), feature_vector(curved, ["gray_norm"]))


def test_mirroring_twice_is_the_identity_and_merge_flips_x_back():
    index = get_light_point_set("mesh-v1").mirror_index
    obs = _observation(np.random.default_rng(2).uniform(0, 255, 340))
    back = mirrored(mirrored(obs, index), index)
    assert np.allclose(back.samples.gray, obs.samples.gray) and np.allclose(back.normals, obs.normals)
    assert np.allclose(back.head_rotation, obs.head_rotation) and np.allclose(back.points, obs.points)
    out = np.array([[0.6, 0.2, 0.7, 0.3]])
    names = ["head_dir_x", "head_dir_y", "head_dir_z", "ambient"]
    # a perfectly symmetric model answers the mirrored face with the mirrored light
    assert np.allclose(merge_mirrored(out, out * [-1, 1, 1, 1], names), out)
    assert np.allclose(merge_mirrored(out, out, names)[0, 0], 0.0)
    with pytest.raises(ValueError, match="direction output"):
        merge_mirrored(out[:, 3:], out[:, 3:], ["ambient"])


def test_default_model_mirror_averages_and_answers_a_flipped_face_with_the_flipped_light(example_image):
    with Estimator(method="model") as est:
        if not est._card.mirror_average:
            pytest.skip("the bundled model does not mirror-average")
        r = est.estimate(example_image)
        m = est.estimate(np.ascontiguousarray(example_image[:, ::-1]))
    assert frames.angle_between_deg(np.array(m.direction) * [-1, 1, 1], np.array(r.direction)) < 3


def test_feature_permutation_equals_rebuilding_the_mirrored_observation():
    from lightest.mirror import feature_permutation

    index = get_light_point_set("mesh-v1").mirror_index
    gray = np.random.default_rng(3).uniform(20, 240, 340)
    gray[7] = 0.0
    obs = _observation(gray)
    blocks = ["gray_logz", "gray_norm"]
    perm = feature_permutation(blocks, index)
    assert np.allclose(feature_vector(obs, blocks)[perm], feature_vector(mirrored(obs, index), blocks), atol=1e-6)
    assert feature_permutation(["gray_norm", "normals"], index) is None
    from lightest.mirror import MirroredFeatures

    for blocks in (["gray_logz"], ["gray_norm", "normals"]):  # permutation path and rebuild path
        x = feature_vector(obs, blocks)
        assert np.allclose(MirroredFeatures("mesh-v1", blocks)(obs, x), feature_vector(mirrored(obs, index), blocks))
