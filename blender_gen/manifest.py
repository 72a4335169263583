"""The dataset manifest (JSON Lines, one row per finished image) and crash-safe image commits.

Order of operations per image: render to a temporary name, rename it to its final name, then append
the row under an exclusive lock and flush + fsync. A killed run therefore never leaves a row without
its image; at most the image in flight is lost (a renamed image without a row is simply re-rendered).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST = "manifest.jsonl"
IMAGES = "images"
TMP_MARK = ".tmp"


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def shard_lock(out_dir: Path, shard: tuple[int, int]) -> Iterator[None]:
    """Hold shard ``i/n`` of ``out_dir`` for one process: a second process rendering the same shard into the same
    folder (which would write every image and row twice) gets ``RuntimeError`` instead."""
    i, n = shard
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir / f".shard-{i}-of-{n}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"shard {i}/{n} is already being rendered into {out_dir} by another process") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Manifest:
    """Append-only manifest of one dataset folder, shared safely by concurrent shards."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST
        self.images = out_dir / IMAGES
        self.images.mkdir(parents=True, exist_ok=True)

    @classmethod
    def existing(cls, data_dir: Path) -> Manifest:
        """The manifest of a dataset that must already exist (readers: nothing is created);
        ``FileNotFoundError`` naming the folder otherwise."""
        if not (data_dir / MANIFEST).is_file():
            what = "does not exist" if not data_dir.exists() else f"is not a blender_gen dataset (no {MANIFEST})"
            raise FileNotFoundError(f"{data_dir} {what}; render one with python -m blender_gen render")
        manifest = cls.__new__(cls)
        manifest.out_dir, manifest.path, manifest.images = data_dir, data_dir / MANIFEST, data_dir / IMAGES
        return manifest

    def rows(self) -> list[dict[str, Any]]:
        """Complete rows whose image exists; a torn last line (killed mid-append) is ignored."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (self.out_dir / row["image"]).is_file():
                out.append(row)
        return out

    def done_indices(self) -> set[int]:
        return {int(r["index"]) for r in self.rows()}

    def image_path(self, index: int, ext: str) -> Path:
        return self.images / f"{index:06d}{ext}"

    def temp_path(self, final: Path) -> Path:
        return final.with_name(final.stem + TMP_MARK + final.suffix)

    def clean_temps(self, shard: tuple[int, int]) -> None:
        """Remove temporaries of this shard left by a killed run."""
        i, n = shard
        for p in self.images.glob(f"*{TMP_MARK}*"):
            stem = p.name.split(".")[0]
            if stem.isdigit() and int(stem) % n == i:
                p.unlink(missing_ok=True)

    def commit(self, temp: Path, final: Path, row: dict[str, Any]) -> None:
        """Rename the finished image into place, then append its row durably."""
        os.replace(temp, final)
        line = (json.dumps(row, sort_keys=True) + "\n").encode()
        with _locked(self.path) as fd:
            # Repair a torn last line left by a kill so that our row starts on its own line.
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")
            os.write(fd, line)
            os.fsync(fd)

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Atomically (re)write a small JSON file in the dataset folder, e.g. ``dataset.json``."""
        tmp = self.out_dir / f".{name}.{os.getpid()}{TMP_MARK}"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.out_dir / name)
