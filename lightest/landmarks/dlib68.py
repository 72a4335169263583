"""dlib's 68-point landmarks (the seed thesis's choice). Needs the ``dlib`` extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from lightest.landmarks.base import FaceLandmarks, detection_views

__all__ = ["Dlib68", "shape_predictor_path"]

SCHEME = "dlib68"
_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"


def shape_predictor_path() -> Path:
    """Locate dlib's 68-point model inside the installed ``face_recognition_models`` package.

    Found without importing that package (its ``__init__`` needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("landmarks='dlib' needs the dlib extra: pip install 'lightest[dlib]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / _MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"dlib landmark model missing from face_recognition_models: {path}")
    return path


#: A dlib HOG face box relative to the MediaPipe mesh's landmark box (left, top, right, bottom as fractions of
#: its width/height): medians over 118 Yale B images (subjects 03-09, 20-29) where both detectors fired.
MESH_BOX_TO_DLIB_BOX = (-0.044, 0.045, 1.0, 1.014)


class Dlib68:
    """dlib's 68-point shape predictor on a dlib HOG face box.

    HOG misses many harshly lit or tightly cropped faces (36 of 64 on Yale B subject 01), so when it
    finds nothing in any retry view the box comes from the MediaPipe mesh instead, mapped to where HOG
    would have put it (:data:`MESH_BOX_TO_DLIB_BOX`); the 68 points are still dlib's.
    """

    scheme = SCHEME

    def __init__(self, upsample: int = 1, mesh_fallback: bool = True, num_threads: int = 1) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("landmarks='dlib' needs the dlib extra: pip install 'lightest[dlib]'") from exc
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(shape_predictor_path()))
        self._upsample = upsample
        self._mesh = None
        if mesh_fallback:
            from lightest.landmarks.mesh import MeshBackend

            self._mesh = MeshBackend(num_threads=num_threads)

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None:
        for view in detection_views(bgr):
            gray = cv2.cvtColor(view.image, cv2.COLOR_BGR2GRAY)
            rects = self._detector(gray, self._upsample)
            if rects:
                rect = max(rects, key=lambda r: r.width() * r.height())
                return self._shape(gray, rect, view.offset)
        if self._mesh is None:
            return None
        mesh = self._mesh.detect(bgr)
        if mesh is None:
            return None
        x, y, w, h = mesh.box
        left, top, right, bottom = MESH_BOX_TO_DLIB_BOX
        rect = self._dlib.rectangle(
            round(x + left * w), round(y + top * h), round(x + right * w), round(y + bottom * h)
        )
        return self._shape(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), rect, (0, 0))

    def detect_all(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        """The one face dlib finds, as a list (empty: no face)."""
        face = self.detect(bgr)
        return [] if face is None else [face]

    def with_crop(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> FaceLandmarks:
        raise ValueError("dlib's 68 points have no face crop; the light head needs landmarks='mediapipe'")

    def reset(self) -> None:
        """Nothing to forget: every image is detected afresh."""

    def _shape(self, gray: np.ndarray, rect: object, offset: tuple[int, int]) -> FaceLandmarks:
        shape = self._predictor(gray, rect)
        pts = np.array([(shape.part(i).x, shape.part(i).y, 0.0) for i in range(68)], dtype=np.float64)
        pts[:, 0] -= offset[0]
        pts[:, 1] -= offset[1]
        return FaceLandmarks(points=pts, scheme=SCHEME, has_depth=False)

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
