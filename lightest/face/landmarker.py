"""Face detector + 468-point face mesh on LiteRT: what ``mediapipe.solutions.face_mesh`` does, in numpy glue.

Detection: BlazeFace short range on the letterboxed frame; only if it finds nothing, full range (small or
distant faces). With ``max_faces > 1`` (group photos) both always run, and full range also runs on
overlapping tiles of :data:`TILE_SIDE` pixels of a frame larger than that, so faces down to ~50 px are
found in a 1920x1080 frame (eight tiles, ~20 ms); the boxes are merged. Each detection's crop
(:mod:`lightest.face.roi`) goes through the face-landmark graph; a face whose mesh score is below
``min_presence`` is dropped. Video mode tracks: faces found in one frame are followed into the next (the
crop is placed from the previous mesh), and the detectors run again only when fewer faces are tracked
than ``max_faces`` (as MediaPipe does).

``robust=True`` (default) adds what tight portrait crops and harsh side light need, at no cost on frames
without a face: the short-range input shows the frame padded by 25 % (a face cut by the border becomes
whole) and contrast-normalised (:mod:`lightest.face.contrast`), which costs nothing extra per run; when a
detected face's mesh score is too low (yet not below :data:`RETRY_MIN_PRESENCE`, which blurs and patterns
score), the mesh is tried again on a black-bordered, contrast-normalised crop, then on the crop of a
detection with 50 % padding; and when a detection's mesh still fails, the next detection is tried.
``robust=False`` is MediaPipe's exact behaviour (landmarks within ~0.01 px of ``solutions.face_mesh``, the
same found / not-found decisions).

Why the padded input comes first rather than as a retry after the plain frame fails: on Yale B (tight crops,
one fixed head per subject under 64 lights, so the landmarks should not move) MediaPipe's plain-frame mesh
drifts 7.3 px (mean over subjects) from light to light where the robust one drifts 2.8 px on the same
images, and it finds 53 % of the faces where robust finds 99.5 %; a retry after two failed detectors would
also make a frame without a face cost ~1.9x a frame with one (the full-range graph alone is ~2 ms), robust
keeps it ~1.2x.

Pixels as MediaPipe's ``ImageToTensorCalculator``: detectors see the letterboxed frame with black bands
(``BORDER_ZERO``) in [-1, 1]; the mesh sees the rotated crop with the edge pixels replicated beyond the frame
(``BORDER_REPLICATE``, the calculator's default, which ``face_landmark_cpu.pbtxt`` keeps) in [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lightest.face.contrast import equalise_rgb
from lightest.face.detector import FaceDetection, FaceDetector
from lightest.face.models import open_face_model
from lightest.face.nms import iou
from lightest.face.roi import RotatedRect, roi_from_eyes, roi_from_mesh
from lightest.face.ssd_anchors import DETECTORS

__all__ = [
    "CROP_SIZE",
    "LANDMARK_MODEL",
    "RETRY_MIN_PRESENCE",
    "ROBUST_PAD",
    "ROBUST_RETRY_PAD",
    "FaceMeshLandmarker",
    "MeshFace",
]

LANDMARK_MODEL = "face_landmark.tflite"
#: Side of the face crop in pixels: the face-landmark graph's input (and the light head's).
CROP_SIZE = 192
#: ``robust``: padding (fraction of the longer side, each edge) of the short-range input, and of the
#: detection retried when a detected face's mesh fails twice.
ROBUST_PAD = 0.25
ROBUST_RETRY_PAD = 0.5
#: ``robust``: the mesh retries run only when the plain mesh saw at least this faint a face (its face score).
#: A detection on a face-like blur or pattern scores below it and costs one mesh run, not three (on the
#: Yale B faces the retries rescued, the lowest first score was 0.0013; on a third of the posed faces, 2 of
#: 89 rescued faces scored below it).
RETRY_MIN_PRESENCE = 1e-3
#: ``max_faces == 1``: a short-range detection scoring below this whose mesh does find a face also asks the
#: full-range model; a full-range detection of that face scoring higher is meshed instead. Short range is unsure
#: at the edge of its range (a face ~15 % of a wide frame's width), where its eye keypoints, which rotate the
#: mesh's crop, can be far off. (A weak detection whose mesh finds nothing, as on a frame without a face,
#: costs no second detector.)
WEAK_DETECTION = 0.75
#: A tracked face is the same face as a detection overlapping it this much (box IoU).
SAME_FACE_IOU = 0.5
#: ``max_faces > 1``: full range also runs on square tiles of this side (a 50 px face spans ~15 px of the
#: model's 192 px input), overlapping by a quarter.
TILE_SIDE = 640


@dataclass(frozen=True)
class MeshFace:
    """One face's mesh, in the frame and in the crop the landmark graph saw.

    Attributes:
        points: ``(468, 3)`` frame pixels: u right, v down, depth toward the camera (pixels).
        crop: ``(192, 192, 3)`` uint8 RGB crop the landmark graph saw.
        crop_points: ``(468, 3)`` float32 mesh in crop pixels (depth toward the camera, crop pixels).
        crop_to_image: ``(2, 3)`` affine, frame ``(u, v) = A @ (u_crop, v_crop, 1)``.
        presence: the landmark graph's face score in [0, 1].
        detection_score: the detector's score, or None for a face tracked from the previous frame.
        dark_border: whether the crop's pixels beyond the frame are black (a retry's padding) rather than the
            frame's edge pixels replicated.
    """

    points: np.ndarray = field(repr=False)
    crop: np.ndarray = field(repr=False)
    crop_points: np.ndarray = field(repr=False)
    crop_to_image: np.ndarray = field(repr=False)
    presence: float
    detection_score: float | None
    dark_border: bool = False

    @property
    def width(self) -> float:
        """Width of the mesh's bounding box in frame pixels (faces are ordered by it)."""
        return float(np.ptp(self.points[:, 0]))


