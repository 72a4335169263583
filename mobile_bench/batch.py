"""``lightest batch`` throughput with 1 and N workers, and a kill -9 halfway followed by a rerun.

``python -m mobile_bench batch [--images 2000] [--dir /tmp/lightest_batch] [--workers 1 2] [--rounds 1]``

Makes ``--images`` files: variants of the shipped example face (flips, brightness, contrast, crops, small
rotations, JPEG quality; about 1 in 20 blurred until no face is left; two files that are not images) in
``--dir``, then runs the real command (``python -m lightest.cli batch DIR --out ... --workers W``) once
per worker count per round, in rotating order, each into a fresh output, and reports images/s. Last, a
run with the largest worker count is killed with ``SIGKILL`` (its whole process group) once half the rows
are written, and rerun: the report says whether the output then holds exactly one row per image, with
the same values as the 1-worker run. Prints one JSON object; timings depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mobile_bench.stages import machine_description

__all__ = ["make_images", "read_rows", "run_batch_cli"]

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "lee_perry_smith.png"
#: Files in the image folder that are not images (each gives an error row).
NOT_IMAGES = {"notes.jpg": b"not an image\n", "truncated.png": b"\x89PNG\r\n\x1a\n\x00\x00"}


#: The file that marks a --dir as this benchmark's own work folder (its images/ is replaced at will).
WORK_MARK = ".mobile-bench-batch"


def make_images(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (640, 480)) -> list[Path]:
    """``n`` files in ``folder``: :data:`NOT_IMAGES` and JPEG variants of the example face (1 in 20 blurred)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = cv2.imread(str(EXAMPLE))
    h, w = base.shape[:2]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n - len(NOT_IMAGES)):
        image = base[:, ::-1] if rng.random() < 0.5 else base
        crop = rng.uniform(0.8, 1.0)
        cw, ch = int(w * crop), int(h * crop)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        image = cv2.resize(image[y0 : y0 + ch, x0 : x0 + cw], size, interpolation=cv2.INTER_AREA)
        rot = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), rng.uniform(-10, 10), 1.0)
        image = cv2.warpAffine(image, rot, size, borderMode=cv2.BORDER_REFLECT)
        image = np.clip(image * rng.uniform(0.6, 1.3) + rng.uniform(-20, 20), 0, 255).astype(np.uint8)
        if i % 20 == 7:
            image = cv2.GaussianBlur(image, (0, 0), sigmaX=max(size) / 20)
        path = folder / f"face_{i:05d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 96))])
        paths.append(path)
    for name, data in NOT_IMAGES.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def read_rows(out: Path) -> list[dict[str, Any]]:
    """Every row of a batch output (each line must be whole JSON)."""
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def _command(folder: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "lightest.cli", "batch", str(folder), "--out", str(out), "--workers", str(workers)]


def run_batch_cli(folder: Path, out: Path, workers: int) -> tuple[dict[str, Any], float]:
    """Run the CLI to completion; its JSON summary and wall seconds (process start to exit)."""
    t0 = time.perf_counter()
    proc = subprocess.run(_command(folder, out, workers), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"lightest batch failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def kill_halfway(folder: Path, out: Path, workers: int, rows_at_kill: int) -> int:
    """Start the CLI in its own session and SIGKILL its process group once ``out`` holds ``rows_at_kill``
    lines; returns the rows then present (the run must not have finished by itself)."""
    proc = subprocess.Popen(_command(folder, out, workers), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        while proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= rows_at_kill:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        proc.wait()
    if proc.returncode != -signal.SIGKILL:
        raise SystemExit(f"the run ended by itself (status {proc.returncode}) before {rows_at_kill} rows")
    return out.read_bytes().count(b"\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mobile_bench batch", description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=2000, help="files to make, 2 of them not images (default: 2000)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/lightest_batch"),
                    help="work folder, new or made by this command (its images are remade at will; default: "
                    "/tmp/lightest_batch)")  # fmt: skip
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    ap.add_argument("--rounds", type=int, default=1, help="runs per worker count (default: 1)")
    args = ap.parse_args(argv)
    folder, outs, mark = args.dir / "images", args.dir / "out", args.dir / WORK_MARK
    if args.dir.exists() and any(args.dir.iterdir()) and not mark.is_file():  # never delete what is not ours
        raise ValueError(f"--dir {args.dir} is not empty and was not made by mobile_bench batch; give a new folder")
    outs.mkdir(parents=True, exist_ok=True)
    mark.touch()
    if len(list(folder.glob("*"))) != args.images:
        shutil.rmtree(folder, ignore_errors=True)
        make_images(folder, args.images)
    total = args.images
    runs: dict[int, list[float]] = {w: [] for w in args.workers}
    outputs: dict[int, Path] = {}
    for r in range(args.rounds):
        order = args.workers[r % len(args.workers) :] + args.workers[: r % len(args.workers)]
        for w in order:
            out = outs / f"w{w}_r{r}.jsonl"
            out.unlink(missing_ok=True)
            summary, wall = run_batch_cli(folder, out, w)
            if summary["written"] != total:
                raise SystemExit(f"{w} workers wrote {summary['written']} rows, expected {total}")
            runs[w].append(total / wall)
            outputs[w] = out
    w_max, w_min = max(args.workers), min(args.workers)
    killed = outs / "killed.jsonl"
    killed.unlink(missing_ok=True)
    at_kill = kill_halfway(folder, killed, w_max, total // 2)
    run_batch_cli(folder, killed, w_max)
    rows = read_rows(killed)
    reference = {row["image"]: row for row in read_rows(outputs[w_min])}
    images = [row["image"] for row in rows]
    rate = {w: float(np.median(v)) for w, v in runs.items()}
    report = {
        "machine": machine_description(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "images": total,
        "images_per_s_median": {str(w): round(v, 2) for w, v in rate.items()},
        "images_per_s_runs": {str(w): [round(x, 2) for x in v] for w, v in runs.items()},
        f"speedup_{w_max}_vs_{w_min}": round(rate[w_max] / rate[w_min], 3),
        "kill": {
            "workers": w_max,
            "rows_at_kill": at_kill,
            "rows_after_rerun": len(rows),
            "distinct_images": len(set(images)),
            "equal_to_reference": {row["image"]: row for row in rows} == reference,
        },
    }
    print(json.dumps(report, indent=2))
    ok = len(rows) == len(set(images)) == total and report["kill"]["equal_to_reference"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
