"""Live-stream mode (MediaPipe Tasks' LIVE_STREAM): estimate_async + result_callback, latest frame wins."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lightest import Estimator, EstimatorOptions
from lightest.live_stream import LatestFrameWorker


class Collector:
    """A result_callback that records what it gets and can make the worker wait."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, np.ndarray, int]] = []
        self.delivered = threading.Event()
        self.entered = threading.Event()  # a callback has started (the worker is busy with that frame)
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, result: object, image: np.ndarray, timestamp_ms: float) -> None:
        self.entered.set()
        self.gate.wait(timeout=30)
        self.calls.append((result, image, timestamp_ms))
        self.delivered.set()

    def wait(self) -> None:
        assert self.delivered.wait(timeout=30), "no callback within 30 s"
        self.delivered.clear()


def test_options_require_a_callback_only_in_live_stream_mode():
    with pytest.raises(ValueError, match="needs a result_callback"):
        EstimatorOptions(running_mode="live_stream")
    with pytest.raises(ValueError, match="needs a result_callback"):
        EstimatorOptions(running_mode="live_stream", result_callback="not callable")
    for mode in ("image", "video"):
        with pytest.raises(ValueError, match="result_callback is for running_mode='live_stream'"):
            EstimatorOptions(running_mode=mode, result_callback=lambda *a: None)


def test_same_answers_as_video_mode_frame_by_frame(example_image):
    """Waiting for each callback before the next frame, live stream and video mode see the same stream."""
    shifted = [np.roll(example_image, s, axis=1) for s in (0, 1, 2, 1)]
    got = Collector()
    with Estimator(running_mode="live_stream", result_callback=got) as live, Estimator(running_mode="video") as video:
        for i, frame in enumerate(shifted):
            live.estimate_async(frame, 33 * i)
            got.wait()
            want = video.estimate_for_video(frame, 33 * i)
            result, image, timestamp = got.calls[-1]
            assert timestamp == 33 * i
            assert np.array_equal(image, frame)
            assert result is not None and want is not None
            np.testing.assert_allclose(result.direction, want.direction, atol=1e-9)
            assert result.confidence == pytest.approx(want.confidence)
        assert live.frames_dropped == 0


def test_busy_worker_keeps_only_the_newest_frame_and_close_finishes_it(example_image):
    got = Collector()
    est = Estimator(running_mode="live_stream", result_callback=got)
    got.gate.clear()  # the first frame's callback blocks: the worker is busy
    est.estimate_async(example_image, 0)
    assert got.entered.wait(timeout=30)
    for t in range(1, 10):
        est.estimate_async(example_image, t)  # each replaces the one waiting
    assert est.frames_dropped == 8
    got.gate.set()
    est.close()  # finishes frame 0 and the newest waiting one, 9
    assert [c[2] for c in got.calls] == [0, 9]
    assert all(c[0] is not None for c in got.calls)
    with pytest.raises(RuntimeError, match="closed"):
        est.estimate_async(example_image, 10)


def test_the_caller_may_reuse_its_buffer(example_image):
    got = Collector()
    frame = example_image.copy()
    with Estimator(running_mode="live_stream", result_callback=got) as est:
        got.gate.clear()
        est.estimate_async(frame, 0)
        frame[:] = 0  # the camera writes its next frame into the same buffer
        got.gate.set()
        got.wait()
    assert np.array_equal(got.calls[0][1], example_image)
    assert got.calls[0][0] is not None