class FaceMeshLandmarker:
    """Faces and their 468-point meshes in BGR frames (largest face first).

    Args:
        num_threads: LiteRT threads for every graph.
        video: track faces across consecutive frames of one stream.
        max_faces: most faces returned.
        min_detection_confidence: short-range detector score threshold (``solutions.face_mesh``'s argument of
            that name); the full-range detector keeps its own 0.6 unless this is higher.
        min_presence: mesh face score below which a face is dropped (and, in video, re-detected):
            ``solutions.face_mesh``'s ``min_tracking_confidence``, which gates the mesh in both modes.
        robust: padded, contrast-normalised detection and mesh retries (module docstring); False is
            MediaPipe's exact behaviour.
        model_dir: folder with the ``.tflite`` files and their ``face_models.json`` (default: the shipped ones).
    """

    def __init__(
        self,
        num_threads: int = 1,
        video: bool = False,
        max_faces: int = 1,
        min_detection_confidence: float = 0.5,
        min_presence: float = 0.5,
        robust: bool = True,
        model_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        if not 0.0 <= min_presence <= 1.0:
            raise ValueError(f"min_presence must lie in [0, 1], got {min_presence}")
        self.video, self.max_faces, self.min_presence, self.robust = video, max_faces, min_presence, robust
        self._short = FaceDetector("short_range", num_threads, model_dir, min_score=min_detection_confidence)
        full_min = max(DETECTORS["full_range"].min_score, min_detection_confidence)
        self._full = FaceDetector("full_range", num_threads, model_dir, min_score=full_min)
        self._mesh = open_face_model(LANDMARK_MODEL, num_threads=num_threads, model_dir=model_dir)
        self._mesh_in = self._mesh.get_input_details()[0]["index"]
        outs = sorted(self._mesh.get_output_details(), key=lambda d: int(np.prod(d["shape"])), reverse=True)
        self._mesh_points, self._mesh_score = outs[0]["index"], outs[1]["index"]
        self._mesh_tensor = np.empty((1, CROP_SIZE, CROP_SIZE, 3), np.float32)  # reused input buffer
        self._tracked: list[MeshFace] = []
        self.detector_runs = 0  # how often a detector ran (tests and benchmarks read it)

    # -- public ---------------------------------------------------------------------------------------
    def detect(self, bgr: np.ndarray) -> list[MeshFace]:
        """Meshes of the faces in a BGR uint8 frame, largest first (empty: no face)."""
        faces: list[MeshFace] = []
        if self.video:
            faces = [f for f in (self.mesh_in(bgr, roi_from_mesh(t.points), None) for t in self._tracked) if f]
            faces = self._distinct(faces)
        if len(faces) < self.max_faces:
            faces = self._distinct(faces + self._detect_new(bgr, faces))
        faces = sorted(faces, key=lambda f: f.width, reverse=True)[: self.max_faces]
        if self.video:
            self._tracked = faces
        return faces

    def mesh_in(
        self, bgr: np.ndarray, roi: RotatedRect, detection_score: float | None, retry: bool = False
    ) -> MeshFace | None:
        """Run the landmark graph on one crop; None when its face score is below ``min_presence``.

        ``retry``: black border and contrast-normalised input (the crop kept in the result is not normalised).
        """
        return self._mesh_scored(bgr, roi, detection_score, retry)[0]

    def _mesh_scored(
        self, bgr: np.ndarray, roi: RotatedRect, detection_score: float | None, retry: bool = False
    ) -> tuple[MeshFace | None, float]:
        """:meth:`mesh_in` plus the landmark graph's face score (also when it is too low)."""
        crop = roi.warp(bgr, CROP_SIZE, dark_border=retry)
        seen = equalise_rgb(crop) if retry else crop
        np.multiply(seen[None], np.float32(1.0 / 255.0), out=self._mesh_tensor, dtype=np.float32, casting="unsafe")
        self._mesh.set_tensor(self._mesh_in, self._mesh_tensor)
        self._mesh.invoke()
        presence = float(1.0 / (1.0 + np.exp(-float(self._mesh.get_tensor(self._mesh_score).reshape(-1)[0]))))
        if presence < self.min_presence:
            return None, presence
        raw = self._mesh.get_tensor(self._mesh_points).reshape(-1, 3)
        crop_points = np.column_stack([raw[:, :2], -raw[:, 2]]).astype(np.float32)
        to_image = roi.to_image(CROP_SIZE)
        k = roi.side / CROP_SIZE
        uv = crop_points[:, :2].astype(np.float64) @ to_image[:, :2].T + to_image[:, 2]
        points = np.column_stack([uv, crop_points[:, 2] * k])
        return MeshFace(points, crop, crop_points, to_image, presence, detection_score, retry), presence

    def crop_around(self, bgr: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The crop the tracking rule places around a mesh from elsewhere: ``(crop RGB, crop_to_image)``."""
        roi = roi_from_mesh(points)
        return roi.warp(bgr, CROP_SIZE), roi.to_image(CROP_SIZE)

    def reset(self) -> None:
        """Forget tracked faces: the next frame is detected afresh."""
        self._tracked = []

    def close(self) -> None:
        self._tracked = []
        self._short = self._full = self._mesh = None  # type: ignore[assignment]

    # -- detection ------------------------------------------------------------------------------------
    def _detections(self, bgr: np.ndarray) -> list[FaceDetection]:
        self.detector_runs += 1
        pad = ROBUST_PAD if self.robust else 0.0
        found = self._short.detect(bgr, pad=pad, equalise=self.robust)
        if self.max_faces == 1 and found:
            return found
        found = found + self._full.detect(bgr)
        self.detector_runs += 1
        if self.max_faces > 1:
            for x0, y0 in _tiles(bgr.shape[1], bgr.shape[0], TILE_SIDE):
                self.detector_runs += 1
                tile = self._full.detect(bgr[y0 : y0 + TILE_SIDE, x0 : x0 + TILE_SIDE])
                shift = np.array([x0, y0], dtype=np.float64)
                found += [FaceDetection(d.box + np.tile(shift, 2), d.keypoints + shift, d.score) for d in tile]
        return _merge(found, self._short.spec.nms_iou)

    def _mesh_of(self, bgr: np.ndarray, det: FaceDetection) -> MeshFace | None:
        roi = _roi(det)
        face, presence = self._mesh_scored(bgr, roi, det.score)
        if face is not None or not self.robust or presence < RETRY_MIN_PRESENCE:
            return face
        face = self.mesh_in(bgr, roi, det.score, retry=True)
        if face is not None:
            return face
        self.detector_runs += 1
        retry = self._short.detect(bgr, pad=ROBUST_RETRY_PAD, equalise=True)
        again = [d for d in retry if iou(d.box, det.box[None])[0] > SAME_FACE_IOU]
        return self.mesh_in(bgr, _roi(again[0]), again[0].score, retry=True) if again else None

    def _second_opinion(self, bgr: np.ndarray, det: FaceDetection, face: MeshFace) -> MeshFace:
        """The mesh of full range's best detection of the face a weak short-range ``det`` found, when full range
        scores it higher (:data:`WEAK_DETECTION`); else ``face``, the mesh from ``det``."""
        self.detector_runs += 1
        better = [d for d in self._full.detect(bgr) if d.score > det.score and iou(d.box, det.box[None])[0] > 0.3]
        if not better:
            return face
        again = self._mesh_of(bgr, max(better, key=lambda d: d.score))
        return face if again is None else again

    def _detect_new(self, bgr: np.ndarray, known: list[MeshFace]) -> list[MeshFace]:
        out = []
        detections = self._detections(bgr)
        if not self.robust:  # MediaPipe meshes only the best max_faces detections; robust tries the rest too
            detections = detections[: self.max_faces]
        for det in detections:
            if any(_same_face(det.box, _box(f)) for f in known + out):
                continue
            face = self._mesh_of(bgr, det)
            if face is not None and self.max_faces == 1 and det.score < WEAK_DETECTION:
                face = self._second_opinion(bgr, det, face)
            if face is not None:
                out.append(face)
            if len(known) + len(out) >= self.max_faces:
                break
        return out

    @staticmethod
    def _distinct(faces: list[MeshFace]) -> list[MeshFace]:
        """Drop meshes of a face already in the list (two crops converging on one face, or a mesh fitted to part
        of a face, inside the face's own box): the larger is kept; largest first."""
        out: list[MeshFace] = []
        for f in sorted(faces, key=lambda f: f.width, reverse=True):
            if not any(_same_face(_box(f), _box(g)) for g in out):
                out.append(f)
        return out


def _tiles(width: int, height: int, side: int) -> list[tuple[int, int]]:
    """Top-left corners of square tiles overlapping by a quarter that cover a frame; none for a frame that a
    tile would nearly cover anyway."""
    if max(width, height) <= side * 1.25 or min(width, height) < side:
        return []
    step = side * 3 // 4

    def starts(length: int) -> list[int]:
        return sorted({*range(0, length - side, step), length - side})

    return [(x, y) for y in starts(height) for x in starts(width)]


def _roi(det: FaceDetection) -> RotatedRect:
    return roi_from_eyes(det.box, det.keypoints[0], det.keypoints[1])


def _box(face: MeshFace) -> np.ndarray:
    return np.concatenate([face.points[:, :2].min(axis=0), face.points[:, :2].max(axis=0)])


#: A box lying this much inside another (share of its own area) is part of the same face.
INSIDE_SAME_FACE = 0.8


def _same_face(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two ``(x0, y0, x1, y1)`` boxes are one face: overlapping by :data:`SAME_FACE_IOU`, or the smaller
    lying :data:`INSIDE_SAME_FACE` inside the larger."""
    if iou(a, b[None])[0] > SAME_FACE_IOU:
        return True
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return smaller > 0 and max(w, 0.0) * max(h, 0.0) >= INSIDE_SAME_FACE * smaller


def _merge(detections: list[FaceDetection], threshold: float) -> list[FaceDetection]:
    """Detections of both models with duplicates removed (the higher score kept), best first."""
    out: list[FaceDetection] = []
    for det in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(iou(det.box, o.box[None])[0] <= threshold for o in out):
            out.append(det)
    return out
