"""The try-on page's web app (FastAPI): the static page, and one endpoint that estimates light and head pose.

``POST /api/estimate`` takes the photo's bytes as the request body (JPEG, PNG or WebP; no form encoding, and
``Content-Type: application/octet-stream`` or the image's own type, so that no other site's page can post here
without the browser asking first) and answers JSON: the image size, and per face the light estimate, the head
pose (:mod:`lightest.tryon_pose`), the landmarks and the three.js lights (:mod:`lightest.serve.lighting`). With
``?stream=ID&timestamp_ms=T`` the body is a frame of the page's webcam stream ``ID``: a video-mode estimator
tracks the face and filters the light over the frames' timestamps (One Euro filter, held over short gaps:
:mod:`lightest.smoothing`), so the lit hat does not flicker; each ``ID`` is its own stream (up to
:data:`MAX_STREAMS`; the one unused longest makes way), and timestamps must increase within one. ``GET
/api/face-model`` gives the mesh triangles and the canonical face once. Everything else is a file of
``static/``, and nothing outside it. Errors are ``{"error": message}`` with their HTTP status.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from lightest.estimator import MAX_TIMESTAMP_MS, Estimator, TimestampOrderError
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
#: Webcam streams served at once (one video-mode estimator each, ~20 MB).
MAX_STREAMS = 4
#: Content-Types an upload may carry. The raw bytes only: a form (multipart, urlencoded) or text/plain, which a
#: page on another site may POST here without asking (no CORS preflight), is refused.
UPLOAD_TYPES = ("application/octet-stream", "image/jpeg", "image/png", "image/webp")


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


class _WebcamStreams:
    """Webcam frames, one video-mode :class:`Estimator` per stream id (each tab's camera is its own stream:
    its face tracked, its light filtered, its timestamps checked), at most :data:`MAX_STREAMS` at once; a new
    stream beyond that closes the one unused longest."""

    def __init__(self, factory: Callable[[], Estimator]) -> None:
        self._factory, self._lock = factory, threading.Lock()
        self._streams: OrderedDict[str, Estimator] = OrderedDict()

    def estimate(self, image: np.ndarray, stream: str, timestamp_ms: float) -> LightEstimate | None:
        with self._lock:
            est = self._streams.pop(stream, None)
            if est is None:
                est = self._factory()
                while len(self._streams) >= MAX_STREAMS:
                    self._streams.popitem(last=False)[1].close()
            self._streams[stream] = est  # now the most recently used
        return est.estimate_for_video(image, timestamp_ms)  # the estimator serialises its own calls

    def close(self) -> None:
        with self._lock:
            while self._streams:
                self._streams.popitem()[1].close()


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


def _webcam_faces(webcam: _WebcamStreams, data: bytes, stream: str, timestamp_ms: float) -> dict[str, Any]:
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
    if stamp is None:
        raise UploadError(400, f"a webcam frame needs ?timestamp_ms= with its stream ({stream!r})")
    try:
        timestamp_ms = float(stamp)
    except ValueError:
        timestamp_ms = math.nan
    if not abs(timestamp_ms) <= MAX_TIMESTAMP_MS:  # NaN fails too; checked before the stream is touched
        raise UploadError(400, f"timestamp_ms must be a finite number of milliseconds (at most 2**53), got {stamp!r}")
    return stream, timestamp_ms


def _check_content_type(request: Request) -> None:
    """Refuse (415) an upload that is not sent as raw image bytes (:data:`UPLOAD_TYPES`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in UPLOAD_TYPES:
        given = f"Content-Type {kind}" if kind else "no Content-Type"
        form = " (not a form upload)" if kind.startswith("multipart/") or kind.endswith("urlencoded") else ""
        raise UploadError(415, f"send the photo's raw bytes as the body{form} with Content-Type "
                               f"application/octet-stream (or image/jpeg, image/png, image/webp); got {given}")


def create_app(
    max_upload_bytes: int = 20_000_000,
    estimator_factory: Callable[..., Estimator] = Estimator,
    loopback_only: bool = True,
) -> FastAPI:
    """The app. ``loopback_only`` answers only requests addressed to 127.0.0.1/localhost (no DNS rebinding).

    ``estimator_factory()`` makes the photos' estimator, ``estimator_factory(running_mode="video")`` the webcam's."""
    shared = _SharedEstimator(estimator_factory)
    webcam = _WebcamStreams(lambda: estimator_factory(running_mode="video"))
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

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))  # {"error": ...} like every other answer of ours

    @app.api_route("/", methods=["GET", "HEAD"])
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
            _check_content_type(request)
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
