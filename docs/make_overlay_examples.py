"""Make the overlay images in docs/: the old and the new ``--overlay`` on the example render and a Yale B face.

    python docs/make_overlay_examples.py            # from the repository root; needs git and ../shared

Writes ``docs/overlay_example.jpg`` (the overlay of ``examples/lee_perry_smith.png``, shown in README.md)
and ``docs/overlay_before_after.jpg`` (before = ``lightest/overlay.py`` as of commit ``BEFORE``, read from
git; after = today's; the Yale B face shown at 2x, nearest neighbour, so its pixels stay visible).
Yale B is research-only data: this one face is shown in docs/ to compare overlays, nothing else of it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np

from lightest import Estimator
from lightest.image_io import load_image
from lightest.overlay import draw_overlay

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lee_perry_smith.png"
YALEB_FACE = REPO.parent / "shared" / "data" / "yaleb" / "yaleB01" / "yaleB01_P00A-035E+15.pgm"
BEFORE = "8971bae"  # the last commit with the old overlay (340 dots, x/y arrow, corner sphere)
SHEET, INK, GAP = (255, 255, 255), (40, 40, 40), 16


def old_overlay_module() -> types.ModuleType:
    """``lightest/overlay.py`` as it was at ``BEFORE``, loaded from git as a module."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{BEFORE}:lightest/overlay.py"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("overlay_before")
    exec(compile(source, f"{BEFORE}:lightest/overlay.py", "exec"), module.__dict__)
    return module


def caption(width: int, text: str, scale: float = 0.6) -> np.ndarray:
    strip = np.full((32, width, 3), SHEET, np.uint8)
    cv2.putText(strip, text, (4, 22), cv2.FONT_HERSHEY_SIMPLEX, scale, INK, 1, cv2.LINE_AA)
    return strip


def cell(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` centred horizontally, top-aligned, on a white ``width`` x ``height`` cell."""
    out = np.full((height, width, 3), SHEET, np.uint8)
    x = (width - image.shape[1]) // 2
    out[: image.shape[0], x : x + image.shape[1]] = image
    return out


def row(images: list[np.ndarray], width: int) -> np.ndarray:
    height = max(im.shape[0] for im in images)
    gap = np.full((height, GAP, 3), SHEET, np.uint8)
    parts = [part for im in images for part in (gap, cell(im, width, height))]
    return np.hstack(parts[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    if not YALEB_FACE.is_file():
        print(f"make_overlay_examples: {YALEB_FACE} is missing (../shared/data/yaleb)", file=sys.stderr)
        return 2
    old = old_overlay_module()
    with Estimator() as est:
        example, face = load_image(EXAMPLE), load_image(YALEB_FACE)
        r_example, r_face = est.estimate(example), est.estimate(face)
    if r_example is None or r_face is None:
        print("make_overlay_examples: no face found", file=sys.stderr)
        return 1
    new_example = draw_overlay(example, r_example)
    args.out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out / "overlay_example.jpg"), new_example, [cv2.IMWRITE_JPEG_QUALITY, 90])

    def twice(im: np.ndarray) -> np.ndarray:
        return cv2.resize(im, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)

    w = example.shape[1]
    yaleb_title = f"{YALEB_FACE.name}  ({face.shape[1]}x{face.shape[0]}, Extended Yale B, shown at 2x)"
    sheet = np.vstack(
        [
            row([caption(w, "before"), caption(w, "after")], w),
            caption(2 * w + GAP, f"{EXAMPLE.name}  ({example.shape[1]}x{example.shape[0]}, Blender render)", 0.5),
            row([old.draw_overlay(example, r_example), new_example], w),
            caption(2 * w + GAP, yaleb_title, 0.5),
            row([twice(old.draw_overlay(face, r_face)), twice(draw_overlay(face, r_face))], w),
            np.full((GAP, 2 * w + GAP, 3), SHEET, np.uint8),
        ]
    )
    cv2.imwrite(str(args.out / "overlay_before_after.jpg"), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    for name, r in (("example", r_example), ("yaleb", r_face)):
        print(f"{name}: azimuth {r.azimuth_deg:+.1f} deg, elevation {r.elevation_deg:+.1f} deg, "
              f"confidence {r.confidence:.2f} ({r.method})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
