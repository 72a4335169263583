"""Live-stream mode (``Estimator.estimate_async``) fed like a camera: latency, delivered frames, blocking.

``python -m mobile_bench live [--seconds 5] [--fps 30 500] [--size 640x480] [--json PATH]``

For each frame rate, a "camera" thread hands the example face (letterboxed to ``--size``, shifted by a random
sub-pixel shake every frame, as in ``mobile_bench video``) to ``estimate_async`` at that rate in real time,
with the stream clock as timestamps, for ``--seconds``. Reported: how long ``estimate_async`` kept the camera
thread (median / p95: the check and copy of the frame), the latency from handing a frame over to its callback
(median / p95), the rate the frames were actually fed at (the pacing loop falls behind at high rates), and the
share of frames delivered (the rest were dropped because a newer frame arrived while
the estimator was busy: expected once the rate exceeds what one core estimates per second, and for the first
frames of any stream, while the first frame pays the graphs' warm-up).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lightest import Estimator
from mobile_bench.stages import EXAMPLE, frame, machine_description
from mobile_bench.video import shaken

__all__ = ["main", "run_live"]


def run_live(frames_bgr: list[np.ndarray], fps: float, seconds: float) -> dict[str, Any]:
    """Feed ``frames_bgr`` (cycled) to a live-stream estimator at ``fps`` in real time for ``seconds``."""
    handed: dict[int, float] = {}
    latency_ms: list[float] = []
    found = 0
    lock = threading.Lock()

    def on_result(result: object, image: np.ndarray, timestamp_ms: int) -> None:
        nonlocal found
        now = time.perf_counter()
        with lock:
            latency_ms.append((now - handed[timestamp_ms]) * 1e3)
            found += result is not None

    blocking_ms = []
    n = max(1, round(seconds * fps))
    with Estimator(running_mode="live_stream", result_callback=on_result, num_threads=1) as est:
        start = time.perf_counter()
        for i in range(n):
            due = start + i / fps
            time.sleep(max(0.0, due - time.perf_counter()))
            timestamp_ms = i * 1000 / fps
            t0 = time.perf_counter()
            with lock:
                handed[timestamp_ms] = t0
            est.estimate_async(frames_bgr[i % len(frames_bgr)], timestamp_ms)
            blocking_ms.append((time.perf_counter() - t0) * 1e3)
        fed_s = t0 - start  # from the first frame's hand-over to the last one's
        dropped = est.frames_dropped
    delivered = len(latency_ms)
    if delivered + dropped != n:
        raise SystemExit(f"live stream lost frames: {n} handed over, {delivered} delivered, {dropped} dropped")
    return {
        "fps": fps,
        "fed_fps": (n - 1) / fed_s if n > 1 and fed_s > 0 else fps,
        "frames": n,
        "delivered": delivered,
        "dropped": dropped,
        "with_face": found,
        "estimate_async_ms": {"median": float(np.median(blocking_ms)), "p95": float(np.percentile(blocking_ms, 95))},
        "latency_ms": {"median": float(np.median(latency_ms)), "p95": float(np.percentile(latency_ms, 95))},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 500.0])
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or any(f <= 0 for f in args.fps):
        parser.error("--seconds and --fps must be positive")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must be WxH, got {args.size!r}")
    stream = shaken(frame(EXAMPLE, (w, h)), 30, seed=0)
    runs = [run_live(stream, fps, args.seconds) for fps in args.fps]
    print(f"machine: {machine_description()}; {w}x{h}, 1 thread, {args.seconds:g} s per rate")
    print(f"{'fps':>6} {'fed fps':>8} {'frames':>7} {'delivered':>10} {'async ms (med/p95)':>20} "
          f"{'latency ms (med/p95)':>22}")
    for r in runs:
        a, lat = r["estimate_async_ms"], r["latency_ms"]
        print(f"{r['fps']:>6g} {r['fed_fps']:>8.1f} {r['frames']:>7} {r['delivered'] / r['frames']:>9.0%} "
              f"{a['median']:>9.3f} / {a['p95']:<8.3f} {lat['median']:>10.2f} / {lat['p95']:<8.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine_description(), "size": [w, h], "runs": runs}, indent=1))
    return 0
