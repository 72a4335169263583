"""Natural-light and Yale B scores of several light estimators side by side (issue 14's evaluation).

Every estimator answers per image with a :class:`Guess` (direction, ambient share, SH, colour; any may be
missing). One face detection per image feeds all of them: the shipped default and the physics method
through :meth:`lightest.Estimator.estimate_with_landmarks`, trained natural-light runs through the
observer's light-point measurement (the light-head graph's own crop path).

Metrics on the natural held-out renders (:mod:`training.natural_split`), against the labels of
:mod:`blender_gen.envsh`:

- dominant direction: angle to ``dominant_dir_camera``; a face not found counts 180 deg (as on Yale B);
- SH irradiance error: :func:`lightest.sh.relative_irradiance_error` (luminance irradiance over 2000 normals,
  both normalised by their mean) of the estimate's SH against ``sh_rgb``;
- colour: CCT error in kelvin and chromaticity distance (CIE 1960 uv, the space CCT and Duv live in) of the
  dominant light, ``dominant_cct_k`` / ``dominant_xy``. An estimator without a colour (``color`` None) is
  scored as guessing white (D65, 6504 K): the error a colour-blind estimator makes;
- ambient share: absolute error against ``ambient_share``.

Statistics other than the direction's are over the faces found (the count is in the table).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from blender_gen import envsh
from lightest import Estimator, frames
from lightest.features import LightPointObservation
from lightest.image_io import load_image
from lightest.landmarks.base import FaceLandmarks
from lightest.observer import LightPointObserver
from lightest.result import LightEstimate
from lightest.sh import relative_irradiance_error, sh_from_shares, sphere_directions

FAILURE_DEG = 180.0
#: CIE 1931 chromaticity of D65, the white a colour-blind estimator is scored as guessing.
WHITE_XY = np.array([0.31271, 0.32902])
#: Yale B elevation bias is taken over lights within this angle of the camera axis (issue 14).
FRONTAL_DEG = 30.0


@dataclass(frozen=True)
class Guess:
    """One estimator's answers for n images (NaN rows: no face or no answer; ``xy`` None: no colour at all)."""

    direction: np.ndarray  # (n, 3) camera frame
    ambient: np.ndarray  # (n,)
    sh: np.ndarray  # (n, 9, 3) incoming radiance (lightest.sh), any exposure
    xy: np.ndarray | None  # (n, 2) CIE 1931 chromaticity of the dominant light

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.direction).all(axis=1)


@dataclass(frozen=True)
class NaturalTruth:
    """Labels of natural renders (NaN where a render has none, e.g. no dominant direction)."""

    direction: np.ndarray  # (n, 3)
    ambient: np.ndarray  # (n,)
    sh: np.ndarray  # (n, 9, 3)
    xy: np.ndarray  # (n, 2)
    cct_k: np.ndarray  # (n,)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> NaturalTruth:
        def arr(name: str, shape: tuple[int, ...]) -> np.ndarray:
            return np.array([np.full(shape, np.nan) if r.get(name) is None else np.reshape(r[name], shape)
                             for r in rows], dtype=np.float64).reshape(len(rows), *shape)

        return cls(arr("dominant_dir_camera", (3,)), arr("ambient_share", ()), arr("sh_rgb", (9, 3)),
                   arr("dominant_xy", (2,)), arr("dominant_cct_k", ()))


def guess_from_estimates(estimates: list[LightEstimate | None]) -> Guess:
    """A :class:`Guess` from runtime estimates (colour from ``color`` when given, as linear RGB)."""
    n = len(estimates)
    direction, ambient = np.full((n, 3), np.nan), np.full(n, np.nan)
    sh, xy = np.full((n, 9, 3), np.nan), np.full((n, 2), np.nan)
    has_colour = False
    for i, e in enumerate(estimates):
        if e is None:
            continue
        direction[i], sh[i] = e.direction, e.sh
        ambient[i] = np.nan if e.ambient is None else e.ambient
        if e.color is not None:
            has_colour = True
            xy[i] = envsh.rgb_to_xy(np.asarray(e.color, dtype=np.float64))
    return Guess(direction, ambient, sh, xy if has_colour else None)


def label_light_guess(truth: NaturalTruth) -> Guess:
    """The labels' own dominant direction and ambient share turned into SH the way the runtime synthesises
    ``sh`` (:func:`lightest.sh.sh_from_shares`): the best SH error any one-light-plus-ambient answer can get."""
    n = len(truth.ambient)
    sh = np.full((n, 9, 3), np.nan)
    for i in range(n):
        if np.isfinite(truth.direction[i]).all() and np.isfinite(truth.ambient[i]):
            sh[i] = sh_from_shares(truth.direction[i], 1.0, float(min(truth.ambient[i], 0.999)))
    return Guess(truth.direction.copy(), truth.ambient.copy(), sh, truth.xy.copy())


