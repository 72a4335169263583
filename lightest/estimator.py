"""``Estimator``: image in, :class:`~lightest.result.LightEstimate` out.

Pipeline, LiteRT end to end: face detector -> face mesh (both MediaPipe graphs, :mod:`lightest.face`) ->
the light-head graph (:mod:`lightest.lighthead`: sampling, features, regressor, head axes in one
``.tflite``). ``method="physics"`` and regressor-only models (the seed reproduction on dlib landmarks)
measure the light-points in numpy instead (:class:`~lightest.observer.LightPointObserver`), which is also
how training builds its features.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lightest import confidence, frames
from lightest.face.nms import iou
from lightest.features import NEEDS_NORMALS, LightPointObservation, feature_vector
from lightest.image_io import to_bgr
from lightest.landmarks import BACKENDS, FaceLandmarks
from lightest.lighthead import LIGHT_HEAD_KIND, LightHead, LightHeadCard, LightHeadOutput
from lightest.lightpoints import LightPointSet
from lightest.live_stream import LatestFrameWorker, ResultCallback, StaleFrame
from lightest.mirror import MirroredFeatures, merge_mirrored
from lightest.model_card import DIRECTION_OUTPUTS, ModelCard, card_path_for
from lightest.observer import LightPointObserver
from lightest.photo_file import estimate_file, estimate_image
from lightest.physics import fit_lambertian, srgb_to_linear
from lightest.result import LightEstimate
from lightest.sh import sh_from_light, sh_from_shares
from lightest.smoothing import LightSmoother, SmoothingOptions
from lightest.tflite_runner import TFLiteRegressor

__all__ = [
    "DEFAULT_MODELS",
    "METHODS",
    "RUNNING_MODES",
    "Estimator",
    "EstimatorOptions",
    "StageTimes",
    "TimestampOrderError",
    "default_model_path",
]

METHODS = ("auto", "physics", "model")
RUNNING_MODES = ("image", "video", "live_stream")
#: Light-point set the physics estimator samples.
PHYSICS_LIGHT_POINTS = "mesh-v1"
_GRAY = np.ones(3)
_log = logging.getLogger("lightest")


#: The bundled model each landmark backend uses by default (``lightest/models``): the light head on the mesh,
#: the thesis's reproduction (79 light-points on dlib's 68 landmarks) on dlib.
DEFAULT_MODELS = {"mediapipe": "lighthead.tflite", "dlib": "seed-parallel-float32.tflite"}


#: Scale of :func:`input_typicality`'s distance: an input this far from the training data keeps exp(-1/2) of it.
TYPICALITY_SCALE = 0.5


def input_typicality(z: np.ndarray) -> float:
    """How typical a regressor's standardised input ``z = (x - input_mean) / input_std`` is of its training data
    (the card's per-input mean and std), in (0, 1]: ``exp(-d^2 / (2 * 0.5^2))`` with
    ``d^2 = mean(z)^2 + max(0, rms(z) - 1)^2``.

    ``mean(z)`` is how much brighter or darker than the training faces the input is overall (in training
    standard deviations; raw-gray models such as the seed reproduction have no exposure normalisation), and
    ``rms(z) - 1`` how much more the inputs spread than training inputs do (over the training set the mean
    square z-score is 1). The card keeps no covariance, so this is a diagonal, not a full Mahalanobis,
    distance. With the seed model on dlib landmarks (``python -m training.dlib_confidence``), the confidence
    (this times the in-image share of light-points) has Spearman -0.34 with the angle error on Yale B subjects
    01, 05, 11, 20 (252 faces, where the form and scale were chosen) and -0.19 on subjects 02, 07, 15, 25
    (248 faces, held out); the in-image share alone had +0.39 and +0.24: weak, but no longer backwards.
    """
    z = np.nan_to_num(np.asarray(z, dtype=np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
    d2 = float(z.mean()) ** 2 + max(0.0, float(np.sqrt(np.mean(z * z))) - 1.0) ** 2
    return float(np.exp(-0.5 * d2 / TYPICALITY_SCALE**2))


#: Video and live stream: a face whose box overlaps the last frame's face by at least this intersection over
#: union is the same face (followed, its light filtered on); otherwise the largest face, filtered afresh.
FOLLOW_FACE_IOU = 0.3


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two ``(x, y, width, height)`` boxes (:func:`lightest.face.nms.iou`)."""
    corners = np.array([[x, y, x + w, y + h] for x, y, w, h in (a, b)], dtype=np.float64)
    return float(iou(corners[0], corners[1:])[0])


def _weak_step(est: Estimator) -> Callable[[np.ndarray, float, int], LightEstimate | None]:
    """``est``'s live-stream step through a weak reference, so that the worker thread does not keep an unclosed
    estimator alive; once it is gone, frames still in the worker are dropped."""
    method = weakref.WeakMethod(est._live_step)

    def step(frame: np.ndarray, timestamp_ms: float, generation: int) -> LightEstimate | None:
        live_step = method()
        if live_step is None:
            raise StaleFrame
        return live_step(frame, timestamp_ms, generation)

    return step


#: Largest timestamp accepted (ms): 2**53, beyond which float milliseconds no longer count single steps.
MAX_TIMESTAMP_MS = float(2**53)


class TimestampOrderError(ValueError):
    """A video or live-stream frame whose timestamp is not after the stream's last one."""

    def __init__(self, timestamp_ms: float, last_ms: float) -> None:
        super().__init__(
            f"timestamp_ms must increase monotonically: got {timestamp_ms} after {last_ms} (reset() starts anew)"
        )
        self.timestamp_ms, self.last_ms = timestamp_ms, last_ms


def _check_timestamp(timestamp_ms: object) -> None:
    number = not isinstance(timestamp_ms, bool) and isinstance(timestamp_ms, (int, float, np.integer, np.floating))
    try:
        usable = number and abs(float(timestamp_ms)) <= MAX_TIMESTAMP_MS  # type: ignore[arg-type]; NaN fails too
    except OverflowError:  # an int beyond float's range
        usable = False
    if not usable:
        raise ValueError(
            f"timestamp_ms must be a finite number of milliseconds (at most 2**53), got {timestamp_ms!r}"
        )


def default_model_path(landmarks: str = "mediapipe") -> Path | None:
    """The model bundled for ``landmarks`` (:data:`DEFAULT_MODELS`, + its card), or None if not shipped."""
    path = Path(str(resources.files("lightest.models").joinpath(DEFAULT_MODELS[landmarks])))
    return path if path.is_file() and card_path_for(path).is_file() else None


def _read_card(model_path: Path) -> LightHeadCard | ModelCard:
    """The card beside ``model_path``: a light-head card or a regressor's :class:`ModelCard`."""
    if not model_path.is_file():
        raise FileNotFoundError(f"model {model_path} does not exist" if not model_path.exists() else
                                f"model {model_path} is not a file")  # fmt: skip
    card_path = card_path_for(model_path)
    if card_path.is_file():
        try:
            data = json.loads(card_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"model card {card_path} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and data.get("kind") == LIGHT_HEAD_KIND:
            return LightHeadCard.from_json(data, str(card_path))
    return ModelCard.load(card_path)


@dataclass(frozen=True)
class EstimatorOptions:
    """How an :class:`Estimator` works (MediaPipe Tasks style options object).

    Attributes:
        method: ``"auto"`` (bundled model if present, else physics), ``"physics"`` or ``"model"``.
        landmarks: ``"mediapipe"`` (468-point mesh with depth, default) or ``"dlib"`` (68 points, 2D).
        model_path: a light-head or regressor ``.tflite`` with its ``.card.json``; implies
            ``method="model"`` under ``"auto"``.
        num_threads: LiteRT threads of every graph (detector, mesh, light head).
        running_mode: ``"image"`` (every call independent: the face is detected afresh), ``"video"``
            (consecutive frames of one stream, :meth:`Estimator.estimate_for_video`: faces are tracked from
            frame to frame, and detected again only when the mesh loses them) or ``"live_stream"`` (the same
            tracking, with frames handed over by :meth:`Estimator.estimate_async` without waiting and results
            delivered to ``result_callback``; :mod:`lightest.live_stream`).
        max_faces: most faces :meth:`Estimator.estimate_all` returns, largest first. They are the first
            ``max_faces`` the detectors find and mesh, in order of detection score, not necessarily the largest
            in the image; with 1 (the default) only the short-range detector runs unless it finds nothing, so in
            a group photo :meth:`Estimator.estimate` may answer for a smaller face, or none, where
            ``estimate_all`` with a larger ``max_faces`` (both detectors, tiles) finds them all.
        smoothing: temporal filter and hold of the video and live-stream modes
            (:class:`~lightest.smoothing.SmoothingOptions`; ``SmoothingOptions(enabled=False, hold_ms=0)`` turns
            both off: each frame's own answer, None on a frame without a face).
        result_callback: live-stream mode only, and required there: ``callback(result, image, timestamp_ms)``
            with the (filtered) estimate or None (no face), the BGR frame and its timestamp, called on the
            estimator's worker thread.
    """

    method: str = "auto"
    landmarks: str = "mediapipe"
    model_path: str | os.PathLike[str] | None = None
    num_threads: int = 1
    running_mode: str = "image"
    max_faces: int = 1
    smoothing: SmoothingOptions = field(default_factory=SmoothingOptions)
    result_callback: ResultCallback | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.landmarks not in BACKENDS:
            raise ValueError(f"landmarks must be one of {BACKENDS}, got {self.landmarks!r}")
        if self.running_mode not in RUNNING_MODES:
            raise ValueError(f"running_mode must be one of {RUNNING_MODES}, got {self.running_mode!r}")
        for name in ("num_threads", "max_faces"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.model_path is not None:
            if not isinstance(self.model_path, (str, os.PathLike)):
                raise ValueError(f"model_path must be a path to a .tflite file, got {type(self.model_path).__name__}")
            if Path(self.model_path).is_dir():
                raise ValueError(f"model_path {os.fspath(self.model_path)!r} is a directory, not a .tflite file")
        if not isinstance(self.smoothing, SmoothingOptions):
            raise ValueError(f"smoothing must be a SmoothingOptions, got {type(self.smoothing).__name__}")
        if self.running_mode == "live_stream" and not callable(self.result_callback):
            raise ValueError("running_mode='live_stream' needs a result_callback(result, image, timestamp_ms)")
        if self.running_mode != "live_stream" and self.result_callback is not None:
            raise ValueError(f"result_callback is for running_mode='live_stream', not {self.running_mode!r}")


@dataclass(frozen=True)
class StageTimes:
    """Wall time of each pipeline stage for one image, in milliseconds.

    With a light-head graph (the default), sampling, features, the regressor and the head axes are one
    invoke: ``sampling_ms`` is that graph and ``estimate_ms`` building the :class:`LightEstimate` from it.
    """

    landmarks_ms: float
    sampling_ms: float
    estimate_ms: float

    @property
    def total_ms(self) -> float:
        return self.landmarks_ms + self.sampling_ms + self.estimate_ms


class Estimator:
    """Estimate the main light of a face photo.

    >>> est = Estimator()                        # doctest: +SKIP
    >>> r = est.estimate(cv2.imread("face.jpg"))  # doctest: +SKIP
    >>> r.direction, r.azimuth_deg, r.elevation_deg  # doctest: +SKIP

    Keyword arguments override fields of ``options`` (:class:`EstimatorOptions`). Holds native
    resources: use it as a context manager or call :meth:`close`; any call after :meth:`close` raises
    ``RuntimeError``. One estimator may be shared by threads: calls are serialised (one LiteRT
    interpreter per graph); for parallel throughput give each thread its own estimator.
    """

    def __init__(self, options: EstimatorOptions | None = None, **overrides: Any) -> None:
        if options is not None and not isinstance(options, EstimatorOptions):
            raise TypeError(
                f"options must be an EstimatorOptions, got {options!r}: pass settings by name, "
                "e.g. Estimator(running_mode='video')"
            )
        options = replace(options or EstimatorOptions(), **overrides)
        self.options = options
        self._lock = threading.RLock()
        self._closed = False
        self._smoother = LightSmoother(options.smoothing)
        self._last_timestamp_ms: float | None = None
        self.method, self._model, self._card = self._resolve_method(options)
        self._head: LightHead | None = self._model if isinstance(self._model, LightHead) else None
        # calibrated confidence (lightest.confidence) when the shipped calibration was fitted for this graph
        self._confidence = None if self._head is None else confidence.load_for_model(self._head.card.sha256)
        light_points = PHYSICS_LIGHT_POINTS if self._card is None else self._card.light_points
        self._mirrored_features: MirroredFeatures | None = None
        if isinstance(self._card, ModelCard):  # as arrays once, not per frame
            c = self._card
            self._card_arrays = tuple(
                np.asarray(v, dtype=np.float64) for v in (c.input_mean, c.input_std, c.output_scale)
            )
            self._position_to_camera = None if c.position_to_camera is None else np.asarray(c.position_to_camera)
            if c.mirror_average:
                self._mirrored_features = MirroredFeatures(c.light_points, c.features)
        if self._head is not None and options.landmarks != "mediapipe":
            raise ValueError("the light-head model samples the face mesh's crop: use landmarks='mediapipe'")
        self._observer = LightPointObserver(
            landmarks=options.landmarks,
            light_points=light_points,
            video=options.running_mode != "image",
            normals=self._card is None or bool(NEEDS_NORMALS & set(self._card.features)),
            num_threads=options.num_threads,
            max_faces=options.max_faces,
        )
        self._stream_box: tuple[int, int, int, int] | None = None  # video / live stream: the face followed
        self._submit_lock = threading.Lock()  # live stream: the timestamp check, without waiting for a frame
        self._closing = False
        self._worker: LatestFrameWorker | None = None
        if options.running_mode == "live_stream":
            assert options.result_callback is not None  # EstimatorOptions checked it
            self._worker = LatestFrameWorker(_weak_step(self), options.result_callback)
            weakref.finalize(self, self._worker.abandon)  # unclosed and unreachable: stop the thread, warn

    @staticmethod
    def _resolve_method(
        options: EstimatorOptions,
    ) -> tuple[str, TFLiteRegressor | LightHead | None, ModelCard | LightHeadCard | None]:
        model_path = options.model_path
        if options.method == "physics":
            if model_path is not None:
                raise ValueError("model_path was given with method='physics'; use method='model' or 'auto'")
            if options.landmarks != "mediapipe":
                raise ValueError("method='physics' needs mesh normals: use landmarks='mediapipe'")
            return "physics", None, None
        if model_path is None:
            model_path = default_model_path(options.landmarks)
            if model_path is None:
                if options.method == "model":
                    raise FileNotFoundError("method='model' but no model_path given and no bundled model")
                if options.landmarks != "mediapipe":
                    raise ValueError(f"no bundled model for landmarks={options.landmarks!r}; pass model_path=...")
                return "physics", None, None
        card = _read_card(Path(model_path))
        if isinstance(card, LightHeadCard):
            return "model", LightHead(model_path, card, num_threads=options.num_threads), card
        model = TFLiteRegressor(model_path, num_threads=options.num_threads, sha256=card.sha256)
        if model.input_size != card.input_size:
            raise ValueError(f"{model_path}: model takes {model.input_size} inputs, card says {card.input_size}")
        if model.output_size != len(card.outputs):
            raise ValueError(f"{model_path}: model gives {model.output_size} outputs, card names {card.outputs}")
        return "model", model, card

    @property
    def light_points(self) -> LightPointSet:
        """The light-point set this estimator samples."""
        return self._observer.points

    # -- public API -----------------------------------------------------------------------------------
    def estimate(self, image: np.ndarray) -> LightEstimate | None:
        """Light estimate of one face in one image (uint8 gray, BGR or BGRA), or None: no face.

        The face is the largest of those found (up to ``max_faces``); with the default 1 only one face is looked
        for, the short-range detector's surest: in a portrait, the face; in a group photo, not necessarily the
        largest (use :meth:`estimate_all` with a larger ``max_faces``). In video mode the face is tracked from
        the previous call, but the answer is this frame's own: no filter, no hold and no timestamp (those are
        :meth:`estimate_for_video`'s).

        In image mode a big image (longer side over :data:`lightest.photo_file.BIG_SIDE`) in which the whole
        frame shows no face is searched in four overlapping windows (:func:`lightest.photo_file.estimate_image`):
        the detectors see the frame shrunk to 128 or 192 px, where a 300 px face in 8000x6000 is 7 px. Such a
        frame without any face costs five passes instead of one (4K frames included)."""
        self._refuse_in_live_stream("estimate")
        if self.options.running_mode == "image":
            with self._lock:  # one call: close() from another thread cannot land between the windows
                return estimate_image(self._estimate_frame, image)
        return self._estimate_frame(image)

    def _estimate_frame(self, image: np.ndarray) -> LightEstimate | None:
        """One pass of the pipeline on the whole frame."""
        return self._run(image)[0]

    def estimate_for_video(self, frame: np.ndarray, timestamp_ms: int) -> LightEstimate | None:
        """The light of the largest face in one video frame, filtered over time (MediaPipe Tasks' video mode).

        Needs ``running_mode="video"``; ``timestamp_ms`` must increase from call to call. The direction,
        ambient share and intensity pass a One Euro filter (``options.smoothing``); on frames without a face
        the last estimate is returned for ``smoothing.hold_ms``, then None. :meth:`reset` starts a new stream.
        """
        if self.options.running_mode != "video":
            raise ValueError(
                f"estimate_for_video needs running_mode='video' (this estimator's is {self.options.running_mode!r}): "
                "use estimate() for single images, estimate_async() in live-stream mode"
            )
        _check_timestamp(timestamp_ms)
        with self._lock:
            self._check_open()
            self._check_increasing(timestamp_ms)
            result = self._stream_step(frame, timestamp_ms)
            self._last_timestamp_ms = float(timestamp_ms)
            return result

    def estimate_async(self, frame: np.ndarray, timestamp_ms: int) -> None:
        """Hand one live-stream frame over and return at once (MediaPipe Tasks' ``detect_async``).

        Needs ``running_mode="live_stream"``; ``timestamp_ms`` must increase from call to call. The frame is
        checked and copied here (the caller may reuse its buffer), estimated on the estimator's worker thread
        as in video mode (tracking, One Euro filter, hold), and the answer goes to ``options.result_callback``.
        A frame still waiting when a newer one arrives is dropped: no callback (:attr:`frames_dropped`).
        :meth:`close` finishes the frames already handed over, and stops the worker thread: close an estimator in
        this mode (or use it in ``with``); one garbage-collected unclosed stops its thread with a
        ``ResourceWarning``. An exception raised by the callback (or the estimate) is raised again, chained, by the
        next call of this method or by :meth:`close`.
        """
        worker = self._worker
        self._check_open(new_frames=True)
        if worker is None:
            raise ValueError(
                f"estimate_async needs running_mode='live_stream' (this estimator's is {self.options.running_mode!r})"
            )
        _check_timestamp(timestamp_ms)
        bgr = to_bgr(frame)
        if np.shares_memory(bgr, frame):
            bgr = bgr.copy()
        with self._submit_lock:
            self._check_open(new_frames=True)
            self._check_increasing(timestamp_ms)
            worker.submit(bgr, timestamp_ms)
            self._last_timestamp_ms = float(timestamp_ms)

    @property
    def frames_dropped(self) -> int:
        """Live-stream mode: frames replaced by a newer one before their turn came (0 in other modes)."""
        return 0 if self._worker is None else self._worker.frames_dropped

    def estimate_all(self, image: np.ndarray) -> list[LightEstimate]:
        """Light estimates of every face found (up to ``max_faces``), largest face first."""
        self._refuse_in_live_stream("estimate_all")
        bgr = to_bgr(image)
        with self._lock:
            self._check_open()
            faces = self._observer.detect_all(bgr)
            results = [self._estimate_face(bgr, face) for face in faces]
        return [r for r in results if r is not None]

    def estimate_path(self, path: str | os.PathLike[str]) -> LightEstimate | None:
        """:meth:`estimate` on an image file, in the file's full-resolution pixels (EXIF orientation applied).

        Big photos (:func:`lightest.photo_file.estimate_file`): a JPEG is decoded reduced (longer side >= 1920
        px: an 8000x6000 photo as 2000x1500); a face smaller than :data:`lightest.image_io.FACE_MIN_PX` there
        is estimated again on a finer decode (its 1.5x crop square >= the mesh's 192 px); with no face in the
        frame, four windows are searched. Landmarks, light-points and the face box come back in full-resolution
        pixels. In video mode the file is decoded at full size and tracked as the stream's next frame, unfiltered
        (as :meth:`estimate`).
        """
        self._refuse_in_live_stream("estimate_path")
        return estimate_file(self._estimate_frame, path, adaptive=self.options.running_mode == "image")

    def estimate_timed(self, image: np.ndarray) -> tuple[LightEstimate | None, StageTimes]:
        """One pass on the whole frame (no window search) and the time each stage took."""
        self._refuse_in_live_stream("estimate_timed")
        return self._run(image)

    def detect_landmarks(self, image: np.ndarray) -> FaceLandmarks | None:
        """Just the landmark step: the landmarks of the face :meth:`estimate` would answer for, or None."""
        self._refuse_in_live_stream("detect_landmarks")
        bgr = to_bgr(image)
        with self._lock:
            self._check_open()
            return self._observer.detect(bgr)

    def estimate_with_landmarks(self, image: np.ndarray, landmarks: FaceLandmarks) -> LightEstimate | None:
        """Estimate from landmarks you already have (from :meth:`detect_landmarks` or your own tracker,
        in the backend's scheme): the "light head" alone, without face detection. The light is ``image``'s: the
        face crop that came with mesh landmarks (from :meth:`detect_landmarks` on some frame) is cut again from
        ``image`` (:meth:`~lightest.observer.LightPointObserver.crop_from`); landmarks without one, or moved
        away from it, get one made with the mesh model's tracking rule. Landmarks of another scheme, row count,
        or with non-finite values raise ``ValueError``; landmarks wholly outside the image give None."""
        bgr = to_bgr(image)
        with self._lock:
            self._check_open()
            face = self._observer.check_landmarks(landmarks)
            (h, w), (x, y, bw, bh) = bgr.shape[:2], face.box
            if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
                return None
            if face.scheme == "mediapipe468":
                face = self._observer.crop_from(bgr, face)
            return self._estimate_face(bgr, face)

    def observe(self, image: np.ndarray) -> tuple[FaceLandmarks, LightPointObservation] | None:
        """Landmarks and light-point measurements of the largest face in ``image`` (None: no face).

        The same :class:`~lightest.observer.LightPointObserver` step training builds features with (on the
        mesh it samples the face crop exactly as the light-head graph does).
        """
        self._refuse_in_live_stream("observe")
        with self._lock:
            self._check_open()
            return self._observer.observe(image)

    def reset(self) -> None:
        """Video and live-stream modes: forget the tracked faces, the filter state and the last timestamp: a new
        stream. Live stream: frames handed over before are dropped unless already estimated (the one being
        estimated may still reach the callback, before anything of the new stream); while :meth:`close` finishes
        the last frames (a callback calling it then) it does nothing; after the callback or the estimate raised,
        it raises as :meth:`estimate_async` does (the stream has stopped for good)."""
        with self._lock, self._submit_lock:
            self._check_open()
            if self._closing:  # close() is finishing the live stream's last frames: no new stream to start
                return
            if self._worker is not None:
                self._worker.new_stream()
            self._observer.reset()
            self._smoother.reset()
            self._last_timestamp_ms = None
            self._stream_box = None

    def close(self) -> None:
        """Release the LiteRT interpreters; later calls raise ``RuntimeError``. Safe to call twice.

        Live stream: the frames already handed over are estimated and their callbacks called first; an
        exception the callback raised and nobody saw yet is raised here (after the release)."""
        with self._submit_lock:
            self._closing = True  # estimate_async refuses from here on; the worker still finishes its frames
        worker = self._worker
        try:
            if worker is not None:
                worker.close()
        finally:
            with self._lock:
                if not self._closed:
                    self._closed = True
                    self._observer.close()

    def _check_open(self, new_frames: bool = False) -> None:
        """Raise once closed; ``new_frames``: also while :meth:`close` finishes the live stream's last frames."""
        if self._closed or (new_frames and self._closing):
            raise RuntimeError("this Estimator is closed; create a new one")

    def _check_increasing(self, timestamp_ms: float) -> None:
        last = self._last_timestamp_ms
        if last is not None and timestamp_ms <= last:
            raise TimestampOrderError(timestamp_ms, last)

    def _refuse_in_live_stream(self, name: str) -> None:
        self._check_open()
        if self._worker is not None:
            raise ValueError(
                f"{name}() is not available in running_mode='live_stream' (its worker tracks the stream): "
                "use estimate_async(frame, timestamp_ms), or an estimator in image mode"
            )

    def __enter__(self) -> Estimator:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            self.close()
        except RuntimeError:  # a live-stream callback's error: the block's own exception matters more
            if exc is None:
                raise
            _log.exception("closing the Estimator after an exception in its with block also failed")

    # -- stages ---------------------------------------------------------------------------------------
    def _live_step(self, frame: np.ndarray, timestamp_ms: float, generation: int) -> LightEstimate | None:
        """The worker's step: one frame of the live stream, unless :meth:`reset` started a new stream since it was
        handed over (checked under the lock that reset holds: :class:`~lightest.live_stream.StaleFrame`)."""
        with self._lock:
            assert self._worker is not None
            if generation != self._worker.generation:
                raise StaleFrame
            return self._stream_step(frame, timestamp_ms)

    def _stream_step(self, frame: np.ndarray, timestamp_ms: float) -> LightEstimate | None:
        """One frame of a stream (video and live-stream modes): the face that continues the stream's last one
        (the largest when none does: :data:`FOLLOW_FACE_IOU`), its light, then the temporal filter, which starts
        afresh when the face is another one (one face's light is not blended into another's)."""
        bgr = to_bgr(frame)
        with self._lock:
            self._check_open()
            faces = self._observer.detect_all(bgr)
            last = self._stream_box
            overlaps = [] if last is None else [_iou(f.box, last) for f in faces]
            best = int(np.argmax(overlaps)) if overlaps else -1
            if best >= 0 and overlaps[best] >= FOLLOW_FACE_IOU:
                face = faces[best]
            else:
                face = faces[0] if faces else None
                if face is not None and last is not None:
                    self._smoother.reset()
            result = None if face is None else self._estimate_face(bgr, face)
            if face is not None:
                self._stream_box = face.box
            return self._smoother.update(result, float(timestamp_ms))

    def _run(self, image: np.ndarray) -> tuple[LightEstimate | None, StageTimes]:
        bgr = to_bgr(image)
        with self._lock:
            self._check_open()
            t0 = time.perf_counter()
            landmarks = self._observer.detect(bgr)
            t1 = time.perf_counter()
            if landmarks is None:
                return None, StageTimes((t1 - t0) * 1e3, 0.0, 0.0)
            if self._head is not None:
                out = self._run_head(bgr, landmarks)
                t2 = time.perf_counter()
                result = self._head_estimate(bgr, landmarks, out)
            else:
                obs = self._observer.measure(bgr, landmarks)
                t2 = time.perf_counter()
                result = self._solve(bgr, landmarks, obs)
            t3 = time.perf_counter()
        return result, StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)

    def _estimate_face(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> LightEstimate | None:
        if self._head is not None:
            return self._head_estimate(bgr, landmarks, self._run_head(bgr, landmarks))
        return self._solve(bgr, landmarks, self._observer.measure(bgr, landmarks))

    def _common(self, bgr: np.ndarray, landmarks: FaceLandmarks, light_points: np.ndarray) -> dict[str, Any]:
        h, w = bgr.shape[:2]
        x, y, bw, bh = landmarks.box
        x0, y0 = max(0, x), max(0, y)
        return {
            "face_box": (x0, y0, min(w, x + bw) - x0, min(h, y + bh) - y0),
            "landmarks": landmarks.points,
            "light_points": light_points,
            "method": self.method,
        }

    def _solve(self, bgr: np.ndarray, landmarks: FaceLandmarks, obs: LightPointObservation) -> LightEstimate | None:
        common = self._common(bgr, landmarks, obs.points[:, :2])
        if self._model is None:
            return self._solve_physics(obs, common)
        return self._solve_model(obs, common)

    def _run_head(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> LightHeadOutput:
        assert self._head is not None
        crop = self._observer.with_crop(bgr, landmarks).crop
        assert crop is not None
        return self._head.run(crop.image, crop.points, crop.to_image, (bgr.shape[1], bgr.shape[0]), details=False)

    def _head_estimate(self, bgr: np.ndarray, landmarks: FaceLandmarks, out: LightHeadOutput) -> LightEstimate | None:
        common = self._common(bgr, landmarks, out.light_points)
        calibrated = None
        if self._confidence is not None and np.isfinite(out.direction).all():
            calibrated = self._confidence(confidence.signals(
                out.contrast, out.direction, out.direction_norm, out.valid_fraction,
                out.extras.get("ambient"),
            ))
        return self._light_estimate(
            out.direction, out.direction_norm, out.valid_fraction, out.extras, common, calibrated
        )

    def _solve_physics(self, obs: LightPointObservation, common: dict[str, Any]) -> LightEstimate | None:
        assert obs.normals is not None
        fit = fit_lambertian(srgb_to_linear(obs.samples.gray), obs.normals)
        if fit is None:
            return None
        return LightEstimate(
            direction=tuple(fit.direction),
            intensity=fit.directional,
            ambient=fit.ambient / (fit.ambient + fit.directional),
            sh=sh_from_light(fit.direction, fit.directional * _GRAY, fit.ambient / np.pi * _GRAY),
            confidence=fit.confidence,
            **common,
        )

    def _solve_model(self, obs: LightPointObservation, common: dict[str, Any]) -> LightEstimate | None:
        card, model = self._card, self._model
        assert isinstance(card, ModelCard) and isinstance(model, TFLiteRegressor)
        mean, std, scale = self._card_arrays
        x = feature_vector(obs, card.features)
        z = (x - mean) / std
        raw_out = model.predict(z).astype(np.float64)
        if self._mirrored_features is not None:
            x_flipped = self._mirrored_features(obs, x)
            raw_out = merge_mirrored(raw_out, model.predict((x_flipped - mean) / std).astype(np.float64), card.outputs)
        raw_out = raw_out * scale
        out = dict(zip(card.outputs, raw_out, strict=True))
        kind = card.direction_kind
        raw = np.array([out[n] for n in DIRECTION_OUTPUTS[kind]])
        if kind == "seed_position":
            raw = raw @ self._position_to_camera
        norm = float(np.linalg.norm(raw))
        if not np.isfinite(norm) or norm < 1e-6:
            return None
        direction = frames.normalize(raw)
        if kind == "head":
            if obs.head_rotation is None:
                raise ValueError("this model predicts head-frame directions and needs landmarks with depth")
            direction = obs.head_rotation @ direction
        unit_length = None if kind == "seed_position" else norm
        support = float(obs.samples.valid.mean()) * input_typicality(z)
        return self._light_estimate(direction, unit_length, support, out, common)

    def _light_estimate(
        self,
        direction: np.ndarray,
        norm: float | None,
        valid_fraction: float,
        out: dict[str, Any],
        common: dict[str, Any],
        calibrated: float | None = None,
    ) -> LightEstimate | None:
        """The model's answer as a :class:`LightEstimate` (None when the direction is not finite).

        ``calibrated``: the calibrated confidence (:mod:`lightest.confidence`), else the heuristic below.
        """
        if not np.isfinite(direction).all() or (norm is not None and (not np.isfinite(norm) or norm < 1e-6)):
            return None
        ambient = float(np.clip(out["ambient"], 0.0, 1.0)) if "ambient" in out else None
        intensity = max(0.0, float(out["intensity"])) if "intensity" in out else None
        # Heuristic confidence: the share of light-points inside the image, times (for unit-vector outputs)
        # how close the raw output is to unit length, which in-distribution inputs keep near 1.
        heuristic = valid_fraction
        if norm is not None:
            heuristic *= float(np.clip(1.0 - abs(1.0 - norm), 0.0, 1.0))
        return LightEstimate(
            direction=tuple(direction),
            intensity=intensity,
            ambient=ambient,
            sh=sh_from_shares(direction, intensity, ambient),
            confidence=heuristic if calibrated is None else calibrated,
            **common,
        )
