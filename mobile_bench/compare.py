"""Same-process, interleaved speed comparison against bare MediaPipe, with the issue's bars as verdicts.

``python -m mobile_bench compare [--rounds 300] [--sizes 640x480 1280x720] [--json PATH]``

Every contender runs once per round, in rotating order, on the same frame, so machine noise hits all of
them alike; medians over the rounds and their ratios are reported. Contenders, per frame size:

* ``estimate[image|video]``: :meth:`lightest.Estimator.estimate` (default model), in that running mode;
* ``facemesh[image|video]``: bare ``solutions.face_mesh`` in the SAME mode (``static_image_mode`` on/off),
  BGR -> RGB conversion included, as a user calls it (``lightest[reference]``);
* ``landmarks[image|video]``: lightest's detector + mesh alone (:meth:`Estimator.detect_landmarks`);
* ``light_head``: the light-head graph alone on one face (:class:`lightest.lighthead.LightHead`), a
  separate interpreter called between the others (every cache cold: an upper bound);
* ``light_head_graph[image]``: inside ``estimate[image]``'s own calls, the light-head step
  (:class:`lightest.StageTimes` ``sampling_ms``: the graph with its Python glue, feeding the crop and reading
  back the outputs), i.e. the graph as a pipeline pays it right after the mesh; ``light_head_invoke[image]``
  is the graph's ``invoke`` alone within that step (what a phone app pays); ``after_landmarks[image]`` adds
  building the ``LightEstimate``;
* ``no_face[image]``: ``estimate`` in image mode on a frame without a face (a heavily blurred copy).

Video contenders each keep their own stream of the same still frame, so both track after frame one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lightest import Estimator
from lightest.estimator import default_model_path
from lightest.lighthead import LightHead, LightHeadCard
from lightest.model_card import card_path_for
from mobile_bench.stages import EXAMPLE, frame, machine_description

__all__ = ["BARS", "compare", "main", "no_face_frame", "verdicts"]

#: (check, numerator, denominator or None, limit): ratio <= limit, or milliseconds <= limit.
BARS: tuple[tuple[str, str, str | None, float], ...] = (
    ("video end to end <= 1.0x bare FaceMesh video", "estimate[video]", "facemesh[video]", 1.0),
    ("image end to end <= 1.0x bare FaceMesh image", "estimate[image]", "facemesh[image]", 1.0),
    ("light-head graph <= 0.1 ms per face, in the pipeline", "light_head_graph[image]", None, 0.1),
    ("no-face frame <= 1.5x face frame (image mode)", "no_face[image]", "estimate[image]", 1.5),
)


def no_face_frame(face_frame: np.ndarray) -> np.ndarray:
    """The same frame blurred until no face is left in it (same size, colours and brightness)."""
    return cv2.GaussianBlur(face_frame, (0, 0), sigmaX=max(face_frame.shape[:2]) / 20)


def _contenders(
    frame_bgr: np.ndarray, stack: list[Any], side: dict[str, list[float]]
) -> dict[str, Callable[[], object]]:
    """name -> zero-argument call; estimators and meshes opened here are appended to ``stack`` to close;
    ``side`` collects stage times the calls report (milliseconds)."""
    out: dict[str, Callable[[], object]] = {}
    blank = no_face_frame(frame_bgr)
    for mode in ("image", "video"):
        est = Estimator(running_mode=mode, num_threads=1)
        stack.append(est)
        if est.estimate(frame_bgr) is None:
            raise SystemExit(f"lightest finds no face in the {frame_bgr.shape[1]}x{frame_bgr.shape[0]} test frame")
        if mode == "image":
            side["light_head_graph[image]"], side["after_landmarks[image]"] = [], []
            _time_invokes(est, side.setdefault("light_head_invoke[image]", []))

            def timed(est: Estimator = est) -> object:
                result, stages = est.estimate_timed(frame_bgr)
                side["light_head_graph[image]"].append(stages.sampling_ms)
                side["after_landmarks[image]"].append(stages.sampling_ms + stages.estimate_ms)
                return result

            out["estimate[image]"] = timed
        else:
            out[f"estimate[{mode}]"] = lambda est=est: est.estimate(frame_bgr)
        landmarks_only = Estimator(running_mode=mode, num_threads=1)
        stack.append(landmarks_only)
        out[f"landmarks[{mode}]"] = lambda e=landmarks_only: e.detect_landmarks(frame_bgr)
        if mode == "image":
            if est.estimate(blank) is not None:
                raise SystemExit("the no-face frame still holds a face")
            out["no_face[image]"] = lambda est=est: est.estimate(blank)
        try:
            from mobile_bench.reference import BareFaceMesh

            mesh = BareFaceMesh(video=mode == "video")
        except ImportError as exc:
            print(f"skipping bare FaceMesh: {exc}", file=sys.stderr)
            continue
        stack.append(mesh)
        out[f"facemesh[{mode}]"] = lambda mesh=mesh: mesh.process(frame_bgr)
    model = default_model_path()
    if model is not None:
        with Estimator(num_threads=1) as est:
            face = est.detect_landmarks(frame_bgr)
        assert face is not None and face.crop is not None
        head = LightHead(model, LightHeadCard.from_json(json.loads(card_path_for(model).read_text())), num_threads=1)
        size = (frame_bgr.shape[1], frame_bgr.shape[0])
        crop = face.crop
        out["light_head"] = lambda: head.run(crop.image, crop.points, crop.to_image, size)
    return out


def _time_invokes(est: Estimator, sink: list[float]) -> None:
    """Record (ms) every ``invoke`` of ``est``'s light-head interpreter: benchmark-only instrumentation."""
    head = est._head
    if head is None:
        return
    interp = head._interp
    invoke = interp.invoke

    def timed() -> None:
        t0 = time.perf_counter()
        invoke()
        sink.append((time.perf_counter() - t0) * 1e3)

    interp.invoke = timed


