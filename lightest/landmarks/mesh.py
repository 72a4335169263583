"""MediaPipe's 468-point face mesh, run through LiteRT (:mod:`lightest.face`): lightest's default backend."""

from __future__ import annotations

import numpy as np

from lightest.face import FaceMeshLandmarker, MeshFace
from lightest.landmarks.base import FaceCrop, FaceLandmarks

__all__ = ["SCHEME", "MeshBackend"]

SCHEME = "mediapipe468"


def _landmarks(face: MeshFace) -> FaceLandmarks:
    crop = FaceCrop(image=face.crop, points=face.crop_points, to_image=face.crop_to_image, dark_border=face.dark_border)
    return FaceLandmarks(
        points=face.points, scheme=SCHEME, has_depth=True, crop=crop, score=face.presence,
        detection_score=face.detection_score,
    )


class MeshBackend:
    """Face detector + 468-point mesh (BlazeFace short/full range and MediaPipe's face landmark graph).

    ``video=True`` tracks faces across consecutive frames (the mesh of one frame places the next crop)
    and re-detects when the mesh's face score drops; image mode detects in every call. Detection is
    :class:`lightest.face.FaceMeshLandmarker`'s robust one (padded, contrast-normalised input; mesh retries
    only for detected faces whose mesh fails).
    """

    scheme = SCHEME

    def __init__(self, video: bool = False, num_threads: int = 1, max_faces: int = 1) -> None:
        self._landmarker = FaceMeshLandmarker(num_threads=num_threads, video=video, max_faces=max_faces)

    def detect_all(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        return [_landmarks(face) for face in self._landmarker.detect(bgr)]

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None:
        faces = self.detect_all(bgr)
        return faces[0] if faces else None

    def with_crop(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> FaceLandmarks:
        """``landmarks`` (from elsewhere) with the crop the mesh model would take around them."""
        crop_rgb, to_image = self._landmarker.crop_around(bgr, landmarks.points)
        linear, offset = to_image[:, :2], to_image[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(linear))))
        uv = (landmarks.points[:, :2] - offset) @ np.linalg.inv(linear).T
        points = np.column_stack([uv, landmarks.points[:, 2] / scale]).astype(np.float32)
        crop = FaceCrop(image=crop_rgb, points=points, to_image=to_image)
        return FaceLandmarks(
            landmarks.points, landmarks.scheme, landmarks.has_depth, crop=crop, score=landmarks.score,
            detection_score=landmarks.detection_score,
        )

    def reset(self) -> None:
        self._landmarker.reset()

    def close(self) -> None:
        self._landmarker.close()
