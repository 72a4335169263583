"""``lightest batch --ray``: the batch's rows computed on a Ray cluster with Ray Data.

The image paths go in as a Ray dataset; ``map_batches`` runs them through a pool of actors, each holding
one :class:`~lightest.estimator.Estimator` (``num_threads=1``, one CPU) made once in its constructor, and
the rows stream back to the driver, which writes them exactly as the local batch does
(:class:`lightest.batch.ResultsFile`: whole lines, fsync, resumable). The workers open the images by
path, so every node must see the same files at the same paths (a shared file system).

Ray is optional (``pip install 'lightest[cluster]'``) and imported only here, only when used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from lightest.batch import estimate_row
from lightest.estimator import Estimator, EstimatorOptions

__all__ = ["connect", "import_ray", "ray_rows"]

#: Images per actor call: small, so rows stream back (and are saved) while the rest still runs.
BATCH_SIZE = 8


def import_ray() -> Any:
    """The ``ray`` module, or an ``ImportError`` saying how to install it."""
    try:
        import ray
        import ray.data  # Ray Data comes with the ray[data] extra
    except ImportError as exc:
        raise ImportError(f"the Ray path needs Ray Data ({exc}): pip install 'lightest[cluster]'") from None
    return ray


def connect(address: str | None) -> Any:
    """Ray, initialised: the running connection if there is one, else ``ray.init(address)`` (None: the
    ``RAY_ADDRESS`` cluster or a new local instance)."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its per-dataset INFO lines; our progress line says it
    return ray


class _EstimatorActor:
    """A Ray Data actor: one Estimator, many batches of image paths -> JSON rows."""

    def __init__(self, options: EstimatorOptions) -> None:
        self.estimator = Estimator(options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [json.dumps(estimate_row(self.estimator, str(image))) for image in batch["image"]]
        return {"row": np.array(rows, dtype=object)}


def ray_rows(
    todo: list[str], options: EstimatorOptions, actors: int | None, address: str | None
) -> Iterator[dict[str, Any]]:
    """Rows of the images ``todo`` (absolute paths), computed by ``actors`` Ray actors (default: one per
    CPU of the cluster), in the order they finish."""
    ray = connect(address)
    Estimator(options).close()  # a bad model or option fails here with its own message, not in every actor
    size = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = False
    ctx.enable_progress_bars = False  # lightest's own progress line covers it
    dataset = ray.data.from_items([{"image": image} for image in todo]).map_batches(
        _EstimatorActor,
        fn_constructor_args=(options,),
        batch_size=BATCH_SIZE,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=min(size, len(todo))),
        num_cpus=1,
    )
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        for row in batch["row"]:
            yield json.loads(row)
