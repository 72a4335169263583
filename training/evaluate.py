"""One table for a trained model: synthetic held-out heads and Yale B zero-shot, beside physics and the seed.

``python -m training evaluate runs/NAME [--compare runs/seed-parallel runs/seed-fnn] [--subjects ...]``

Synthetic: the run's own test split (identities never seen in training). Yale B: all 28 people by
default; faces not found count as 180 deg. Prints the table and writes ``evaluation.json`` in the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lightest import Estimator, frames
from lightest.image_io import load_image
from lightest.observer import LightPointObserver
from training import yaleb
from training.runs import KerasRun
from training.train import angle_stats, load_features, predicted_directions, split_rows


def synthetic_scores(run: KerasRun) -> dict[str, Any]:
    cfg = run.config
    fs = load_features(cfg.features)
    rows = split_rows(fs, cfg)["test"]
    pred = run.predict_observations([fs.observation(i) for i in rows])
    errors = frames.angle_between_deg(predicted_directions(pred, fs, cfg, rows), fs.label("light_dir_camera")[rows])
    out = angle_stats(errors)
    if "distance_m" in run.run["outputs"]:
        k = run.run["outputs"].index("distance_m")
        scale = run.run["output_scale"][k]
        out["distance_mae_m"] = float(np.mean(np.abs(pred[:, k] * scale - fs.label("light_distance_m")[rows, 0])))
    return out


class YaleBObservations:
    """Yale B measured once per (landmarks, light-points) and reused by every model in the table."""

    def __init__(self, images: list[yaleb.YaleBImage]) -> None:
        self.images = images
        self.truth = np.stack([i.direction for i in images])
        self._cache: dict[tuple[str, str], list[Any]] = {}

    def observations(self, landmarks: str, light_points: str) -> list[Any]:
        key = (landmarks, light_points)
        if key not in self._cache:
            print(f"  measuring Yale B with {landmarks} / {light_points}", file=sys.stderr, flush=True)
            with LightPointObserver(landmarks=landmarks, light_points=light_points) as obs:
                self._cache[key] = [obs.observe(load_image(i.path)) for i in self.images]
        return self._cache[key]

    def score_run(self, run: KerasRun) -> dict[str, Any]:
        observed = self.observations(run.run["landmarks"], run.run["light_points"])
        found = np.array([o is not None for o in observed])
        errors = np.full(len(observed), yaleb.FAILURE_DEG)
        if found.any():
            obs = [o[1] for o in observed if o is not None]
            rotations = np.stack([np.eye(3) if o.head_rotation is None else o.head_rotation for o in obs])
            d = run.directions(run.predict_observations(obs), rotations)
            errors[found] = frames.angle_between_deg(d, self.truth[found])
        return {**angle_stats(errors), "faces_found": int(found.sum()), "images": len(observed)}

    def score_physics(self) -> dict[str, Any]:
        with Estimator(method="physics") as est:
            errors, found, _ = yaleb.angle_errors(est, self.images)
        return {**angle_stats(errors), "faces_found": int(found.sum()), "images": len(errors)}


def format_table(rows: list[tuple[str, dict[str, Any] | None, dict[str, Any]]]) -> str:
    head = (
        f"{'estimator':<26}{'synthetic held-out: med / mean / p90 deg':>42}"
        f"{'Yale B found':>14}{'Yale B: med / mean / p90 deg':>32}"
    )
    lines = [head, "-" * len(head)]
    for name, syn, yb in rows:
        s = "n/a" if syn is None else f"{syn['median_deg']:.2f} / {syn['mean_deg']:.2f} / {syn['p90_deg']:.2f}"
        if syn is not None and "distance_mae_m" in syn:
            s += f" (dist MAE {syn['distance_mae_m']:.2f} m)"
        found = f"{yb['faces_found']}/{yb['images']}"
        y = f"{yb['median_deg']:.2f} / {yb['mean_deg']:.2f} / {yb['p90_deg']:.2f}"
        lines.append(f"{name:<26}{s:>42}{found:>14}{y:>32}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training evaluate", description=__doc__)
    parser.add_argument("model", type=Path, help="run folder (runs/NAME)")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="more run folders for the table")
    parser.add_argument("--yaleb", type=Path, default=yaleb.DEFAULT_YALEB)
    parser.add_argument("--subjects", nargs="+", help="Yale B subjects (default: all 28)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runs = [KerasRun.load(p) for p in [args.model, *args.compare]]
    yb = YaleBObservations(yaleb.list_images(args.yaleb, args.subjects))
    table = [(r.name, synthetic_scores(r), yb.score_run(r)) for r in runs]
    table.append(("physics (no model)", None, yb.score_physics()))
    text = format_table(table)
    subjects = sorted({i.subject for i in yb.images})
    print(f"Yale B: {len(subjects)} subjects, {len(yb.images)} images; failures count as 180 deg")
    print(text)
    result = {"yaleb_subjects": subjects, "rows": [{"name": n, "synthetic": s, "yaleb": y} for n, s, y in table]}
    (runs[0].path / "evaluation.json").write_text(json.dumps(result, indent=1))
    (runs[0].path / "evaluation.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
