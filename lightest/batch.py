"""``lightest batch``: many images, N worker processes, one resumable JSON Lines file.

Every image gives one row: ``{"image": ABSOLUTE_PATH, "face": true, ...LightEstimate.to_dict()}``, or
``{"image": ..., "face": false}`` (no face), or ``{"image": ..., "face": false, "error": MESSAGE}`` (could
not be read or estimated); each also says what made it (``"made_with"``: method, landmarks and model), and a
rerun with other options is refused rather than mixing two kinds of row in one file. Rows are written by this
(the parent) process only, one whole line per ``write`` followed by flush and ``fsync``, so a ``kill -9``
loses at most the images in flight and never leaves a duplicate or half row. On start the existing file is
read: images with a row (faces, no-face and errors alike, so bad files are not retried forever) are skipped
and new rows appended; a torn last line (power loss, a full disk) is cut off first. Rows come in the order
workers finish, not input order.

Workers are ``spawn`` processes (safe with LiteRT's threads, and the same on Linux and macOS), each with
its own :class:`~lightest.estimator.Estimator` (``num_threads=1``) made once in the worker initialiser.
``--ray`` runs the same rows on a Ray cluster instead (:mod:`lightest.cluster`, ``lightest[cluster]``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

from lightest.estimator import Estimator, EstimatorOptions

try:  # POSIX: one writer per output file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["BatchSummary", "ResultsFile", "add_batch_parser", "batch_command", "default_workers", "estimate_row",
           "made_with_options", "run_batch"]

#: Tasks queued per worker beyond the one it runs: keeps workers busy without a backlog to lose on a kill.
_QUEUE_PER_WORKER = 2


def default_workers() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def made_with_options(options: EstimatorOptions) -> str:
    """What made a row (its ``made_with``): method, landmarks and model, so a rerun cannot mix two kinds."""
    model = "bundled" if options.model_path is None else Path(options.model_path).name
    return f"method={options.method} landmarks={options.landmarks} model={model}"


def estimate_row(est: Estimator, image: str) -> dict[str, Any]:
    """The output row of one image file (``image`` is its absolute path); never raises for a bad image."""
    try:
        result = est.estimate_path(image)  # as `lightest estimate` does: big JPEGs decoded reduced
    except (OSError, ValueError) as exc:
        return {"image": image, "face": False, "error": str(exc)}
    except Exception as exc:  # one odd image must not stop a batch of thousands; the row says what happened
        return {"image": image, "face": False, "error": f"{type(exc).__name__}: {exc}"}
    if result is None:
        return {"image": image, "face": False}
    return {"image": image, "face": True, **result.to_dict()}


#: How every row's line begins (``json.dumps`` of a dict whose first key is ``image``).
_ROW_START = b'{"image": '


class ResultsFile:
    """The output JSON Lines file: the rows already there, and durable appends of whole rows.

    Opening takes an exclusive lock (a second ``lightest batch`` on the same file is refused), cuts off a
    torn last line and reads the rows; a complete line that is not a row is an error (not our file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            raise ValueError(f"--out {path} is a directory; give a file such as results.jsonl")
        if path.exists() and not path.is_file():  # a device or pipe never ends, or never holds the rows
            raise ValueError(f"--out {path} is not a regular file (a device, pipe or socket); give a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise ValueError(f"--out {path}: cannot open for reading and appending: {exc.strerror or exc}") from exc
        try:
            self._lock()
            self.rows, self.repaired_bytes = self._read()
        except BaseException:
            os.close(self._fd)
            raise

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"--out {self.path}: another lightest batch is writing this file") from None

    def _read(self) -> tuple[dict[str, dict[str, Any]], int]:
        try:
            with open(self._fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as exc:
            raise ValueError(f"--out {self.path}: cannot read: {exc.strerror or exc}") from exc
        keep = data.rfind(b"\n") + 1  # a last line without its newline is a torn write
        rows: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(data[:keep].splitlines(), start=1):
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("image"), str):
                raise ValueError(f"--out {self.path}: line {number} is not a lightest batch row; use another file")
            if not isinstance(row.get("made_with"), str):
                raise ValueError(f"--out {self.path}: line {number} does not say what made it (no \"made_with\": "
                                 "lightest estimate --json output, or an older lightest's batch); use another file")
            rows[row["image"]] = row
        torn = data[keep:]
        if torn:  # cut only what a torn write of a row can be: a file that is not ours is left as it was
            if not (torn.startswith(_ROW_START) or _ROW_START.startswith(torn)):
                raise ValueError(f"--out {self.path}: its last line is not a lightest batch row; use another file")
            os.ftruncate(self._fd, keep)
        return rows, len(torn)

    def append(self, row: dict[str, Any]) -> None:
        """Write ``row`` as one line with a single ``write``, then ``fsync``: it is on disk whole or not at all."""
        line = (json.dumps(row) + "\n").encode()
        written = os.write(self._fd, line)
        while written < len(line):  # only on a full disk or a signal; a later run cuts the torn line
            written += os.write(self._fd, line[written:])
        os.fsync(self._fd)
        self.rows[row["image"]] = row

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class BatchSummary:
    """What one run did; ``faces``, ``no_face`` and ``errors`` count every input image's row, old and new."""

    images: int
    already_done: int
    written: int
    faces: int
    no_face: int
    errors: int
    repaired_bytes: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3), "images_per_s": round(self.images_per_s, 3)}


