"""``lightest`` command line: estimate the light in face photos."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2

from lightest.estimator import METHODS, Estimator
from lightest.image_io import load_image
from lightest.landmarks import BACKENDS
from lightest.overlay import draw_overlay

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightest", description="Where does the light on a face come from?")
    sub = parser.add_subparsers(dest="command", required=True)
    est = sub.add_parser(
        "estimate",
        help="estimate the light direction in face images",
        description="Prints one line per image: azimuth and elevation in degrees (camera frame: +azimuth = "
        "light toward image right, +elevation = up) and confidence; or JSON with --json.",
    )
    est.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, PGM, ...)")
    est.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    est.add_argument(
        "--overlay",
        metavar="OUT",
        type=Path,
        help="write an annotated image: a file path for one input, a directory for several",
    )
    est.add_argument("--method", choices=METHODS, default="auto", help="default: bundled model, else physics")
    est.add_argument("--landmarks", choices=BACKENDS, default="mediapipe", help="landmark backend")
    est.add_argument("--model", type=Path, help="a .tflite model (with its .card.json) to use")
    return parser


def _overlay_path(out: Path, image: Path, several: bool) -> Path:
    if several:
        out.mkdir(parents=True, exist_ok=True)
        return out / f"{image.stem}_overlay.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _estimate(args: argparse.Namespace) -> int:
    failures = 0
    several = len(args.images) > 1
    with Estimator(method=args.method, landmarks=args.landmarks, model_path=args.model) as est:
        for name in args.images:
            path = Path(name)
            try:
                image = load_image(path)
            except (OSError, ValueError) as exc:
                failures += 1
                print(f"{path}: error: {exc}", file=sys.stderr)
                continue
            result = est.estimate(image)
            if result is None:
                failures += 1
                print(json.dumps({"image": str(path), "face": False}) if args.json else f"{path}: no face")
                continue
            if args.json:
                print(json.dumps({"image": str(path), "face": True, **result.to_dict()}))
            else:
                print(
                    f"{path}: azimuth {result.azimuth_deg:+7.2f} deg  elevation {result.elevation_deg:+7.2f} deg  "
                    f"confidence {result.confidence:.2f}  ({result.method})"
                )
            if args.overlay is not None:
                out = _overlay_path(args.overlay, path, several)
                if not cv2.imwrite(str(out), draw_overlay(image, result)):
                    raise OSError(f"could not write overlay {out}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lightest`` command; returns the exit status (1 if any image failed)."""
    args = _parser().parse_args(argv)
    try:
        return _estimate(args)
    except (FileNotFoundError, ValueError, ImportError, OSError) as exc:
        print(f"lightest: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