def test_bad_calls_fail_at_once_in_the_callers_thread(example_image):
    got = Collector()
    with Estimator(running_mode="live_stream", result_callback=got) as est:
        est.estimate_async(example_image, 100)
        with pytest.raises(ValueError, match="increase monotonically"):
            est.estimate_async(example_image, 100)
        with pytest.raises(ValueError, match="finite number"):
            est.estimate_async(example_image, float("nan"))
        with pytest.raises(ValueError, match="dtype must be uint8"):
            est.estimate_async(example_image.astype(np.float32), 200)
        for call in (est.estimate, est.estimate_all, est.detect_landmarks, est.observe):
            with pytest.raises(ValueError, match="not available in running_mode='live_stream'"):
                call(example_image)
        with pytest.raises(ValueError, match="needs running_mode='video'"):
            est.estimate_for_video(example_image, 300)
        est.reset()  # a new stream: timestamps may start again
        est.estimate_async(example_image, 0)
    assert [c[2] for c in got.calls][-1] == 0
    with Estimator() as image_mode, pytest.raises(ValueError, match="needs running_mode='live_stream'"):
        image_mode.estimate_async(example_image, 0)


def broken_callback(result: object, image: np.ndarray, timestamp_ms: float) -> None:
    raise KeyError("app bug")


def test_a_callback_error_is_raised_by_the_next_call(example_image):
    est = Estimator(running_mode="live_stream", result_callback=broken_callback)
    est.estimate_async(example_image, 0)
    est._worker._thread.join(timeout=30)  # the worker stops on the error
    with pytest.raises(RuntimeError, match="result_callback or estimate raised KeyError") as info:
        est.estimate_async(example_image, 1)
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(RuntimeError, match="stopped after an error"):
        est.estimate_async(example_image, 2)
    est.close()  # the error was raised already: close is quiet
    with pytest.raises(RuntimeError, match="closed"):
        est.estimate_async(example_image, 3)


def test_close_raises_an_error_nobody_saw(example_image):
    est = Estimator(running_mode="live_stream", result_callback=broken_callback)
    est.estimate_async(example_image, 0)
    with pytest.raises(RuntimeError, match="KeyError"):
        est.close()
    with pytest.raises(RuntimeError, match="closed"):
        est.estimate_async(example_image, 1)


def test_close_from_inside_the_callback_does_not_hang(example_image):
    holder: dict[str, Estimator] = {}
    done = threading.Event()

    def close_now(result: object, image: np.ndarray, timestamp_ms: float) -> None:
        holder["est"].close()
        done.set()

    holder["est"] = est = Estimator(running_mode="live_stream", result_callback=close_now)
    est.estimate_async(example_image, 0)
    assert done.wait(timeout=30)
    est._worker._thread.join(timeout=30)
    assert not est._worker._thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        est.estimate_async(example_image, 1)


def test_worker_counts_every_frame_once():
    """Without a model: every submitted frame is delivered or dropped, never both, never lost."""
    seen: list[int] = []
    release = threading.Event()

    def step(frame: np.ndarray, timestamp_ms: float, generation: int) -> None:
        release.wait(timeout=30)

    worker = LatestFrameWorker(step, lambda result, image, t: seen.append(t))
    frame = np.zeros((4, 4, 3), np.uint8)
    for t in range(100):
        worker.submit(frame, t)
        if t == 50:
            release.set()
    worker.close()
    assert len(seen) + worker.frames_dropped == worker.frames_submitted == 100
    assert seen == sorted(seen) and seen[-1] == 99


def test_reset_drops_the_old_streams_frames(example_image):
    """A frame waiting when reset() comes is dropped; the new stream's frames follow, timestamps from 0 again."""
    got = Collector()
    est = Estimator(running_mode="live_stream", result_callback=got)
    got.gate.clear()
    est.estimate_async(example_image, 1000)
    assert got.entered.wait(timeout=30)  # frame 1000 is in its callback
    est.estimate_async(example_image, 1033)  # waits
    est.reset()
    est.estimate_async(np.zeros_like(example_image), 0)  # the new stream: a frame without a face
    got.gate.set()
    est.close()
    assert [c[2] for c in got.calls] == [1000, 0]
    assert got.calls[1][0] is None  # nothing held over from the old stream's face
    assert est.frames_dropped == 1


