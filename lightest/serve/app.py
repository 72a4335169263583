"""The try-on page's web app (FastAPI): the static page, and one endpoint that estimates light and head pose.

``POST /api/estimate`` takes the photo's bytes as the request body (JPEG, PNG or WebP; no form encoding) and
answers JSON: the image size, and per face the light estimate, the head pose (:mod:`lightest.tryon_pose`),
the landmarks and the three.js lights (:mod:`lightest.serve.lighting`). With ``?stream=ID&timestamp_ms=T`` the
body is a frame of the page's webcam stream ``ID``: a video-mode estimator tracks the face and filters the light
over the frames' timestamps (One Euro filter, held over short gaps: :mod:`lightest.smoothing`), so the lit hat
does not flicker; a new ``ID`` starts a new stream, and timestamps must increase within one. ``GET
/api/face-model`` gives the mesh triangles and the canonical face once. Everything else is a file of ``static/``,
and nothing outside it.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from lightest.estimator import Estimator, TimestampOrderError
from lightest.landmarks import FaceLandmarks
from lightest.lightpoints import mesh_triangles
from lightest.result import LightEstimate
from lightest.serve.lighting import three_lighting
from lightest.serve.upload import UploadError, decode_image
from lightest.tryon_pose import canonical_face, fit_head_pose

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Content-Security-Policy of every answer: the page may load and contact only this server (no CDN, no
#: network), and show the user's own photos and camera (blob:, mediastream:).
CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")  # fmt: skip
_LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
_STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _SharedEstimator:
    """One :class:`Estimator` for all requests, made on first use (it serialises calls itself)."""

    def __init__(self, factory: Callable[[], Estimator]) -> None:
        self._factory, self._lock, self._est = factory, threading.Lock(), None

    def get(self) -> Estimator:
        with self._lock:
            if self._est is None:
                self._est = self._factory()
            return self._est

    def close(self) -> None:
        with self._lock:
            if self._est is not None:
                self._est.close()
                self._est = None


class _WebcamStream:
    """The webcam's frames through one video-mode :class:`Estimator`, reset whenever the stream id changes."""

    def __init__(self, factory: Callable[[], Estimator]) -> None:
        self._shared, self._lock, self._stream = _SharedEstimator(factory), threading.Lock(), None

    def estimate(self, image: np.ndarray, stream: str, timestamp_ms: float) -> LightEstimate | None:
        with self._lock:
            est = self._shared.get()
            if stream != self._stream:
                est.reset()
                self._stream = stream
            return est.estimate_for_video(image, timestamp_ms)

    def close(self) -> None:
        self._shared.close()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing (413) a declared or actual length over ``max_bytes`` without buffering it."""
    limit_mb = max_bytes / 1_000_000
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        size_mb = int(declared) / 1_000_000
        raise UploadError(413, f"upload is {size_mb:.1f} MB; the limit is {limit_mb:g} MB (--max-upload-mb)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise UploadError(413, f"upload is over the limit of {limit_mb:g} MB (--max-upload-mb)")
        chunks.append(chunk)
    if size == 0:
        raise UploadError(400, "empty upload: send the photo's bytes as the request body")
    return b"".join(chunks)


def _answer(image: np.ndarray, landmarks: FaceLandmarks | None, result: LightEstimate | None) -> dict[str, Any]:
    faces = []
    pose = None if landmarks is None else fit_head_pose(landmarks)
    if landmarks is not None and result is not None and pose is not None:
        faces.append({
            "estimate": result.to_dict(),
            "pose": pose.to_dict(),
            "three": three_lighting(result),
            "landmarks": [[round(float(v), 2) for v in p] for p in landmarks.points],
        })  # fmt: skip
    return {"width": int(image.shape[1]), "height": int(image.shape[0]), "faces": faces}


def _posed(image: np.ndarray, result: LightEstimate | None) -> dict[str, Any]:
    """The answer for ``result``, posed by the landmarks it came from."""
    landmarks = None if result is None else FaceLandmarks(result.landmarks, "mediapipe468", has_depth=True)
    return _answer(image, landmarks, result)


def _faces(est: Estimator, data: bytes) -> dict[str, Any]:
    """A photo: the light of its face as ``Estimator.estimate`` finds it (image mode; a big photo whose whole
    frame shows no face is searched in windows, as the command line does)."""
    image = decode_image(data)
    return _posed(image, est.estimate(image))


def _webcam_faces(webcam: _WebcamStream, data: bytes, stream: str, timestamp_ms: float) -> dict[str, Any]:
    """A webcam frame: the filtered light of the tracked face (the last face's while the filter holds it over a
    frame without one)."""
    image = decode_image(data)
    try:
        result = webcam.estimate(image, stream, timestamp_ms)
    except TimestampOrderError as exc:
        message = f"timestamp_ms must increase monotonically: got {exc.timestamp_ms} after {exc.last_ms} in stream "
        raise UploadError(400, message + f"{stream!r} (a new stream id starts anew)") from exc
    return _posed(image, result)


def _stream_query(request: Request) -> tuple[str, float] | None:
    """``(stream, timestamp_ms)`` of a webcam frame, None for a photo; a malformed pair is a 400."""
    stream, stamp = request.query_params.get("stream"), request.query_params.get("timestamp_ms")
    if stream is None and stamp is None:
        return None
    if stream is None or not _STREAM_ID.fullmatch(stream):
        raise UploadError(400, "a webcam frame needs ?stream= (1-64 letters, digits, - or _) with its timestamp_ms")
    try:
        timestamp_ms = float(stamp) if stamp is not None else math.nan
    except ValueError:
        timestamp_ms = math.nan
    if not math.isfinite(timestamp_ms):
        raise UploadError(400, f"timestamp_ms must be a finite number of milliseconds, got {stamp!r}")
    return stream, timestamp_ms


def create_app(
    max_upload_bytes: int = 20_000_000,
    estimator_factory: Callable[..., Estimator] = Estimator,
    loopback_only: bool = True,
) -> FastAPI:
    """The app. ``loopback_only`` answers only requests addressed to 127.0.0.1/localhost (no DNS rebinding).

    ``estimator_factory()`` makes the photos' estimator, ``estimator_factory(running_mode="video")`` the webcam's."""
    shared = _SharedEstimator(estimator_factory)
    webcam = _WebcamStream(lambda: estimator_factory(running_mode="video"))
    app = FastAPI(title="lightest try-on", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.on_shutdown.append(shared.close)
    app.router.on_shutdown.append(webcam.close)
    if loopback_only:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=_LOOPBACK_NAMES)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[..., Any]) -> Any:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/api/face-model")
    def face_model() -> dict[str, Any]:
        return {
            "triangles": mesh_triangles().tolist(),
            "canonical_cm": canonical_face().vertices.tolist(),
        }

    @app.post("/api/estimate")
    async def estimate(request: Request) -> JSONResponse:
        try:
            frame = _stream_query(request)
            data = await _read_capped(request, max_upload_bytes)
            if frame is None:
                return JSONResponse(await run_in_threadpool(_faces, shared.get(), data))
            return JSONResponse(await run_in_threadpool(_webcam_faces, webcam, data, *frame))
        except UploadError as exc:
            return _error(exc.status, str(exc))
        except ClientDisconnect:
            return _error(400, "the upload was cut off before its end")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
