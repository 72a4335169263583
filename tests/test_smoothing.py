"""Video filtering: the One Euro filter, the hold over gaps, and Estimator.estimate_for_video's contract."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lightest import Estimator, EstimatorOptions, SmoothingOptions, frames
from lightest.smoothing import LightSmoother, OneEuroFilter


def _estimate(direction: np.ndarray, ambient: float = 0.2):
    from lightest.result import LightEstimate
    from lightest.sh import sh_from_shares

    d = frames.normalize(direction)
    return LightEstimate(direction=tuple(d), confidence=0.9, face_box=(0, 0, 10, 10), landmarks=np.zeros((468, 3)),
                         light_points=np.zeros((340, 2)), sh=sh_from_shares(d, 0.8, ambient), method="model",
                         ambient=ambient, intensity=0.8)  # fmt: skip


def test_one_euro_smooths_noise_and_follows_a_step():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff_hz=0.5, beta=1.5, derivative_cutoff_hz=1.0)
    noisy = [f(np.array([1.0 + 0.02 * rng.normal()]), i / 30) for i in range(60)]
    assert np.std(np.diff(np.ravel(noisy[10:]))) < 0.2 * 0.02 * np.sqrt(2)  # frame-to-frame steps shrink
    out = [f(np.array([2.0]), (60 + i) / 30)[0] for i in range(10)]
    assert out[0] > 1.3 and abs(out[-1] - 2.0) < 0.02  # a real move is followed within a few frames
    f.reset()
    assert f(np.array([5.0]), 0.0)[0] == 5.0  # first sample passes through


def test_smoother_keeps_unit_directions_and_rebuilds_sh():
    s = LightSmoother()
    a, b = _estimate(np.array([0.0, 0.0, 1.0])), _estimate(np.array([0.0, 1.0, 1.0]))
    s.update(a, 0)
    r = s.update(b, 33)
    assert np.linalg.norm(r.direction) == pytest.approx(1.0)
    assert 0 < frames.angle_between_deg(np.array(r.direction), np.array(a.direction)) < 45
    assert np.allclose(frames.normalize(r.sh[[3, 1, 2], 0]), r.direction, atol=1e-6)


def test_hold_over_short_gaps_then_none():
    s = LightSmoother(SmoothingOptions(hold_ms=100))
    e = _estimate(np.array([0.3, 0.2, 1.0]))
    first = s.update(e, 0)
    for t in (66, 100):
        held = s.update(None, t)
        assert held is not None and held.held and not first.held
        assert held == replace(first, held=True)
    assert s.update(None, 133) is None
    assert s.update(e, 166).direction == pytest.approx(e.direction)  # a new start, unfiltered


def test_disabled_filter_passes_estimates_through():
    s = LightSmoother(SmoothingOptions(enabled=False))
    a, b = _estimate(np.array([0.0, 0.0, 1.0])), _estimate(np.array([1.0, 0.0, 0.0]))
    s.update(a, 0)
    assert s.update(b, 33) is b


def test_options_are_checked():
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        SmoothingOptions(min_cutoff_hz=0)
    with pytest.raises(ValueError, match="hold_ms"):
        SmoothingOptions(hold_ms=-1)
    with pytest.raises(ValueError, match="smoothing must be a SmoothingOptions"):
        EstimatorOptions(smoothing={"beta": 1})
    for name in ("beta", "min_cutoff_hz", "hold_ms"):
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            SmoothingOptions(**{name: float("nan")})
    assert SmoothingOptions(beta=np.float32(1.0)).beta == 1.0


def test_estimator_options_take_numpy_ints_and_refuse_positional_strings():
    assert EstimatorOptions(max_faces=np.int64(3), num_threads=np.int32(2)).max_faces == 3
    with pytest.raises(ValueError, match="max_faces must be a positive int"):
        EstimatorOptions(max_faces=True)
    with pytest.raises(TypeError, match="pass settings by name"):
        Estimator("video")


def test_leaving_with_keeps_the_blocks_own_exception(example_image):
    """A live-stream callback failed and the block raised too: the block's exception is what propagates."""

    def broken(result: object, image: np.ndarray, timestamp_ms: float) -> None:
        raise KeyError("callback bug")

    with pytest.raises(ZeroDivisionError), Estimator(running_mode="live_stream", result_callback=broken) as est:
        est.estimate_async(example_image, 0)
        est._worker._thread.join(timeout=30)
        raise ZeroDivisionError("the app's own error")


def test_estimate_for_video_contract(example_image):
    with Estimator() as est, pytest.raises(ValueError, match="running_mode='video'"):
        est.estimate_for_video(example_image, 0)
    with Estimator(running_mode="video") as est:
        first = est.estimate_for_video(example_image, 0)
        assert first is not None
        held = est.estimate_for_video(np.full_like(example_image, 128), 33)
        assert held is not None and held.held and held.direction == first.direction and not first.held
        with pytest.raises(ValueError, match="increase monotonically"):
            est.estimate_for_video(example_image, 33)
        with pytest.raises(ValueError, match="finite number"):
            est.estimate_for_video(example_image, float("nan"))
        est.reset()
        assert est.estimate_for_video(example_image, 0) is not None  # a new stream may start at 0 again
