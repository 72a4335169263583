"""Open ``.tflite`` graphs with LiteRT (``ai_edge_litert``): verified, quiet, XNNPACK on.

Every graph lightest runs (face detectors, face mesh, light head, regressors) is opened here, so each
one gets the same three guarantees:

* **verified**: when the caller knows the file's sha256 (its card records it), a mismatching file raises
  :class:`ModelIntegrityError` before the interpreter sees a byte of it;
* **quiet**: LiteRT's native log lines (``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``) go
  to file descriptor 2 from C++, where no Python setting reaches; they are captured while the
  interpreter is built and re-emitted through :mod:`logging` (logger ``lightest.litert``, DEBUG);
* **fast**: LiteRT's default op resolver, which applies the XNNPACK delegate, with ``num_threads``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ModelIntegrityError", "file_sha256", "open_interpreter", "quiet_native_stderr"]

log = logging.getLogger(__name__)
_STDERR_LOCK = threading.Lock()


class ModelIntegrityError(ValueError):
    """A model file's sha256 differs from the one its card records (corrupted or replaced file)."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Capture what native code writes to fd 2 inside the block and log it at DEBUG instead.

    Serialised by a lock: fd 2 is process-wide, so two threads must not swap it at once.
    """
    with _STDERR_LOCK, tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if line.strip():
                    log.debug("litert: %s", line)


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - ai-edge-litert is a runtime dependency
        raise ImportError("lightest needs LiteRT: pip install ai-edge-litert") from exc
    return Interpreter


def open_interpreter(
    path: str | os.PathLike[str], *, num_threads: int = 1, sha256: str | None = None
) -> Any:
    """An allocated LiteRT ``Interpreter`` for ``path``.

    Args:
        path: the ``.tflite`` file.
        num_threads: CPU threads for the kernels (>= 1).
        sha256: expected hex digest of the file; when given, a mismatch raises :class:`ModelIntegrityError`.

    Raises:
        FileNotFoundError: no such file.
        ModelIntegrityError: the file's digest differs from ``sha256``.
        ValueError: LiteRT cannot load it (not a TFLite flatbuffer, unsupported ops).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"model not found: {p}")
    if not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
    content = p.read_bytes()
    if sha256 is not None:
        actual = hashlib.sha256(content).hexdigest()
        if actual != sha256.lower():
            raise ModelIntegrityError(
                f"{p}: sha256 {actual} does not match its card's {sha256}; the file is corrupted or was "
                "replaced (reinstall lightest, or re-export the model with its card)"
            )
    interpreter_class = _interpreter_class()
    try:
        with quiet_native_stderr():
            interp = interpreter_class(model_content=content, num_threads=num_threads)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{p} is not a loadable TFLite model: {exc}") from exc
    return interp
