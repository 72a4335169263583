"""One table for a trained model: synthetic held-out heads and Yale B zero-shot, beside physics and the seed.

``python -m training evaluate runs/NAME [--compare runs/seed-parallel runs/seed-fnn] [--subjects ...]``

Synthetic: the run's own test split (identities never seen in training). Yale B: all 28 people by
default; faces not found count as 180 deg. Prints the table and writes ``evaluation.json`` in the run.

``python -m training evaluate --natural data/natural [--natural-runs runs/NAME ...] [--posed] [--out DIR]``

Natural light (issue 14): the shipped default (``lightest.Estimator()``), the physics method and any
natural-light runs (:mod:`training.natural_model`) on the held-out natural renders
(:mod:`training.natural_split`: an unseen HDRI plus an unseen rotation sector of every other one, unseen
people), then Yale B dev (all 28 people) and with ``--posed`` the posed faces, with the signed elevation
bias for lights within 30 deg of the camera. Metrics: :mod:`training.natural_eval`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from blender_gen.manifest import Manifest
from lightest import Estimator, frames
from lightest.estimator import default_model_path
from lightest.image_io import load_image
from lightest.model_card import card_path_for
from lightest.observer import LightPointObserver
from training import yaleb
from training.runs import KerasRun
from training.train import REPO, angle_stats, predicted_directions, split_rows


def synthetic_scores(run: KerasRun) -> dict[str, Any]:
    cfg = run.config
    fs = run.features()
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


#: The natural table's last row: the labels' own direction + ambient as SH (what any such answer can reach).
REFERENCE_ROW = "(labels' direction+ambient as SH)"


def shipped_model_name() -> str:
    """The bundled default model's card name (``physics`` when none is shipped)."""
    path = default_model_path()
    return "physics" if path is None else str(json.loads(card_path_for(path).read_text())["name"])


def natural_main(args: argparse.Namespace) -> int:
    """The natural-light table, then Yale B dev and (``--posed``) posed Yale B, for every estimator."""
    from training import natural_eval as ne
    from training.natural_model import NaturalRun
    from training.natural_split import SPLIT, natural_parts

    manifest = Manifest(args.natural)
    rows = sorted(manifest.rows(), key=lambda r: int(r["index"]))
    held_out = [r for r, part in zip(rows, natural_parts(rows), strict=True) if part == "test"]
    if not held_out:
        raise SystemExit(f"{args.natural}: no held-out natural renders yet ({len(rows)} rows)")
    runs = [NaturalRun.load(p) for p in args.natural_runs]
    predictors = {r.name: r.predict_guess for r in runs}
    out_dir = args.out or (runs[0].path if runs else REPO / "runs" / "natural-eval")
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"natural": {"renders": str(args.natural), "rows": len(rows), "held_out": len(held_out)}}
    text = []
    with Estimator() as shipped, Estimator(method="physics") as physics:
        shipped_name = f"{shipped_model_name()} (shipped)"
        estimators = {shipped_name: shipped, "physics": physics}
        guesses = ne.run_all([args.natural / r["image"] for r in held_out], estimators, predictors, "natural")
        truth = ne.NaturalTruth.from_rows(held_out)
        guesses[REFERENCE_ROW] = ne.label_light_guess(truth)
        scores = [(name, ne.natural_scores(g, truth)) for name, g in guesses.items()]
        title = f"natural held-out renders: {len(held_out)} of {len(rows)} in {args.natural}"
        text += [title, ne.format_natural(scores), ""]
        result["natural"]["scores"] = dict(scores)
        kinds = ne.held_out_kinds(held_out, SPLIT.test_hdri)
        by_kind = {name: {k: ne.natural_scores(*ne.subset(g, truth, m)) for k, m in kinds.items() if m.any()}
                   for name, g in guesses.items()}
        text += ["natural held-out renders by kind", ne.format_kinds(by_kind), ""]
        result["natural"]["by_kind"] = by_kind
        sets = [("yaleb", "Yale B dev", yaleb.list_images(args.yaleb, args.subjects))]
        if args.posed:
            sets.append(("yaleb_posed", "posed Yale B", yaleb.list_posed_images(args.posed_root)))
        for key, title, images in sets:
            truth_dirs = np.stack([i.direction for i in images])
            guesses = ne.run_all([i.path for i in images], estimators, predictors, key)
            scores = [(name, ne.yaleb_scores(g, truth_dirs)) for name, g in guesses.items()]
            subjects = sorted({i.subject for i in images})
            text += [f"{title}: {len(subjects)} subjects, {len(images)} images; failures count as 180 deg",
                     ne.format_yaleb(scores), ""]
            result[key] = {"subjects": subjects, "scores": dict(scores)}
    print("\n".join(text))
    (out_dir / "natural_evaluation.json").write_text(json.dumps(result, indent=1))
    (out_dir / "natural_evaluation.txt").write_text("\n".join(text))
    print(f"wrote {out_dir / 'natural_evaluation.txt'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, nargs="?", help="run folder (runs/NAME); not with --natural")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="more run folders for the table")
    parser.add_argument("--yaleb", type=Path, default=yaleb.DEFAULT_YALEB)
    parser.add_argument("--subjects", nargs="+", help="Yale B subjects (default: all 28)")
    parser.add_argument("--natural", type=Path, help="natural renders (data/natural): the natural-light evaluation")
    parser.add_argument("--natural-runs", type=Path, nargs="*", default=[], help="natural-light run folders")
    parser.add_argument("--posed", action="store_true", help="with --natural: also the posed Yale B faces")
    parser.add_argument("--posed-root", type=Path, default=yaleb.DEFAULT_POSED)
    parser.add_argument("--out", type=Path, help="with --natural: where the table goes (default: first run)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.natural is not None:
        if args.model is not None or args.compare:
            parser.error("--natural evaluates the shipped default, physics and --natural-runs; no model argument")
        return natural_main(args)
    if args.model is None:
        parser.error("give a run folder, or --natural DIR")
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
