"""Jitter and lag of ``Estimator.estimate_for_video`` on video made from real faces (Yale B, ../shared).

``python -m mobile_bench video [--subjects N] [--fps 30]``

Two kinds of stream per subject, each frame shifted by a random sub-pixel camera shake (uniform +-1 px,
bilinear, edges replicated), 30 fps timestamps:

* **still**: 90 frames of one face under one light (A+000E+00): the median frame-to-frame change of the
  direction, filtered (default :class:`~lightest.smoothing.SmoothingOptions`) and raw (filter off);
* **jump**: 45 frames under A+000E+00, then 45 under A+000E+45 (the light moves 45 deg up): the stream
  time after the jump until the filtered direction is within 10 deg of the new light, where "the new
  light" is both the truth and the estimator's own steady answer for it (the median raw direction over
  the second half), since the model's own error on a face can exceed 10 deg.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lightest import Estimator, frames
from lightest.image_io import load_image
from lightest.smoothing import SmoothingOptions

__all__ = ["jitter", "jump_lag", "main", "shaken"]

REPO = Path(__file__).resolve().parents[1]
YALEB = REPO.parent / "shared" / "data" / "yaleb"
STILL, RAISED = "A+000E+00", "A+000E+45"
WITHIN_DEG = 10.0


def shaken(image: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """``n`` copies of ``image`` shifted by random sub-pixel offsets (+-1 px in x and y)."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out = []
    for dx, dy in rng.uniform(-1.0, 1.0, size=(n, 2)):
        m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
        out.append(cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    return out


def _directions(stream: list[np.ndarray], fps: float, smoothing: SmoothingOptions) -> np.ndarray:
    with Estimator(running_mode="video", smoothing=smoothing) as est:
        results = [est.estimate_for_video(f, round(i * 1000.0 / fps)) for i, f in enumerate(stream)]
    return np.array([np.nan * np.ones(3) if r is None else r.direction for r in results])


def jitter(stream: list[np.ndarray], fps: float, smoothing: SmoothingOptions) -> float:
    """Median angle (deg) between consecutive frames' directions."""
    d = _directions(stream, fps, smoothing)
    ok = np.isfinite(d).all(axis=1)
    pairs = ok[1:] & ok[:-1]
    return float(np.median(frames.angle_between_deg(d[1:][pairs], d[:-1][pairs])))


def jump_lag(before: list[np.ndarray], after: list[np.ndarray], truth: np.ndarray, fps: float) -> dict[str, Any]:
    """Milliseconds after the jump until the filtered direction stays within 10 deg of the new light."""
    smoothed = _directions(before + after, fps, SmoothingOptions())
    raw = _directions(after, fps, SmoothingOptions(enabled=False))
    steady = frames.normalize(np.nanmedian(raw, axis=0))
    out: dict[str, Any] = {"steady_error_deg": float(frames.angle_between_deg(steady, truth))}
    tail = smoothed[len(before) :]
    for name, target in (("lag_to_truth_ms", truth), ("lag_to_steady_ms", steady)):
        err = frames.angle_between_deg(np.where(np.isfinite(tail), tail, 0.0) + 1e-12, target)
        inside = err <= WITHIN_DEG
        # first frame from which it stays inside; None when it never settles there
        settled = next((i for i in range(len(inside)) if inside[i:].all()), None)
        out[name] = None if settled is None else settled * 1000.0 / fps
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench video", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=YALEB)
    parser.add_argument("--subjects", type=int, default=8, help="how many Yale B people (in folder order)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"Yale B not found at {args.root} (../shared)", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    rows = []
    for k, folder in enumerate(sorted(p for p in args.root.iterdir() if p.is_dir())[: args.subjects]):
        still, raised = (folder / f"{folder.name}_P00{n}.pgm" for n in (STILL, RAISED))
        if not (still.is_file() and raised.is_file()):
            continue
        a, b = load_image(still), load_image(raised)
        stream = shaken(a, 90, seed=k)
        row = {
            "subject": folder.name,
            "jitter_deg": jitter(stream, args.fps, SmoothingOptions()),
            "jitter_raw_deg": jitter(stream, args.fps, SmoothingOptions(enabled=False)),
            **jump_lag(shaken(a, 45, seed=100 + k), shaken(b, 45, seed=200 + k), frames.direction_from_yaleb(0, 45),
                       args.fps),
        }  # fmt: skip
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
    if not rows:
        print("no subject has both lights", file=sys.stderr)
        return 2

    def median(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return float(np.median(values)) if values else None

    summary = {k: median(k) for k in ("jitter_deg", "jitter_raw_deg", "lag_to_truth_ms", "lag_to_steady_ms")}
    summary["never_settled_to_truth"] = sum(r["lag_to_truth_ms"] is None for r in rows)
    print(f"{len(rows)} subjects, {args.fps:g} fps, default SmoothingOptions(): " + json.dumps(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"subjects": rows, "summary": summary}, indent=1))
    return 0