def compare(frame_bgr: np.ndarray, rounds: int, warmup: int = 10) -> dict[str, dict[str, float]]:
    """Median / p95 milliseconds of every contender on ``frame_bgr``, interleaved over ``rounds`` rounds."""
    stack: list[Any] = []
    side: dict[str, list[float]] = {}
    try:
        calls = _contenders(frame_bgr, stack, side)
        names = list(calls)
        times = {n: np.empty(rounds) for n in names}
        for r in range(-warmup, rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                t0 = time.perf_counter()
                calls[name]()
                dt = time.perf_counter() - t0
                if r >= 0:
                    times[name][r] = dt
    finally:
        for item in stack:
            item.close()
    for name, values in side.items():
        times[name] = np.asarray(values[-rounds:]) * 1e-3
    return {
        n: {"median_ms": float(np.median(t) * 1e3), "p95_ms": float(np.percentile(t, 95) * 1e3)}
        for n, t in times.items()
    }


def verdicts(stats: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    """(check, PASS/FAIL with the numbers) for each bar whose contenders were measured."""
    out = []
    for check, num, den, limit in BARS:
        if num not in stats or (den is not None and den not in stats):
            continue
        a = stats[num]["median_ms"]
        if den is None:
            out.append((check, f"{'PASS' if a <= limit else 'FAIL'}: {a:.4f} ms"))
        else:
            b = stats[den]["median_ms"]
            out.append((check, f"{'PASS' if a / b <= limit else 'FAIL'}: {a:.3f} / {b:.3f} ms = {a / b:.2f}x"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=EXAMPLE)
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720"], help="frame sizes WIDTHxHEIGHT")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    report: dict[str, Any] = {"machine": machine_description(), "threads": 1, "rounds": args.rounds, "sizes": {}}
    print(f"machine: {report['machine']}; 1 thread; {args.rounds} interleaved rounds, medians")
    for size in args.sizes:
        w, h = (int(v) for v in size.lower().split("x"))
        stats = compare(frame(args.image, (w, h)), args.rounds)
        checks = verdicts(stats)
        report["sizes"][size] = {"stats": stats, "checks": dict(checks)}
        print(f"\n{size}\n{'contender':<20}{'median ms':>11}{'p95 ms':>11}")
        for name, s in stats.items():
            print(f"{name:<20}{s['median_ms']:>11.3f}{s['p95_ms']:>11.3f}")
        for check, verdict in checks:
            print(f"{check}: {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return 0