def test_worker_drops_stale_frames_silently():
    """The worker's contract without a model: a step raising StaleFrame drops its frame, no callback."""
    from lightest.live_stream import StaleFrame

    seen: list[float] = []
    delivered, stepped = threading.Event(), threading.Event()

    def step(frame: np.ndarray, timestamp_ms: float, generation: int) -> None:
        stepped.set()
        if timestamp_ms == 1:
            raise StaleFrame

    def callback(result: object, image: np.ndarray, timestamp_ms: float) -> None:
        seen.append(timestamp_ms)
        delivered.set()

    worker = LatestFrameWorker(step, callback)
    frame = np.zeros((4, 4, 3), np.uint8)
    worker.submit(frame, 0)
    assert delivered.wait(timeout=30)
    stepped.clear()
    worker.submit(frame, 1)
    assert stepped.wait(timeout=30)
    worker.submit(frame, 2)
    worker.close()
    assert seen == [0, 2] and worker.frames_dropped == 1 and worker.frames_submitted == 3


def test_an_estimate_error_is_raised_by_the_next_call():
    def step(frame: np.ndarray, timestamp_ms: float, generation: int) -> None:
        raise ZeroDivisionError("estimate failed")

    worker = LatestFrameWorker(step, lambda result, image, t: None)
    worker.submit(np.zeros((4, 4, 3), np.uint8), 0)
    worker._thread.join(timeout=30)
    with pytest.raises(RuntimeError, match="ZeroDivisionError") as info:
        worker.submit(np.zeros((4, 4, 3), np.uint8), 1)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    worker.close()  # raised already: quiet


def test_every_sync_call_is_refused_in_live_stream_mode(example_image, tmp_path):
    with Estimator(running_mode="live_stream", result_callback=lambda *a: None) as est:
        with pytest.raises(ValueError, match="estimate_path"):
            est.estimate_path(tmp_path / "face.png")
        with pytest.raises(ValueError, match="estimate_timed"):
            est.estimate_timed(example_image)


def test_an_unclosed_estimator_is_collected_and_its_thread_ends(example_image):
    """Forgetting close(): once the estimator is unreachable its worker thread stops, with a ResourceWarning."""
    import gc
    import weakref

    got = Collector()
    est = Estimator(running_mode="live_stream", result_callback=got)
    est.estimate_async(example_image, 0)
    got.wait()
    thread, alive = est._worker._thread, weakref.ref(est)
    with pytest.warns(ResourceWarning, match="without close"):
        del est
        gc.collect()
    assert alive() is None
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_close_then_collection_is_quiet(example_image, recwarn):
    import gc

    est = Estimator(running_mode="live_stream", result_callback=lambda *a: None)
    est.close()
    del est
    gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]


def test_reset_after_an_error_says_the_stream_has_stopped(example_image):
    def bad(result, image, timestamp_ms):
        raise ValueError("boom")

    est = Estimator(running_mode="live_stream", result_callback=bad)
    est.estimate_async(example_image, 1)
    est._worker._thread.join(timeout=30)  # the worker stops on the error
    with pytest.raises(RuntimeError, match="raised ValueError"):
        est.estimate_async(example_image, 2)
    with pytest.raises(RuntimeError, match="stopped after an error"):  # it used to return as if a stream began
        est.reset()
    est.close()


def test_reset_from_the_callback_while_closing_is_harmless(example_image):
    """A callback that resets the stream (on a frame without a face, say) while close() finishes the last frames:
    nothing to start, nothing raised (it used to fail the callback with "this Estimator is closed")."""
    blank = np.full((480, 640, 3), 90, np.uint8)
    seen = []

    def reset_on_no_face(result, image, timestamp_ms):
        threading.Event().wait(0.05)
        seen.append(timestamp_ms)
        if result is None:
            est.reset()

    est = Estimator(running_mode="live_stream", result_callback=reset_on_no_face)
    est.estimate_async(blank, 1)
    threading.Event().wait(0.01)
    est.close()
    assert seen == [1]
