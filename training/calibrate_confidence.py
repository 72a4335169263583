"""Calibrate the light-head model's ``confidence`` (:mod:`lightest.confidence`) and measure it.

``python -m training calibrate-confidence --fit data/conf-natural --cropped --check data/conf-diverse --posed --write``

Fits on renders only (``blender_gen`` dataset folders with ``light_dir_camera`` labels): Yale B is research
data that no shipped model is trained on, so it is only measured here, never fitted:

* **Yale B dev** (28 people, frontal): Spearman correlation of confidence with angular error, and the median
  error of the most confident half over that of the least confident half; before (the estimator's current
  confidence) and after (the calibration fitted on the renders, which never saw these people);
* **Yale B by person** (an experiment, not shipped): the same calibration form fitted on 14 people and
  measured on the other 14, both ways, to show what fitting on real faces would add;
* **posed Yale B** (``--posed``, 18 people x 8 head poses): the same check on faces nobody fitted on.

Faces not found get no estimate and so no confidence: they are left out of every confidence statistic (and
counted). Per-face outputs are cached as ``.npz`` under ``--cache`` (keyed by data set and light-head sha256).
``--write`` saves ``lightest/models/confidence.json`` (with the data, command, date and these scores) and the
reliability plot ``docs/confidence_calibration.png``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from lightest import Estimator
from lightest.confidence import SIGNALS, ConfidenceModel, default_confidence_path
from training.confidence_data import (
    FaceRecords,
    LabelledImage,
    collect,
    make_cropped,
    manifest_rows,
    render_images,
    yaleb_images,
)

REPO = Path(__file__).resolve().parents[1]
THRESHOLD_DEG = 15.0
RIDGE = 1.0
#: Signals fitted (a subset of lightest.confidence.SIGNALS), chosen by measuring on Yale B dev (model selection,
#: not fitting): with the natural renders (+ cut copies) as fit data, adding mirror_gap (face vs mirror image, an
#: output of earlier graphs), outside or the direction terms light_x2/y/z changed Yale B dev's Spearman by <= 0.002
#: (or made it worse), and mirror_gap / outside took weights of the wrong sign (collinear with norm_gap); the mesh
#: and detector scores were flat on Yale B (Spearman with error +0.18, +0.03).
FIT_SIGNALS = ("contrast", "ambient", "norm_gap")
#: Error bands (deg) for the median confidence in each, before and after.
ERROR_BANDS = ((0, 10), (10, 20), (20, 45), (45, 181))
DEFAULT_PLOT = REPO / "docs" / "confidence_calibration.png"


# -- statistics ------------------------------------------------------------------------------------------
def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (for Spearman)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else float("nan")


def half_ratio(confidence: np.ndarray, errors: np.ndarray) -> float:
    """Median error of the most confident half / that of the least confident half (ties broken by order)."""
    order = np.argsort(-np.asarray(confidence), kind="mergesort")
    h = len(order) // 2
    return float(np.median(errors[order[:h]]) / np.median(errors[order[-h:]]))


@dataclass(frozen=True)
class Score:
    faces: int
    spearman: float
    half_ratio: float
    median_error_deg: float
    below_threshold: float  # observed share of errors below the threshold
    mean_confidence: float

    def line(self) -> str:
        return (f"n={self.faces:5d}  Spearman {self.spearman:+.3f}  top/bottom-half median ratio {self.half_ratio:.3f}"
                f"  (median err {self.median_error_deg:.1f} deg, {self.below_threshold:.1%} < {THRESHOLD_DEG:g} deg,"
                f" mean confidence {self.mean_confidence:.3f})")


def score(confidence: np.ndarray, errors: np.ndarray) -> Score:
    return Score(len(errors), spearman(confidence, errors), half_ratio(confidence, errors), float(np.median(errors)),
                 float(np.mean(errors < THRESHOLD_DEG)), float(np.mean(confidence)))


# -- fitting ---------------------------------------------------------------------------------------------
def _columns(records: FaceRecords, names: tuple[str, ...]) -> np.ndarray:
    return records.signals[:, [SIGNALS.index(n) for n in names]]


def _logistic(s: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Newton's method for ``P(y) = sigmoid(a + b s)`` (a tiny ridge keeps it finite on separable data)."""
    a_mat = np.c_[np.ones_like(s), s]
    w = np.zeros(2)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a_mat @ w)))
        hess = a_mat.T @ (a_mat * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
        w -= np.linalg.solve(hess, a_mat.T @ (p - y) + 1e-6 * w)
    return float(w[0]), float(w[1])


def fit(records: list[FaceRecords], model_sha256: str, names: tuple[str, ...] = FIT_SIGNALS,
        provenance: dict | None = None) -> ConfidenceModel:
    """Ridge regression of ``log(1 + error)`` on the signals, then a logistic map to ``P(error < 15 deg)``.

    Signals constant over the fitting data (e.g. ``outside`` on renders that never crop the face) get weight 0.
    """
    x = np.concatenate([_columns(r, names) for r in records])
    errors = np.concatenate([r.error_deg for r in records])
    # clip range: the fitted range widened by half its width each side (real faces reach harsher light than
    # the renders; beyond that, no extrapolation)
    width = x.max(axis=0) - x.min(axis=0)
    low, high = x.min(axis=0) - width / 2, x.max(axis=0) + width / 2
    mean, scale = x.mean(axis=0), x.std(axis=0)
    live = scale > 1e-9
    scale = np.where(live, scale, 1.0)
    z = (x - mean) / scale
    design = np.c_[z[:, live], np.ones(len(z))]
    reg = RIDGE * np.diag([1.0] * int(live.sum()) + [0.0])
    coef = np.linalg.solve(design.T @ design + reg, design.T @ np.log1p(errors))
    weights = np.zeros(len(names))
    weights[live] = coef[:-1]
    s = z @ weights + coef[-1]
    a, b = _logistic(s, (errors < THRESHOLD_DEG).astype(float))
    if b >= 0:
        raise ValueError("the fitted error predictor does not rank errors on the fitting data (logistic slope >= 0)")
    return ConfidenceModel(names, mean=mean, scale=scale, low=low, high=high, weights=weights, bias=float(coef[-1]),
                           logistic=(a, b), threshold_deg=THRESHOLD_DEG, model_sha256=model_sha256,
                           provenance=provenance or {})


def confidences(model: ConfidenceModel, records: FaceRecords) -> np.ndarray:
    return model.probability(_columns(records, model.signals))


# -- data ------------------------------------------------------------------------------------------------
def _cached(name: str, images_fn: Callable[[], list[LabelledImage]], est: Estimator, cache: Path) -> FaceRecords:
    sha = est._head.card.sha256 if est._head is not None else "none"
    path = cache / f"{name}-{sha[:12]}.npz"
    if path.is_file():
        return FaceRecords.load(path)
    print(f"collecting {name} ...", file=sys.stderr, flush=True)
    records = collect(name, images_fn(), est)
    records.save(path)
    return records


def _folder_spec(text: str) -> tuple[Path, int | None]:
    """``FOLDER`` or ``FOLDER:N`` (the images with index < N)."""
    folder, sep, first = text.rpartition(":")
    if sep and first.isdigit() and int(first) > 0:
        return Path(folder), int(first)
    return Path(text), None


def _dataset_name(folder: Path, first: int | None = None) -> str:
    """Folder name (+ ``-firstN``) and a digest of the manifest rows used: the cache key."""
    rows = json.dumps(manifest_rows(folder, first), sort_keys=True).encode()
    return f"{folder.name}{'' if first is None else f'-first{first}'}-{hashlib.sha256(rows).hexdigest()[:8]}"


def _label(records: FaceRecords) -> str:
    """A data set's folder name without the manifest digest :func:`_dataset_name` adds."""
    head, _, tail = records.name.rpartition("-")
    return head if head and len(tail) == 8 else records.name


def by_person_halves(records: FaceRecords) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two folds: people at even / odd positions of the sorted subject list (14 and 14 of Yale B dev)."""
    people = np.unique(records.groups)
    first = np.isin(records.groups, people[::2])
    return [(first, ~first), (~first, first)]


# -- plot ------------------------------------------------------------------------------------------------
def plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """Reliability (binned confidence vs observed share of errors < threshold) and binned median error."""
    from training.plots import _pyplot

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.3))
    edges = np.linspace(0, 1, 11)
    for label, (conf, err) in curves.items():
        idx = np.clip(np.digitize(conf, edges) - 1, 0, len(edges) - 2)
        keep = [i for i in range(len(edges) - 1) if (idx == i).sum() >= 10]
        centres = np.array([conf[idx == i].mean() for i in keep])
        observed = np.array([(err[idx == i] < THRESHOLD_DEG).mean() for i in keep])
        medians = np.array([np.median(err[idx == i]) for i in keep])
        counts = np.array([(idx == i).sum() for i in keep])
        line = ax1.plot(centres, observed, "o-", label=f"{label} (n={len(err)})")[0]
        for c, o, n in zip(centres, observed, counts, strict=True):
            ax1.annotate(str(n), (c, o), fontsize=6, color=line.get_color(), xytext=(2, -8), textcoords="offset points")
        ax2.plot(centres, medians, "o-", color=line.get_color(), label=label)
    ax1.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    ax1.set_xlabel("confidence (bin mean; bins of 0.1 with >= 10 faces)")
    ax1.set_ylabel(f"observed share with error < {THRESHOLD_DEG:g} deg")
    ax1.set_xlim(0, 1)
    ax1.set_ylim(0, 1.02)
    ax1.legend(fontsize=7, loc="lower right")
    ax1.set_title("reliability", fontsize=9)
    ax2.set_xlabel("confidence (bin mean)")
    ax2.set_ylabel("median angular error per bin (deg)")
    ax2.set_xlim(0, 1)
    ax2.set_ylim(0, None)
    ax2.axhline(THRESHOLD_DEG, color="k", ls=":", lw=1)
    ax2.set_title("error by confidence", fontsize=9)
    ax2.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training calibrate-confidence", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", type=_folder_spec, nargs="+", required=True, metavar="FOLDER[:N]",
                        help="blender_gen dataset folders to fit on (manifest.jsonl with light_dir_camera); "
                             ":N takes the images with index < N only (a folder still rendering)")
    parser.add_argument("--cropped", action="store_true",
                        help="also fit on a copy of each --fit set with part of every face cut off (made once, "
                             "beside it as FOLDER[-firstN]-cropped): the only data with light-points outside the frame")
    parser.add_argument("--check", type=_folder_spec, nargs="*", default=[], metavar="FOLDER[:N]",
                        help="blender_gen dataset folders to measure on without fitting")
    parser.add_argument("--posed", action="store_true", help="also measure on posed Yale B (9216 faces; slow)")
    parser.add_argument("--cache", type=Path, default=REPO / "data" / "confidence-cache", help="per-face npz cache")
    parser.add_argument("--write", action="store_true",
                        help="write lightest/models/confidence.json and the plot (default: only print)")
    parser.add_argument("--out", type=Path, default=None,
                        help="with --write: calibration file (default: the shipped one)")  # fmt: skip
    parser.add_argument("--plot", type=Path, default=None, help=f"with --write: the plot (default: {DEFAULT_PLOT})")
    args = parser.parse_args(argv)
    if not args.write and (args.out is not None or args.plot is not None):
        parser.error("--out and --plot say where --write writes; add --write (without it nothing is written)")
    args.plot = DEFAULT_PLOT if args.plot is None else args.plot
    for folder, _ in [*args.fit, *args.check]:
        if not (folder / "manifest.jsonl").is_file():
            parser.error(f"{folder} has no manifest.jsonl (a blender_gen dataset folder is needed)")

    if args.cropped:
        made = []
        for folder, first in args.fit:
            dst = folder.parent / f"{folder.name}{'' if first is None else f'-first{first}'}-cropped"
            if not (dst / "manifest.jsonl").is_file():
                make_cropped(folder, dst, first)
            made.append((dst, None))
        args.fit = [*args.fit, *made]
    with Estimator() as est:
        if est._head is None:
            parser.error("the default estimator has no light-head model to calibrate")
        sha = est._head.card.sha256
        fit_sets = [_cached(_dataset_name(*spec), partial(render_images, *spec), est, args.cache) for spec in args.fit]
        checks = [_cached(_dataset_name(*spec), partial(render_images, *spec), est, args.cache) for spec in args.check]
        dev = _cached("yaleb-dev", yaleb_images, est, args.cache)
        posed = _cached("yaleb-posed", lambda: yaleb_images(posed=True), est, args.cache) if args.posed else None
    fit_sets = [r.subset(r.found) for r in fit_sets]

    provenance = {
        "fitted_on": {r.name: len(r.error_deg) for r in fit_sets},
        "command": "python -m training calibrate-confidence " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "light_head_sha256": sha,
    }
    model = fit(fit_sets, sha, provenance=provenance)
    print(f"fitted on {', '.join(f'{k} ({v} faces)' for k, v in provenance['fitted_on'].items())}")
    print("weights (log error per signal sd): "
          + ", ".join(f"{n} {w:+.3f}" for n, w in zip(model.signals, model.weights, strict=True))
          + f"; logistic a {model.logistic[0]:+.3f} b {model.logistic[1]:+.3f}")

    results: dict[str, dict] = {}

    def report(label: str, records: FaceRecords, conf: np.ndarray, before: bool = True) -> None:
        found = records.subset(records.found)
        n_missing = int((~records.found).sum())
        after = score(conf, found.error_deg)
        entry = {"after": after.__dict__, "faces_not_found": n_missing}
        print(f"{label} ({n_missing} faces not found, no confidence)")
        if before:
            prior = score(found.confidence_before, found.error_deg)
            entry["before"] = prior.__dict__
            print(f"  before: {prior.line()}")
        print(f"  after:  {after.line()}")
        by_error = {}
        for lo, hi in ERROR_BANDS:
            band = (found.error_deg >= lo) & (found.error_deg < hi)
            if band.any():
                by_error[f"{lo}-{hi}"] = {"faces": int(band.sum()), "after": float(np.median(conf[band])),
                                          "before": float(np.median(found.confidence_before[band]))}
        print("  median confidence by error band (before -> after): " + ", ".join(
            f"{k} deg ({v['faces']}): {v['before']:.2f} -> {v['after']:.2f}" for k, v in by_error.items()))
        entry["median_confidence_by_error_deg"] = by_error
        results[label] = entry

    for r in fit_sets:
        report(f"fit set {r.name} (in-sample)", r, confidences(model, r))
    for r in checks:
        report(f"check set {r.name} (held out)", r, confidences(model, r.subset(r.found)))
    dev_found = dev.subset(dev.found)
    report("Yale B dev, 28 people (held out: fitted on renders only)", dev, confidences(model, dev_found))
    shipped_conf = confidences(model, dev_found)
    for _, test in by_person_halves(dev_found):
        print(f"  by person, {len(np.unique(dev_found.groups[test]))} people: "
              f"{score(shipped_conf[test], dev_found.error_deg[test]).line()}")
    cross = np.zeros(len(dev_found.error_deg))
    for train, test in by_person_halves(dev_found):
        half_model = fit([dev_found.subset(train)], sha)
        cross[test] = confidences(half_model, dev_found.subset(test))
        people = len(np.unique(dev_found.groups[test]))
        print(f"  experiment, Yale B fitted on the other 14 people -> {people} people: "
              f"{score(cross[test], dev_found.error_deg[test]).line()}")
    report("Yale B dev cross-fitted by person (experiment, not shipped)", dev, cross, before=False)
    fit_label = f"fit: {', '.join(_label(r) for r in fit_sets)}"
    curves = {fit_label: (np.concatenate([confidences(model, r) for r in fit_sets]),
                          np.concatenate([r.error_deg for r in fit_sets])),
              "Yale B dev, 28 people (held out)": (confidences(model, dev_found), dev_found.error_deg)}
    for r in checks:
        curves[f"{_label(r)} (held out)"] = (confidences(model, r.subset(r.found)), r.subset(r.found).error_deg)
    if posed is not None:
        posed_found = posed.subset(posed.found)
        report("posed Yale B, 18 people x 8 poses (held out)", posed, confidences(model, posed_found))
        curves["posed Yale B (held out)"] = (confidences(model, posed_found), posed_found.error_deg)

    if args.write:
        out = args.out or default_confidence_path()
        model = ConfidenceModel(**{**model.__dict__, "provenance": {**provenance, "scores": results}})
        model.save(out)
        title = (f"lightest confidence = P(direction error < {THRESHOLD_DEG:g} deg), default light head ({sha[:12]})\n"
                 f"fitted on {', '.join(_label(r) for r in fit_sets)}; everything else held out")
        plot(curves, args.plot, title)
        print(f"wrote {out} and {args.plot}")
    return 0

