"""Zero-shot evaluation on Yale B real faces (research use only: test and model selection, never training).

``python -m training yaleb [--subjects yaleB01 yaleB02 | --all] [--posed] [--method physics] [--landmarks mediapipe]``

Faces not found, and faces found but not estimated, count as 180 deg failures in every statistic.
``--posed`` reads the 8 extra head poses of ``../shared/data/yaleb_posed`` (18 people, truth from its
``labels.csv`` in the camera frame) instead of the frontal ``data/yaleb``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lightest import Estimator, frames
from lightest.image_io import load_image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_YALEB = REPO.parent / "shared" / "data" / "yaleb"
DEFAULT_POSED = REPO.parent / "shared" / "data" / "yaleb_posed"
FAILURE_DEG = 180.0
#: The quick default: two frontal subjects (with --posed: every subject, as yaleb_posed has no 01/02).
SUBJECTS = ["yaleB01", "yaleB02"]
_NAME = re.compile(r"_P00A([+-]\d{3})E([+-]\d{2})\.pgm$")


@dataclass(frozen=True)
class YaleBImage:
    path: Path
    subject: str
    direction: np.ndarray  # camera frame (lightest.frames)


@dataclass(frozen=True)
class YaleBScore:
    """Angle-error statistics over a set of images (failures included as 180 deg)."""

    images: int
    faces_found: int
    estimated: int
    median_deg: float
    mean_deg: float
    p90_deg: float


def list_images(root: Path, subjects: list[str] | None = None) -> list[YaleBImage]:
    """The lit frontal images (``*_P00A*E*.pgm``) of the given subjects (all when None)."""
    if not root.is_dir():
        raise FileNotFoundError(f"Yale B not found at {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if subjects is not None:
        missing = sorted(set(subjects) - {p.name for p in folders})
        if missing:
            raise FileNotFoundError(f"subjects not in {root}: {missing}")
        folders = [p for p in folders if p.name in subjects]
    out = []
    for folder in folders:
        for path in sorted(folder.glob("*.pgm")):
            m = _NAME.search(path.name)
            if m:
                out.append(YaleBImage(path, folder.name, frames.direction_from_yaleb(float(m[1]), float(m[2]))))
    return out


def list_posed_images(root: Path, subjects: list[str] | None = None) -> list[YaleBImage]:
    """The posed faces listed in ``root/labels.csv`` (all subjects when None), truth in the camera frame."""
    labels = root / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"posed Yale B not found at {root} (no labels.csv)")
    with labels.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if subjects is not None:
        missing = sorted(set(subjects) - {r["subject"] for r in rows})
        if missing:
            raise FileNotFoundError(f"subjects not in {labels}: {missing}")
    return [
        YaleBImage(root / r["file"], r["subject"], np.array([float(r[k]) for k in ("lx_cam", "ly_cam", "lz_cam")]))
        for r in rows
        if subjects is None or r["subject"] in subjects
    ]


def angle_errors(estimator: Estimator, images: list[YaleBImage]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image: angle error (deg, 180 on failure), face found?, estimated?"""
    errors, found, estimated = [], [], []
    for i, img in enumerate(images):
        pixels = load_image(img.path)
        landmarks = estimator.detect_landmarks(pixels)
        r = None if landmarks is None else estimator.estimate_with_landmarks(pixels, landmarks)
        found.append(landmarks is not None)
        estimated.append(r is not None)
        errors.append(FAILURE_DEG if r is None else frames.angle_between_deg(np.array(r.direction), img.direction))
        if (i + 1) % 64 == 0:
            print(f"  {i + 1}/{len(images)} images", file=sys.stderr, flush=True)
    return np.array(errors), np.array(found), np.array(estimated)


def score(errors: np.ndarray, found: np.ndarray, estimated: np.ndarray) -> YaleBScore:
    return YaleBScore(
        images=len(errors),
        faces_found=int(found.sum()),
        estimated=int(estimated.sum()),
        median_deg=float(np.median(errors)),
        mean_deg=float(np.mean(errors)),
        p90_deg=float(np.percentile(errors, 90)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training yaleb", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--subjects", nargs="+", help=f"default: {' '.join(SUBJECTS)} (with --posed: all)")
    group.add_argument("--all", action="store_true", help="all 28 subjects")
    parser.add_argument("--posed", action="store_true", help="the 8 extra head poses (data/yaleb_posed)")
    parser.add_argument("--root", type=Path, help="dataset folder (default: ../shared/data/yaleb or yaleb_posed)")
    parser.add_argument("--method", default="physics", choices=("auto", "physics", "model"))
    parser.add_argument("--landmarks", default="mediapipe", choices=("mediapipe", "dlib"))
    parser.add_argument("--model", type=Path, help="a .tflite with its card")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    args = parser.parse_args(argv)
    if args.posed:
        images = list_posed_images(args.root or DEFAULT_POSED, None if args.all else args.subjects)
    else:
        images = list_images(args.root or DEFAULT_YALEB, None if args.all else args.subjects or SUBJECTS)
    t0 = time.perf_counter()
    with Estimator(method=args.method, landmarks=args.landmarks, model_path=args.model) as est:
        errors, found, estimated = angle_errors(est, images)
        method = est.method
    s = score(errors, found, estimated)
    subjects = sorted({i.subject for i in images})
    kind = "posed Yale B" if args.posed else "Yale B"
    print(f"{kind}, {len(subjects)} subjects, {s.images} images, method={method}, landmarks={args.landmarks}")
    print(f"faces found {s.faces_found}/{s.images} ({s.faces_found / s.images:.1%}), estimated {s.estimated}")
    print(f"angle error (failures = 180 deg): median {s.median_deg:.2f}  mean {s.mean_deg:.2f}  p90 {s.p90_deg:.2f}")
    print(f"{time.perf_counter() - t0:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"subjects": subjects, "method": method, **asdict(s)}, indent=1))
    return 0
