"""``python -m mobile_bench <command>``: ``stages`` (timings of one frame), ``report`` (benchmarks + budget table),
``compare`` (same-process interleaved comparison against bare MediaPipe, with the speed bars), ``video``
(jitter and lag of the filtered video estimates on Yale B streams), ``bigphoto`` (time and peak memory of an
8000x6000 photo from file vs the same face in 1920x1080), ``batch`` (``lightest batch`` images/s with 1 and 2
workers, and a kill -9 halfway + rerun), ``lighthead-ab`` (light-head graphs side by side, invoke after the mesh),
``live`` (live-stream mode fed like a camera: latency, delivered frames, time the camera thread is held)."""

from __future__ import annotations

import sys

from lightest.commands import dispatch
from mobile_bench import batch, bigphoto, compare, lighthead_ab, live, report, stages, video

COMMANDS = {
    "stages": (stages.main, "timings of one frame, stage by stage"),
    "report": (report.main, "the benchmarks and the phone-budget table (runs compare too; minutes)"),
    "compare": (compare.main, "same-process, interleaved comparison against bare MediaPipe, with the speed bars"),
    "video": (video.main, "jitter and lag of the filtered video estimates"),
    "bigphoto": (bigphoto.main, "an 8000x6000 photo from file vs the same face in 1920x1080"),
    "batch": (batch.main, "lightest batch images/s with 1 and 2 workers, and a kill -9 halfway + rerun"),
    "lighthead-ab": (lighthead_ab.main, "light-head graphs side by side, invoke after the mesh"),
    "live": (live.main, "live-stream mode fed like a camera"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("python -m mobile_bench", COMMANDS, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
