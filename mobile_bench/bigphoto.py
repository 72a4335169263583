"""Big photos from file: time and peak memory of ``Estimator.estimate_path`` on an 8000x6000 photo vs the same
face in a 1920x1080 one (issue 16, part 3).

``python -m mobile_bench bigphoto [--runs 15] [--face 600 300] [--out DIR]``

Scenes: the shipped example face (``examples/lee_perry_smith.png``) scaled so its landmark box's longer side is
``--face`` pixels, cut out as a square 1.6x that side (the mesh crop is 1.5x) and pasted into a photo-like
background (colour blobs at several scales plus sensor grain, seeded); written as JPEG (quality 90) and PNG.
The same face pixels go into the 1920x1080 and the 8000x6000 scene (and ``--face`` 600 300 gives both sizes).
Time: one process, one estimator, the cases interleaved run by run, median per case (after a warm-up call each,
so the files sit in the page cache); "decode ms" is ``read_image`` alone (the decode ``estimate_path`` starts
with), and the 1/8 decode of the big JPEG shows the floor any reduced decode has: libjpeg still entropy-decodes
the whole file. Peak memory: the high-water resident set (``VmHWM``) of a fresh subprocess that makes an
estimator and estimates one file, next to that of one that only makes the estimator. The same scenes already
in memory (a decoded BGR array, as a camera or an app's own decoder hands it over) are timed too, through
``Estimator.estimate``, interleaved with the files: what the estimator costs without the file's decode.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lightest import Estimator
from lightest.image_io import load_image, read_image
from mobile_bench.stages import EXAMPLE, machine_description

__all__ = ["Scene", "main", "make_scene", "peak_rss_mb", "write_scene"]

#: Face (landmark box longer side) of the shipped example, in its own pixels, and its centre (measured once
#: with the default estimator: face_box (206, 113, 197, 236)).
EXAMPLE_FACE_PX = 236
EXAMPLE_FACE_CENTRE = (206 + 197 / 2, 113 + 236 / 2)
#: The pasted square around the face, in face sizes (the mesh crop covers 1.5).
PATCH = 1.6
BIG, HD = (8000, 6000), (1920, 1080)
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Scene:
    """A synthetic photo: the example face of ``face_px`` pixels with its centre at ``centre``."""

    image: np.ndarray | None
    face_px: int
    centre: tuple[float, float]


def _background(size: tuple[int, int], seed: int) -> np.ndarray:
    """Photo-like texture: smooth colour blobs at three scales plus grain (sigma 4 grey levels)."""
    w, h = size
    rng = np.random.default_rng(seed)
    out = np.zeros((h, w, 3), np.float32)
    for cell, amp in ((w // 6, 70.0), (w // 60, 25.0), (12, 8.0)):
        small = rng.normal(0.0, amp, size=(h // cell + 2, w // cell + 2, 3)).astype(np.float32)
        out += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    band = 512
    for y in range(0, h, band):  # grain in bands: no 48M-element float64 temporaries
        rows = out[y : y + band]
        rows += rng.normal(0.0, 4.0, size=rows.shape).astype(np.float32)
    out += 120.0
    return np.clip(out, 0, 255).astype(np.uint8)


def make_scene(size: tuple[int, int], face_px: int, seed: int = 0, at: tuple[float, float] = (0.4, 0.45)) -> Scene:
    """The example face scaled to ``face_px`` pixels, pasted at ``at`` (fractions of width, height) of a
    ``size`` (width, height) background."""
    face = load_image(EXAMPLE)
    k = face_px / EXAMPLE_FACE_PX
    side = round(PATCH * face_px)
    cx, cy = EXAMPLE_FACE_CENTRE
    # affine: patch pixel (u, v) <- example pixel ((u - side/2) / k + cx, ...)
    m = np.array([[k, 0.0, side / 2 - k * cx], [0.0, k, side / 2 - k * cy]])
    patch = cv2.warpAffine(face, m, (side, side), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    image = _background(size, seed)
    w, h = size
    if side > min(w, h):
        raise ValueError(f"a {face_px} px face ({side} px patch) does not fit in {w}x{h}")
    x0 = int(np.clip(round(at[0] * w - side / 2), 0, w - side))
    y0 = int(np.clip(round(at[1] * h - side / 2), 0, h - side))
    image[y0 : y0 + side, x0 : x0 + side] = patch
    return Scene(image, face_px, (x0 + side / 2, y0 + side / 2))


def write_scene(scene: Scene, path: Path) -> Path:
    """Write ``scene`` as JPEG (quality 90) or PNG by ``path``'s suffix."""
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), scene.image, params):
        raise OSError(f"could not write {path}")
    return path


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (this benchmark's own peak).
_RSS_CHILD = """
import json, re, sys
from lightest import Estimator
est = Estimator(num_threads=1)
r = est.estimate_path(sys.argv[1]) if len(sys.argv) > 1 else None
box = None if r is None else list(r.face_box)
kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
print(json.dumps({"peak_mb": kb / 1024, "face_box": box}))
"""


def peak_rss_mb(path: Path | None) -> tuple[float, list[int] | None]:
    """Peak resident memory (MB) of a fresh process that makes an estimator and estimates ``path`` (None:
    only makes the estimator), and the face box it found."""
    args = [sys.executable, "-c", _RSS_CHILD] + ([] if path is None else [str(path)])
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    return float(out["peak_mb"]), out["face_box"]


def _found(box: list[int] | tuple[int, ...] | None, scene: Scene) -> bool:
    """The face box holds the pasted face's centre and is within 30 % of its size."""
    if box is None:
        return False
    x, y, w, h = box
    cx, cy = scene.centre
    return x <= cx <= x + w and y <= cy <= y + h and abs(max(w, h) / scene.face_px - 1.0) < 0.3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench bigphoto", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed calls per case (default 15)")
    parser.add_argument("--face", type=int, nargs="+", default=[600, 300], help="face sizes in pixels")
    parser.add_argument("--out", type=Path, help="keep the scene files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases: list[tuple[str, Scene, Path]] = []  # scenes kept without their pixels
        arrays: dict[str, Scene] = {}  # and with them, for the in-memory timings
        for face in args.face:
            for size in (HD, BIG):
                scene = make_scene(size, face, seed=face)
                arrays[f"{size[0]}x{size[1]}_face{face}"] = scene
                for ext in (".jpg", ".png"):
                    name = f"{size[0]}x{size[1]}_face{face}{ext}"
                    cases.append((name, Scene(None, face, scene.centre), write_scene(scene, folder / name)))
        times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        decode: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        floor: list[float] = []  # the 1/8 decode of the first big JPEG: entropy decoding of the whole file
        big_jpeg = next(path for name, _, path in cases if name.startswith(f"{BIG[0]}x") and path.suffix == ".jpg")
        big_bytes = np.fromfile(big_jpeg, np.uint8)
        found: dict[str, bool] = {}
        in_memory: dict[str, list[float]] = {name: [] for name in arrays}
        with Estimator(num_threads=1) as est:
            for name, scene, path in cases:  # warm-up: page cache, graphs
                found[name] = _found(None if (r := est.estimate_path(path)) is None else r.face_box, scene)
            for name, scene in arrays.items():
                found[name] = _found(None if (r := est.estimate(scene.image)) is None else r.face_box, scene)
            for _ in range(args.runs):
                for name, _, path in cases:
                    t0 = time.perf_counter()
                    est.estimate_path(path)
                    t1 = time.perf_counter()
                    read_image(path)
                    t2 = time.perf_counter()
                    times[name].append((t1 - t0) * 1e3)
                    decode[name].append((t2 - t1) * 1e3)
                for name, scene in arrays.items():
                    t0 = time.perf_counter()
                    est.estimate(scene.image)
                    in_memory[name].append((time.perf_counter() - t0) * 1e3)
                t0 = time.perf_counter()
                cv2.imdecode(big_bytes, cv2.IMREAD_REDUCED_COLOR_8)
                floor.append((time.perf_counter() - t0) * 1e3)
        base_mb, _ = peak_rss_mb(None)
        print(f"machine: {machine_description()}; estimate_path, 1 LiteRT thread; {args.runs} interleaved runs")
        print(f"peak RSS of a process that only makes the estimator: {base_mb:.0f} MB")
        print(f"{'file':<28}{'MB':>7}{'found':>7}{'median ms':>11}{'vs HD':>7}{'decode ms':>11}{'peak RSS MB':>13}")
        for name, scene, path in cases:
            median = float(np.median(times[name]))
            hd_name = f"{HD[0]}x{HD[1]}_face{scene.face_px}{path.suffix}"
            ratio = median / float(np.median(times[hd_name]))
            peak, box = peak_rss_mb(path)
            ok = found[name] and _found(box, scene)
            size_mb = path.stat().st_size / 1e6
            dec = float(np.median(decode[name]))
            row = f"{size_mb:>7.1f}{'yes' if ok else 'NO':>7}{median:>11.1f}{ratio:>7.2f}{dec:>11.1f}{peak:>13.0f}"
            print(f"{name:<28}{row}")
        print(f"{big_jpeg.name} decoded at 1/8 (libjpeg must still entropy-decode the whole file): "
              f"{np.median(floor):.1f} ms")  # fmt: skip
        print(f"\n{'in memory (BGR array), estimate':<34}{'found':>7}{'median ms':>11}{'vs HD':>7}")
        for name, scene in arrays.items():
            median = float(np.median(in_memory[name]))
            ratio = median / float(np.median(in_memory[f"{HD[0]}x{HD[1]}_face{scene.face_px}"]))
            print(f"{name:<34}{'yes' if found[name] else 'NO':>7}{median:>11.1f}{ratio:>7.2f}")
    return 0
