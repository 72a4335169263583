"""Render a dataset: resumable, shardable, deterministic, with a progress bar on stderr."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy

from blender_gen import __version__, scene
from blender_gen.manifest import Manifest, shard_lock
from blender_gen.paths import Assets
from blender_gen.presets import PRESETS, image_seed
from blender_gen.render import Renderer


@dataclass(frozen=True)
class RenderJob:
    """Settings of one ``render`` invocation (stored in dataset.json)."""

    preset: str
    out: Path
    count: int
    resolution: int
    samples: int
    seed: int
    shard: tuple[int, int]
    device: str
    denoise: bool
    threads: int = 0  # Cycles CPU threads (0: all cores); does not change the images


class Progress:
    """A one-line progress bar with images/s and ETA, written to stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()

    def step(self) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(30 * self.done / max(self.total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                         f"{rate:.2f} img/s ETA {eta / 60:.1f} min ")
        sys.stderr.flush()

    def close(self) -> float:
        sys.stderr.write("\n")
        return time.monotonic() - self.t0


def _settings(job: RenderJob) -> dict:
    return {"preset": job.preset, "count": job.count, "resolution": job.resolution, "samples": job.samples,
            "seed": job.seed, "denoise": job.denoise}


def _check_compatible(path: Path, info: dict) -> None:
    """Refuse to mix two datasets (other settings or generator version) in one folder.

    A different --count is fine: it extends or trims the same sequence of images.
    """
    if not path.exists():
        return
    old_info = json.loads(path.read_text())
    old = {k: v for k, v in old_info.get("settings", {}).items() if k != "count"}
    new = {k: v for k, v in info["settings"].items() if k != "count"}
    if old != new or old_info.get("generator") != info["generator"]:
        raise SystemExit(f"{path.parent} holds a dataset from {old_info.get('generator')} with {old}, "
                         f"not {info['generator']} with {new}; use another --out")


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) sets the event instead of raising: a ``KeyboardInterrupt`` raised inside Cycles' render
    is caught and printed there and the render goes on, so the loop checks the event between images (the image
    in flight finishes and is kept). Outside the main thread (a Ray task) signals are not ours to take."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def run(job: RenderJob, assets: Assets) -> dict:
    """Render every missing image of ``job`` in this shard; returns counts and timing."""
    with shard_lock(job.out, job.shard):
        return _run(job, assets)


def _run(job: RenderJob, assets: Assets) -> dict:
    preset = PRESETS[job.preset]
    man = Manifest(job.out)
    i, n = job.shard
    man.clean_temps(job.shard)
    done = man.done_indices()
    todo = [k for k in range(job.count) if k % n == i and k not in done]
    dataset_info = {
        "generator": f"blender_gen {__version__}",
        "blender": bpy.app.version_string,
        "settings": _settings(job),
        "credit_lps": "Infinite, 3D Head Scan by Lee Perry-Smith, based on a work at triplegangers.com, "
                      "CC BY 3.0",
    }
    _check_compatible(job.out / "dataset.json", dataset_info)
    man.write_json("dataset.json", {**dataset_info, "counts": {"images": len(done), "planned": job.count}})
    ext = ".png" if job.preset.startswith("seed") else ".jpg"
    progress = Progress(len(todo))
    renderer = None
    if todo:
        if preset.natural:
            from blender_gen.natural_render import NaturalRenderer

            renderer = NaturalRenderer(assets, job.resolution, job.resolution, job.samples, job.device, job.denoise)
        else:
            renderer = Renderer(assets, job.resolution, job.resolution, job.samples, job.device, job.denoise)
        scene.set_threads(renderer.scene, job.threads)
    with _stop_on_interrupt() as stop:
        for k in todo:
            if stop.is_set():
                break
            p = preset.sampler(job.seed, k, job.resolution, job.resolution)
            final = man.image_path(k, ext)
            temp = man.temp_path(final)
            label = renderer.render(p, temp)
            row = {"index": k, "image": f"{final.parent.name}/{final.name}", "preset": job.preset,
                   "seed": job.seed, "image_seed": image_seed(job.seed, k), **label}
            man.commit(temp, final, row)
            progress.step()
    wall = progress.close()
    if stop.is_set():
        man.write_json("dataset.json", {**dataset_info, "counts": {"images": len(man.rows()), "planned": job.count}})
        raise KeyboardInterrupt
    total = len(man.rows())
    man.write_json("dataset.json", {**dataset_info, "counts": {"images": total, "planned": job.count}})
    return {"rendered": len(todo), "seconds": wall, "images_per_s": len(todo) / wall if wall and todo else 0.0,
            "total_in_manifest": total}
