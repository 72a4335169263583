"""Per-stage wall times of ``Estimator`` on one frame: landmarks, sampling, estimate (median of N runs).

With the default light head (``--method auto``) ``sampling`` is the light-head graph's invoke (sampling,
features, regressor and head axes in one) and ``estimate`` building the ``LightEstimate``; ``--method physics``
shows the numpy sampling of the face crop and the fit. Frames run back to back, as in an app.

``python -m mobile_bench stages [--image PATH] [--size 640x480] [--runs 200] [--method physics]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lightest import Estimator
from lightest.image_io import load_image
from lightest.lighthead import CROP_DISC_RADIUS
from lightest.lightpoints import mesh_triangles
from lightest.physics import VertexNormals
from lightest.sampling import sample_crop

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lee_perry_smith.png"


def machine_description() -> str:
    """CPU model and core count, for labelling every published timing."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def median_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and 95th percentile wall time of ``fn`` in milliseconds over ``runs`` calls (after 5 warm-ups)."""
    for _ in range(5):
        fn()
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3)


def frame(image: Path, size: tuple[int, int]) -> np.ndarray:
    """The test frame: ``image`` letterboxed to ``size`` (width, height) without distortion."""
    img = load_image(image)
    w, h = size
    scale = min(w / img.shape[1], h / img.shape[0])
    resized = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y0, x0 = (h - resized.shape[0]) // 2, (w - resized.shape[1]) // 2
    out[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobile_bench stages", description=__doc__)
    parser.add_argument("--image", type=Path, default=EXAMPLE)
    parser.add_argument("--size", default="640x480", help="frame WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--method", default="physics", choices=("physics", "model", "auto"))
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    img = frame(args.image, (w, h))
    cv2.setNumThreads(1)
    with Estimator(method=args.method, num_threads=1) as est:
        observed = est.observe(img)
        if observed is None:
            raise SystemExit(f"no face in {args.image} at {w}x{h}")
        landmarks, obs = observed
        stages = [est.estimate_timed(img)[1] for _ in range(args.runs)]
        points = obs.points
        crop, ids = landmarks.crop, est.light_points.a
        size = (img.shape[1], img.shape[0])
        sampling = median_ms(
            lambda: sample_crop(crop.image, crop.points[ids], crop.to_image, size, CROP_DISC_RADIUS), args.runs * 5
        )
        normals_of = VertexNormals(mesh_triangles())
        normals = median_ms(lambda: normals_of(landmarks.points, est.light_points.a), args.runs * 5)
    print(f"machine: {machine_description()}; 1 thread; frame {w}x{h} from {args.image.name}; method {est.method}")
    print(f"{'stage':<34}{'median ms':>10}{'p95 ms':>10}")
    for name in ("landmarks_ms", "sampling_ms", "estimate_ms", "total_ms"):
        vals = np.array([getattr(s, name) for s in stages])
        print(f"{name.removesuffix('_ms'):<34}{np.median(vals):>10.3f}{np.percentile(vals, 95):>10.3f}")
    print(f"{'  of which disc sampling (' + str(len(points)) + ' pts)':<34}{sampling[0]:>10.3f}{sampling[1]:>10.3f}")
    print(f"{'  of which mesh normals':<34}{normals[0]:>10.3f}{normals[1]:>10.3f}")
    return 0
