"""Live-stream mode: frames handed over without waiting, results delivered to a callback (MediaPipe Tasks'
``LIVE_STREAM`` running mode, ``detect_async`` + ``result_callback``).

A camera callback must return at once, and a light estimate that arrives late is worth less than a fresh one.
So :class:`LatestFrameWorker` keeps one slot: a frame submitted while another is being estimated waits there,
and a newer one replaces it (the older is *dropped*: it gets no callback, as MediaPipe may drop frames "to
lower the overall latency"). One worker thread runs the estimates in submission order and calls the callback
with ``(result, image, timestamp_ms)``. An exception from the callback (or the estimate) stops the worker; it is
raised, chained, from the next :meth:`~LatestFrameWorker.submit` or from :meth:`~LatestFrameWorker.close`, so
it is never lost. :meth:`~LatestFrameWorker.close` lets the frame in flight and the waiting one finish first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lightest.result import LightEstimate

__all__ = ["LatestFrameWorker", "ResultCallback"]

#: ``result_callback(result, image, timestamp_ms)``: the estimate (None: no face), the BGR frame it was made
#: from (the worker's own copy) and the frame's timestamp.
ResultCallback = Callable[["LightEstimate | None", np.ndarray, int], None]
Step = Callable[[np.ndarray, int], "LightEstimate | None"]


class LatestFrameWorker:
    """One thread estimating the newest submitted frame; older waiting frames are dropped (module doc)."""

    def __init__(self, step: Step, callback: ResultCallback, name: str = "lightest-live-stream") -> None:
        self._step, self._callback = step, callback
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, int] | None = None
        self._stopping = False
        self._error: BaseException | None = None  # raised once, by the next submit or close
        self._failed = False  # the thread stopped on an error
        self.frames_submitted = 0
        self.frames_dropped = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, frame: np.ndarray, timestamp_ms: int) -> None:
        """Queue ``frame`` (the worker's own array: the caller must not change it later) and return at once."""
        with self._cond:
            self._raise_error()
            if self._failed:
                raise RuntimeError("the live stream stopped after an error (raised before); create a new Estimator")
            if self._stopping:
                raise RuntimeError("this live stream is closed")
            if self._pending is not None:
                self.frames_dropped += 1
            self._pending = (frame, timestamp_ms)
            self.frames_submitted += 1
            self._cond.notify()

    def discard_pending(self) -> None:
        """Drop the waiting frame, if any (the one in flight still finishes): for a reset between streams."""
        with self._cond:
            if self._pending is not None:
                self._pending = None
                self.frames_dropped += 1

    def close(self) -> None:
        """Finish the frame in flight and the waiting one, stop the thread, and raise a callback's error if one
        stopped it. From inside the callback it only stops the thread (which cannot wait for itself)."""
        inside = threading.current_thread() is self._thread
        with self._cond:
            self._stopping = True
            if inside and self._pending is not None:  # the estimator closes under it: nothing more can run
                self._pending = None
                self.frames_dropped += 1
            self._cond.notify()
        if not inside:
            self._thread.join()
        with self._cond:
            self._raise_error()

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
                (frame, timestamp_ms), self._pending = self._pending, None
            try:
                self._callback(self._step(frame, timestamp_ms), frame, timestamp_ms)
            except BaseException as exc:  # handed to the caller's next call; the stream stops here
                with self._cond:
                    self._error, self._failed = exc, True
                    if self._pending is not None:
                        self._pending = None
                        self.frames_dropped += 1
                return