class _Progress:
    """``[done/total] rate ETA`` on stderr, rewritten in place, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.done, self.t0 = total, stream, 0, time.monotonic()
        self.enabled = total > 0 and stream.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            rate = self.done / max(time.monotonic() - self.t0, 1e-9)
            eta = (self.total - self.done) / rate
            self.stream.write(f"\r[{self.done}/{self.total}] {rate:6.1f} images/s  ETA {eta / 60:5.1f} min ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# -- local worker processes -------------------------------------------------------------------------
_worker_estimator: Estimator | None = None


def _exit_with_parent(parent: int) -> None:
    """Worker side: leave when the parent is gone (killed with -9), rather than wait on it forever."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _init_worker(options: EstimatorOptions, parent: int) -> None:
    global _worker_estimator
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and kill are the parent's to handle: it stops the pool
        signal.signal(sig, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker_estimator = Estimator(options)


def _worker_row(image: str) -> dict[str, Any]:
    assert _worker_estimator is not None, "worker initialiser did not run"
    return estimate_row(_worker_estimator, image)


def _local_rows(todo: list[str], options: EstimatorOptions, workers: int) -> Iterator[dict[str, Any]]:
    """Rows of ``todo`` as they finish: in this process for one worker, else in ``spawn`` worker processes."""
    if workers <= 1 or len(todo) <= 1:
        with Estimator(options) as est:
            for image in todo:
                yield estimate_row(est, image)
        return
    Estimator(options).close()  # a bad model or option fails here with its own message, not in N workers
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)),
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(options, os.getpid()),
    )
    try:
        queue = iter(todo)
        pending: set[Future[dict[str, Any]]] = set()
        while True:
            while len(pending) < workers * (1 + _QUEUE_PER_WORKER):
                image = next(queue, None)
                if image is None:
                    break
                pending.add(pool.submit(_worker_row, image))
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    raise RuntimeError(f"a worker process died ({exc}); the rows written are kept: rerun") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_batch(
    images: Sequence[Path],
    out: Path,
    options: EstimatorOptions,
    workers: int | None = None,
    ray_address: str | None = None,
    use_ray: bool = False,
    progress: TextIO | None = None,
) -> BatchSummary:
    """Estimate every image without a row in ``out`` and append its row; see the module docstring.

    ``workers``: processes (default: this machine's CPUs), or Ray actors with ``use_ray`` (default: the
    cluster's CPUs). ``options.num_threads`` is used as given (the CLI passes 1).
    """
    t0 = time.monotonic()
    keys = list(dict.fromkeys(os.path.abspath(p) for p in images))  # the same file named twice runs once
    made_with = made_with_options(options)
    with ResultsFile(out) as results:
        kinds = {r["made_with"] for r in results.rows.values()}
        other = sorted(kinds - {made_with})
        if other:
            raise ValueError(f"--out {out} holds rows made with {', '.join(other)}; this run would add rows made with "
                             f"{made_with}: use the same --method/--landmarks/--model, or another file")  # fmt: skip
        todo = [k for k in keys if k not in results.rows]
        already = len(keys) - len(todo)
        rows: Iterable[dict[str, Any]]
        if not todo:
            rows = ()
        elif use_ray:
            from lightest.cluster import ray_rows

            rows = ray_rows(todo, options, workers, ray_address)
        else:
            rows = _local_rows(todo, options, workers or default_workers())
        bar = _Progress(len(todo), progress or sys.stderr)
        written = 0
        try:
            for row in rows:
                results.append({**row, "made_with": made_with})
                written += 1
                bar.step()
        finally:
            bar.close()
        final = [results.rows[k] for k in keys if k in results.rows]
    errors = sum("error" in r for r in final)
    faces = sum(bool(r.get("face")) for r in final)
    return BatchSummary(
        images=len(keys),
        already_done=already,
        written=written,
        faces=faces,
        no_face=len(final) - faces - errors,
        errors=errors,
        repaired_bytes=results.repaired_bytes,
        seconds=time.monotonic() - t0,
    )


