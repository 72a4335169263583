"""The reference lightest is measured against: MediaPipe's own ``solutions.face_mesh`` (the ``reference`` extra).

Used by the speed comparison (:mod:`mobile_bench.compare`) and by the tests that check our LiteRT face mesh
agrees with it. Never imported by the runtime.
"""

from __future__ import annotations

import sys
from typing import Any

import cv2
import numpy as np

__all__ = ["BareFaceMesh", "import_face_mesh"]


def import_face_mesh() -> Any:
    """Import ``mediapipe.python.solutions.face_mesh`` without dragging TensorFlow in.

    mediapipe 0.10.21's package ``__init__`` tries ``import tensorflow`` (only for API docs); when
    TensorFlow is installed that costs ~3.5 s. It is hidden for the duration of this import only.
    Raises ``ImportError`` naming the extra when mediapipe is missing.
    """
    hide = "tensorflow" not in sys.modules
    if hide:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # makes that import fail fast
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as exc:
        raise ImportError("the MediaPipe reference needs: pip install 'lightest[reference]'") from exc
    finally:
        if hide:
            del sys.modules["tensorflow"]
    return face_mesh


class BareFaceMesh:
    """``solutions.face_mesh.FaceMesh`` (one face, no iris refinement) as a user would call it on a BGR frame.

    ``points`` returns the 468 landmarks in lightest's pixel convention (u, v, depth toward the camera).
    """

    def __init__(self, video: bool = False, min_detection_confidence: float = 0.5) -> None:
        self._mesh = import_face_mesh().FaceMesh(
            static_image_mode=not video,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def process(self, bgr: np.ndarray) -> Any:
        return self._mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def points(self, bgr: np.ndarray) -> np.ndarray | None:
        result = self.process(bgr)
        if not result.multi_face_landmarks:
            return None
        h, w = bgr.shape[:2]
        raw = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)
        return np.stack([raw[:, 0] * w, raw[:, 1] * h, -raw[:, 2] * w], axis=1)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> BareFaceMesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