def uv1960(xy: np.ndarray) -> np.ndarray:
    """CIE 1960 uv of CIE 1931 xy ``(..., 2)``."""
    x, y = xy[..., 0], xy[..., 1]
    den = -2.0 * x + 12.0 * y + 3.0
    return np.stack([4.0 * x / den, 6.0 * y / den], axis=-1)


def _stats(values: np.ndarray, prefix: str) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return {f"{prefix}_median": math.nan, f"{prefix}_mean": math.nan, f"{prefix}_p90": math.nan}
    return {f"{prefix}_median": float(np.median(v)), f"{prefix}_mean": float(np.mean(v)),
            f"{prefix}_p90": float(np.percentile(v, 90))}


def natural_scores(guess: Guess, truth: NaturalTruth) -> dict[str, Any]:
    """All natural-light metrics of one estimator (see the module docstring)."""
    found = guess.found
    n = len(found)
    has_dir = np.isfinite(truth.direction).all(axis=1)
    angle = np.full(n, FAILURE_DEG)
    ok = found & has_dir
    angle[ok] = frames.angle_between_deg(frames.normalize(guess.direction[ok]), truth.direction[ok])
    normals = sphere_directions()
    sh_err = np.full(n, np.nan)
    for i in np.flatnonzero(found & np.isfinite(truth.sh).all(axis=(1, 2)) & np.isfinite(guess.sh).all(axis=(1, 2))):
        try:
            sh_err[i] = relative_irradiance_error(guess.sh[i], truth.sh[i], normals)
        except ValueError:  # an estimate whose irradiance has no positive mean: as wrong as can be
            sh_err[i] = np.inf
    xy = np.broadcast_to(WHITE_XY, (n, 2)) if guess.xy is None else guess.xy
    has_xy = found & np.isfinite(truth.xy).all(axis=1) & np.isfinite(xy).all(axis=1)
    cct_err, uv_err = np.full(n, np.nan), np.full(n, np.nan)
    for i in np.flatnonzero(has_xy & np.isfinite(truth.cct_k)):
        cct_err[i] = abs(envsh.cct_duv(xy[i])[0] - truth.cct_k[i])
    uv_err[has_xy] = np.linalg.norm(uv1960(xy[has_xy]) - uv1960(truth.xy[has_xy]), axis=1)
    amb_err = np.abs(guess.ambient - truth.ambient)
    amb_err[~found] = np.nan
    return {
        "images": n,
        "faces_found": int(found.sum()),
        "direction_images": int(has_dir.sum()),
        **_stats(angle[has_dir], "direction_deg"),
        **_stats(sh_err, "sh_irradiance_error"),
        **_stats(cct_err, "cct_error_k"),
        **_stats(uv_err, "uv_error"),
        **_stats(amb_err, "ambient_error"),
        "colour": "white guess (D65)" if guess.xy is None else "estimated",
    }


def yaleb_scores(guess: Guess, truth: np.ndarray, frontal_deg: float = FRONTAL_DEG) -> dict[str, Any]:
    """Angle statistics (failures 180 deg) and the mean signed elevation error (estimate minus truth, deg)
    over the lights within ``frontal_deg`` of the camera axis whose faces were found."""
    found = guess.found
    angle = np.full(len(found), FAILURE_DEG)
    angle[found] = frames.angle_between_deg(frames.normalize(guess.direction[found]), truth[found])
    frontal = np.degrees(np.arccos(np.clip(truth[:, 2], -1.0, 1.0))) <= frontal_deg
    sel = frontal & found
    elev = lambda d: np.degrees(np.arcsin(np.clip(frames.normalize(d)[:, 1], -1.0, 1.0)))  # noqa: E731
    bias = float(np.mean(elev(guess.direction[sel]) - elev(truth[sel]))) if sel.any() else math.nan
    return {
        "images": len(found),
        "faces_found": int(found.sum()),
        **_stats(angle, "direction_deg"),
        "frontal_images": int(frontal.sum()),
        "frontal_found": int(sel.sum()),
        "frontal_elevation_bias_deg": bias,
    }


#: A trained predictor: light-point observations -> Guess (the found rows of a dataset).
ObservationPredictor = Callable[[list[LightPointObservation]], Guess]


