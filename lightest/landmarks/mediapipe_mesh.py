"""MediaPipe face mesh (468 points with relative depth): lightest's default landmark backend."""

from __future__ import annotations

import sys
from typing import Any

import cv2
import numpy as np

from lightest.landmarks.base import RETRY_PLAN, FaceLandmarks, detection_views

__all__ = ["MediaPipeMesh", "import_face_mesh"]

SCHEME = "mediapipe468"


def import_face_mesh() -> Any:
    """Import ``mediapipe.python.solutions.face_mesh`` without dragging TensorFlow in.

    mediapipe 0.10.21's package ``__init__`` tries ``import tensorflow`` (only for API docs); when
    TensorFlow is installed that costs ~3.5 s. We hide it for the duration of this import only.
    """
    hide = "tensorflow" not in sys.modules
    if hide:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # makes that import fail fast
    try:
        from mediapipe.python.solutions import face_mesh
    finally:
        if hide:
            del sys.modules["tensorflow"]
    return face_mesh


class MediaPipeMesh:
    """468-point face mesh via MediaPipe ``solutions.face_mesh``.

    ``video=True`` tracks landmarks across consecutive frames (MediaPipe's video mode): faster, but
    frames must come in order and no padding/contrast retries are made.
    """

    scheme = SCHEME

    def __init__(self, video: bool = False, min_detection_confidence: float = 0.5) -> None:
        face_mesh = import_face_mesh()
        self._video = video
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=not video,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None:
        plan = RETRY_PLAN[:1] if self._video else RETRY_PLAN
        for view in detection_views(bgr, plan):
            points = self._run(view.image)
            if points is not None:
                points[:, 0] -= view.offset[0]
                points[:, 1] -= view.offset[1]
                return FaceLandmarks(points=points, scheme=SCHEME, has_depth=True)
        return None

    def _run(self, bgr: np.ndarray) -> np.ndarray | None:
        h, w = bgr.shape[:2]
        result = self._mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        raw = np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float64)
        # MediaPipe: x, y normalised by width/height; z ~ x scale, smaller = closer to the camera.
        return np.stack([raw[:, 0] * w, raw[:, 1] * h, -raw[:, 2] * w], axis=1)

    def close(self) -> None:
        self._mesh.close()