# -- command line ---------------------------------------------------------------------------------------
def add_batch_parser(sub: Any, methods: Sequence[str], backends: Sequence[str]) -> argparse.ArgumentParser:
    """The ``batch`` subcommand of ``lightest`` (``sub``: the CLI's subparsers)."""
    p = sub.add_parser(
        "batch",
        help="estimate many images with N processes (or on Ray) into a resumable JSON Lines file",
        description="Appends one JSON row per image to --out (absolute image path, face true/false, the compact "
        "estimate, or an error). Rerunning skips images that already have a row, so a killed run goes on where it "
        "stopped; rows come in the order images finish. Prints a JSON summary on stdout.",
        epilog="exit status: 0 every image has a face row, 1 some image has no face or an error row, 2 usage error",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, directories or quoted glob patterns")
    p.add_argument("-r", "--recursive", action="store_true", help="also read images in subdirectories")
    p.add_argument("--out", type=Path, required=True, help="JSON Lines file to create or resume, e.g. results.jsonl")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the CPUs here) or, with --ray, Ray actors (default: the "
                   "cluster's CPUs); each runs one Estimator with 1 thread")  # fmt: skip
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray (pip install 'lightest[cluster]'): a cluster address such as ray://head:10001 "
                   "or auto; none starts or joins a local Ray")  # fmt: skip
    p.add_argument("--method", choices=methods, default="auto", help="default: bundled model, else physics")
    p.add_argument("--landmarks", choices=backends, default="mediapipe", help="landmark backend")
    p.add_argument("--model", type=Path, help="a .tflite model (with its .card.json) to use")
    return p


class Terminated(BaseException):
    """SIGTERM arrived: the batch stops as on Ctrl-C (workers shut down, rows kept). A ``BaseException``, as
    ``KeyboardInterrupt`` is, so that no ``except Exception`` on the way (a row's error) swallows it."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def batch_command(args: argparse.Namespace, images: list[Path]) -> int:
    """Run ``lightest batch`` on the expanded ``images``; returns the exit status."""
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    options = EstimatorOptions(method=args.method, landmarks=args.landmarks, model_path=args.model, num_threads=1)
    previous = signal.signal(signal.SIGTERM, _terminate)  # a kill stops the pool as Ctrl-C does
    try:
        summary = run_batch(images, args.out, options, args.workers, args.ray or None, args.ray is not None)
    except KeyboardInterrupt:
        print(f"lightest: interrupted; the rows in {args.out} are kept, rerun to go on", file=sys.stderr)
        return 130
    except Terminated:
        print(f"lightest: terminated; the rows in {args.out} are kept, rerun to go on", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(json.dumps(summary.to_dict()))
    return 1 if summary.no_face or summary.errors else 0
