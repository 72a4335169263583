"""The light in every frame of a video file: OpenCV decodes, the estimator runs in video mode.

:func:`estimate_video` feeds the frames of a file to :meth:`lightest.Estimator.estimate_for_video`, so the face
is tracked from frame to frame and the answers pass the One Euro filter (time-based: the frames' own
timestamps count, not their number). Timestamps come from the container (``CAP_PROP_POS_MSEC``) where they
increase from frame to frame; where they do not (image sequences, some streams), the frame rate's spacing
(``CAP_PROP_FPS``, 30 fps if the file gives none) continues from the last one.

FFmpeg writes its own log lines (a damaged or cut-off file's "overread" ...) to the process's stderr; an
application that wants them quiet sets ``OPENCV_FFMPEG_LOGLEVEL=-8`` before OpenCV's FFmpeg backend first
starts (the ``lightest`` command does; this module leaves the environment alone). A file that ends before the
frame count its header declares is the caller's to report (``lightest video`` warns).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lightest.estimator import Estimator
from lightest.image_io import is_webp
from lightest.litert import quiet_native_stderr
from lightest.result import LightEstimate

__all__ = ["DEFAULT_FPS", "VideoFrame", "estimate_video", "frame_count", "read_frames", "still_image_format"]

#: Frame rate assumed when the file does not give one.
DEFAULT_FPS = 30.0
#: File signatures of still images, which FFmpeg would open as one-frame "videos" (animated GIFs stay videos).
STILL_IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"II*\x00": "TIFF",
                          b"MM\x00*": "TIFF"}  # fmt: skip


def still_image_format(head: bytes) -> str | None:
    """The still-image format whose signature ``head`` (a file's first bytes) starts with, else None."""
    if is_webp(head):
        return "WebP"
    return next((name for magic, name in STILL_IMAGE_SIGNATURES.items() if head.startswith(magic)), None)


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its 0-based index in the file, timestamp (ms from the start) and BGR pixels."""

    index: int
    timestamp_ms: float
    image: np.ndarray


def _open(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist" if not p.exists() else f"{p} is not a file")
    with p.open("rb") as f:
        still = still_image_format(f.read(12))
    if still is not None:
        raise ValueError(f"{p} is a {still} image, not a video (lightest estimate reads images)")
    with quiet_native_stderr():  # FFmpeg's own complaints about a bad file would otherwise reach the terminal
        capture = cv2.VideoCapture(str(p))
    if not capture.isOpened():
        capture.release()
        raise ValueError(f"{p} is not a video OpenCV can open")
    return capture


def frame_count(path: str | os.PathLike[str]) -> int | None:
    """The number of frames the file declares (None when it does not say)."""
    capture = _open(path)
    try:
        n = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return n if n > 0 else None


def read_frames(path: str | os.PathLike[str], every: int = 1) -> Iterator[VideoFrame]:
    """Decode ``path`` frame by frame (every ``every``-th frame), with increasing timestamps (module doc).

    Raises ``FileNotFoundError`` or ``ValueError`` (not a video OpenCV can open) at once, and ``ValueError``
    from the first iteration when the file holds no frame."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int, got {every!r}")
    return _frames(_open(path), str(path), every)


def _frames(capture: cv2.VideoCapture, name: str, every: int) -> Iterator[VideoFrame]:
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        spacing_ms = 1000.0 / (fps if math.isfinite(fps) and fps > 0 else DEFAULT_FPS)
        last_ms: float | None = None
        index = 0
        while True:
            ok, image = capture.read()
            if not ok or image is None:
                if index == 0:
                    raise ValueError(f"{name}: OpenCV opened it but decoded no frame")
                return
            stamp = capture.get(cv2.CAP_PROP_POS_MSEC)
            if last_ms is not None and not (math.isfinite(stamp) and stamp > last_ms):
                stamp = last_ms + spacing_ms
            elif last_ms is None and not (math.isfinite(stamp) and stamp >= 0):
                stamp = 0.0
            last_ms = stamp
            if index % every == 0:
                yield VideoFrame(index, stamp, image)
            index += 1
    finally:
        capture.release()


def estimate_video(
    estimator: Estimator, path: str | os.PathLike[str], every: int = 1
) -> Iterator[tuple[VideoFrame, LightEstimate | None]]:
    """``(frame, estimate or None)`` for every ``every``-th frame of ``path``, through ``estimator`` (which must
    be in video mode: one stream, tracked and filtered; it is :meth:`~lightest.Estimator.reset` first).

    The file is opened here (errors at once, as :func:`read_frames`); frames are decoded as they are asked for."""
    if estimator.options.running_mode != "video":
        raise ValueError(
            f"estimate_video needs an Estimator with running_mode='video', not {estimator.options.running_mode!r}"
        )
    frames = read_frames(path, every)
    estimator.reset()
    return ((frame, estimator.estimate_for_video(frame.image, frame.timestamp_ms)) for frame in frames)
