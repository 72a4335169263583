"""``python -m blender_gen render ... --ray [ADDRESS]``: a render's shards as Ray tasks.

Shard ``i`` of ``n`` is exactly what ``--shard i/n`` renders locally: one Ray task calls the same
:func:`blender_gen.dataset.run` with that shard, in a fresh worker process (``max_calls=1``: bpy keeps
scene state), using ``--threads`` CPUs (default 1). The manifest's locked, fsynced appends already let
shards share one dataset folder, so a killed or failed run is resumed by running the command again.
Every node must see ``--out`` and ``--shared`` at the same paths (a shared file system).
Ray is optional: ``pip install 'lightest[cluster]'``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from blender_gen.manifest import Manifest
from blender_gen.paths import Assets

__all__ = ["render_on_ray"]


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install 'lightest[cluster]'") from None
    return ray


def _render_shard(job: Any, assets: Assets) -> dict[str, Any]:
    """One shard, in a Ray worker: :func:`blender_gen.dataset.run` (its ``SystemExit`` becomes an error)."""
    from blender_gen.dataset import run

    try:
        return run(job, assets)
    except SystemExit as exc:  # e.g. the folder holds a dataset with other settings
        raise RuntimeError(str(exc)) from None


def render_on_ray(job: Any, assets: Assets, shards: int | None = None, address: str | None = None) -> dict[str, Any]:
    """Render every missing image of ``job`` (a :class:`blender_gen.dataset.RenderJob`; its ``shard`` is
    ignored) as ``shards`` Ray tasks (default: the cluster's CPUs / threads per task); returns totals."""
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False)
    threads = job.threads or 1
    n = shards or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    n = max(1, min(n, job.count))
    task = ray.remote(num_cpus=threads, max_calls=1)(_render_shard)
    job = replace(job, out=job.out.resolve(), threads=threads)
    t0 = time.monotonic()
    refs = [task.remote(replace(job, shard=(i, n)), assets) for i in range(n)]
    try:
        stats = ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, Exception) else exc
        raise RuntimeError(f"a render shard failed on Ray: {cause}") from None
    wall = time.monotonic() - t0
    rendered = sum(s["rendered"] for s in stats)
    return {"rendered": rendered, "seconds": wall, "images_per_s": rendered / wall if rendered else 0.0,
            "total_in_manifest": len(Manifest(job.out).rows()), "shards": n}
