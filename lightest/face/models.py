"""The face graphs lightest ships (``lightest/models/face``): MediaPipe's BlazeFace detectors and face mesh.

``face_models.json`` beside them records where each came from and its sha256; every graph is opened
through :func:`lightest.litert.open_interpreter`, which refuses a file whose digest differs.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lightest.litert import open_interpreter

__all__ = ["FACE_MODELS_DIR", "face_model_table", "open_face_model"]

FACE_MODELS_DIR = Path(str(resources.files("lightest.models").joinpath("face")))
TABLE = "face_models.json"


@cache
def face_model_table(model_dir: Path = FACE_MODELS_DIR) -> dict[str, Any]:
    """``face_models.json``: file name -> source, version, sha256, tensor shapes."""
    path = model_dir / TABLE
    if not path.is_file():
        raise FileNotFoundError(f"face model table missing: {path} (reinstall lightest)")
    return json.loads(path.read_text(encoding="utf-8"))["models"]


def open_face_model(file: str, num_threads: int = 1, model_dir: str | os.PathLike[str] | None = None) -> Any:
    """An allocated interpreter for ``file``, checked against the table's sha256.

    ``model_dir`` (tests, custom builds) must hold the file and a ``face_models.json`` of its own.
    """
    directory = FACE_MODELS_DIR if model_dir is None else Path(model_dir)
    table = face_model_table(directory)
    if file not in table:
        raise ValueError(f"{file} is not listed in {directory / TABLE}")
    return open_interpreter(directory / file, num_threads=num_threads, sha256=table[file]["sha256"])
