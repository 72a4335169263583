"""``python -m mobile_bench <command>``: ``stages`` (timings of one frame), ``report`` (benchmarks + budget table),
``compare`` (same-process interleaved comparison against bare MediaPipe, with the speed bars), ``video``
(jitter and lag of the filtered video estimates on Yale B streams), ``bigphoto`` (time and peak memory of an
8000x6000 photo from file vs the same face in 1920x1080), ``batch`` (``lightest batch`` images/s with 1 and 2
workers, and a kill -9 halfway + rerun), ``lighthead-ab`` (light-head graphs side by side, invoke after the mesh),
``live`` (live-stream mode fed like a camera: latency, delivered frames, time the camera thread is held)."""

from __future__ import annotations

import sys

from mobile_bench import batch, bigphoto, compare, lighthead_ab, live, report, stages, video

COMMANDS = {
    "stages": stages.main,
    "report": report.main,
    "compare": compare.main,
    "video": video.main,
    "bigphoto": bigphoto.main,
    "batch": batch.main,
    "lighthead-ab": lighthead_ab.main,
    "live": live.main,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m mobile_bench {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