def run_all(
    paths: Iterable[Path],
    estimators: dict[str, Estimator],
    predictors: dict[str, ObservationPredictor],
    label: str = "",
) -> dict[str, Guess]:
    """One detection per image, every estimator and predictor on it; ``{name: Guess}`` in that order."""
    paths = list(paths)
    answers: dict[str, list[LightEstimate | None]] = {name: [] for name in estimators}
    observations: list[LightPointObservation] = []
    found: list[bool] = []
    with LightPointObserver(landmarks="mediapipe", light_points="mesh-v1") as observer:
        for k, path in enumerate(paths, 1):
            pixels = load_image(path)
            seen: tuple[FaceLandmarks, LightPointObservation] | None = observer.observe(pixels)
            found.append(seen is not None)
            if seen is not None:
                observations.append(seen[1])
            for name, est in estimators.items():
                answers[name].append(None if seen is None else est.estimate_with_landmarks(pixels, seen[0]))
            if k % 200 == 0 or k == len(paths):
                print(f"\r  {label}: {k}/{len(paths)} images, {sum(found)} faces", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    out = {name: guess_from_estimates(a) for name, a in answers.items()}
    rows = np.flatnonzero(found)
    for name, predict in predictors.items():
        part = predict(observations) if observations else None
        n = len(paths)
        g = Guess(np.full((n, 3), np.nan), np.full(n, np.nan), np.full((n, 9, 3), np.nan),
                  None if part is not None and part.xy is None else np.full((n, 2), np.nan))
        if part is not None:
            g.direction[rows], g.ambient[rows], g.sh[rows] = part.direction, part.ambient, part.sh
            if part.xy is not None and g.xy is not None:
                g.xy[rows] = part.xy
        out[name] = g
    return out


def subset(guess: Guess, truth: NaturalTruth, mask: np.ndarray) -> tuple[Guess, NaturalTruth]:
    """The rows of ``mask`` of a guess and its truth."""
    g = Guess(guess.direction[mask], guess.ambient[mask], guess.sh[mask], None if guess.xy is None else guess.xy[mask])
    t = NaturalTruth(truth.direction[mask], truth.ambient[mask], truth.sh[mask], truth.xy[mask], truth.cct_k[mask])
    return g, t


def held_out_kinds(rows: list[dict[str, Any]], test_hdri: str) -> dict[str, np.ndarray]:
    """Masks of the held-out rows by why they are held out, and the Yale B-like lab-light renders among them."""
    unseen = np.array([r["hdri"] == test_hdri for r in rows])
    lab = np.array([bool(r.get("lab")) for r in rows])
    return {f"unseen HDRI ({test_hdri})": unseen, "unseen rotation sector": ~unseen, "lab light (Yale B-like)": lab}


def format_kinds(table: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Direction median / SH error median / CCT error median per estimator (rows) and held-out kind (columns)."""
    kinds = list(next(iter(table.values())))
    head = f"{'dir. med deg / SH err med / CCT err med K':<34}" + "".join(f"{k:>34}" for k in kinds)
    lines = [head, "-" * len(head)]
    for name, per_kind in table.items():
        cells = []
        for k in kinds:
            s = per_kind[k]
            cells.append(f"{s['direction_deg_median']:.1f} / {100 * s['sh_irradiance_error_median']:.0f} % / "
                         f"{s['cct_error_k_median']:.0f} (n={s['images']})")
        lines.append(f"{name:<34}" + "".join(f"{c:>34}" for c in cells))
    return "\n".join(lines)


def format_natural(rows: list[tuple[str, dict[str, Any]]]) -> str:
    head = (f"{'estimator':<34}{'found':>11}{'direction med / p90 deg':>25}{'SH irr. err med / mean':>24}"
            f"{'CCT err med K':>15}{'uv err med':>12}{'ambient err med':>17}  colour")
    lines = [head, "-" * len(head)]
    for name, s in rows:
        lines.append(
            f"{name:<34}{s['faces_found']:>5}/{s['images']:<5}"
            f"{s['direction_deg_median']:>13.2f} / {s['direction_deg_p90']:<8.2f}"
            f"{100 * s['sh_irradiance_error_median']:>11.1f} % / {100 * s['sh_irradiance_error_mean']:.1f} %  "
            f"{s['cct_error_k_median']:>13.0f}{s['uv_error_median']:>12.4f}{s['ambient_error_median']:>17.3f}"
            f"  {s['colour']}"
        )
    return "\n".join(lines)


def format_yaleb(rows: list[tuple[str, dict[str, Any]]]) -> str:
    head = (f"{'estimator':<34}{'found':>13}{'med / mean / p90 deg':>26}"
            f"{f'elev. bias, lights <= {FRONTAL_DEG:.0f} deg':>30}")
    lines = [head, "-" * len(head)]
    for name, s in rows:
        lines.append(
            f"{name:<34}{s['faces_found']:>6}/{s['images']:<6}"
            f"{s['direction_deg_median']:>9.2f} / {s['direction_deg_mean']:.2f} / {s['direction_deg_p90']:.2f}"
            f"{s['frontal_elevation_bias_deg']:>+16.2f} deg ({s['frontal_found']} img)"
        )
    return "\n".join(lines)
