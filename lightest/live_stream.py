"""Live-stream mode: frames handed over without waiting, results delivered to a callback (MediaPipe Tasks'
``LIVE_STREAM`` running mode, ``detect_async`` + ``result_callback``).

A camera callback must return at once, and a light estimate that arrives late is worth less than a fresh one.
So :class:`LatestFrameWorker` keeps one slot: a frame submitted while another is being estimated waits there,
and a newer one replaces it (the older is *dropped*: it gets no callback, as MediaPipe may drop frames "to
lower the overall latency"). One worker thread runs the estimates in submission order and calls the callback
with ``(result, image, timestamp_ms)``. A frame waits at most for the one ahead of it (its estimate and
callback).

Streams: :meth:`~LatestFrameWorker.new_stream` drops the waiting frame and starts a new stream generation; every
frame carries the generation it was handed over in, and a step that finds its frame's stream gone raises
:class:`StaleFrame`: the frame is dropped too. So no frame of an old stream reaches a new one.

Errors: an exception from the callback or the estimate stops the worker; it is raised, chained, by the next
:meth:`~LatestFrameWorker.submit` or by :meth:`~LatestFrameWorker.close` (that frame counts as neither delivered
nor dropped). :meth:`~LatestFrameWorker.close` lets the frame in flight and the waiting one finish first. The
thread runs until :meth:`~LatestFrameWorker.close`, or :meth:`~LatestFrameWorker.abandon` when its owner is
garbage-collected unclosed (the Estimator gives it only a weak reference to itself; a callback that refers to
the estimator keeps it, and the thread, alive).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lightest.result import LightEstimate

__all__ = ["LatestFrameWorker", "ResultCallback", "StaleFrame"]

#: ``result_callback(result, image, timestamp_ms)``: the estimate (None: no face), the BGR frame it was made
#: from (the worker's own copy) and the frame's timestamp.
ResultCallback = Callable[["LightEstimate | None", np.ndarray, float], None]
#: ``step(frame, timestamp_ms, generation)``: the estimate of one frame handed over in stream ``generation``.
Step = Callable[[np.ndarray, float, int], "LightEstimate | None"]


class StaleFrame(Exception):
    """Raised by a step whose frame belongs to a stream that was replaced since: drop it, no callback."""


class LatestFrameWorker:
    """One thread estimating the newest submitted frame; older waiting frames are dropped (module doc)."""

    def __init__(self, step: Step, callback: ResultCallback, name: str = "lightest-live-stream") -> None:
        self._step, self._callback = step, callback
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, float, int] | None = None
        self._stopping = False
        self._error: BaseException | None = None  # raised once, by the next submit or close
        self._failed = False  # the thread stopped on an error
        self.generation = 0  # the current stream; see new_stream
        self.frames_submitted = 0
        self.frames_dropped = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, frame: np.ndarray, timestamp_ms: float) -> None:
        """Queue ``frame`` (the worker's own array: the caller must not change it later) and return at once."""
        with self._cond:
            self._check_running()
            if self._stopping:
                raise RuntimeError("this live stream is closed")
            self._drop_pending()
            self._pending = (frame, timestamp_ms, self.generation)
            self.frames_submitted += 1
            self._cond.notify()

    def new_stream(self) -> None:
        """Start a new stream: drop the waiting frame; a frame already taken is dropped by its step
        (:class:`StaleFrame`), since it belongs to the old generation. After an error there is none to start."""
        with self._cond:
            self._check_running()
            self.generation += 1
            self._drop_pending()

    def close(self) -> None:
        """Finish the frame in flight and the waiting one, stop the thread, and raise a callback's error if one
        stopped it. From inside the callback it only stops the thread (which cannot wait for itself) and drops the
        waiting frame (its owner is closing under it)."""
        inside = threading.current_thread() is self._thread
        with self._cond:
            self._stopping = True
            if inside:
                self._drop_pending()
            self._cond.notify()
        if not inside:
            self._thread.join()
        with self._cond:
            self._raise_error()

    def abandon(self) -> None:
        """Stop without waiting (the owner was garbage-collected unclosed): the waiting frame is dropped, the thread
        ends after the frame in flight, and a ``ResourceWarning`` says so. Nothing when already closed."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._drop_pending()
            self._cond.notify()
        warnings.warn("a live-stream Estimator was garbage-collected without close()", ResourceWarning, stacklevel=2)

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self._pending = None
            self.frames_dropped += 1

    def _check_running(self) -> None:
        """Raise the error that stopped the thread (once), then, for as long as it stays stopped, that it did."""
        self._raise_error()
        if self._failed:
            raise RuntimeError("the live stream stopped after an error (raised before); create a new Estimator")

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"the live stream's result_callback or estimate raised {error!r}") from error

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._pending is None:
                    return
                (frame, timestamp_ms, generation), self._pending = self._pending, None
            try:
                result = self._step(frame, timestamp_ms, generation)
            except StaleFrame:
                with self._cond:
                    self.frames_dropped += 1
                continue
            except BaseException as exc:  # handed to the caller's next call; the stream stops here
                self._stop_on(exc)
                return
            try:
                self._callback(result, frame, timestamp_ms)
            except BaseException as exc:
                self._stop_on(exc)
                return

    def _stop_on(self, exc: BaseException) -> None:
        with self._cond:
            self._error, self._failed = exc, True
            self._drop_pending()
