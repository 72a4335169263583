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


class Dlib68:
    """HOG face detector + 68-point shape predictor, with the shared padding/contrast retries."""

    scheme = SCHEME

    def __init__(self, upsample: int = 1) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("landmarks='dlib' needs the dlib extra: pip install 'lightest[dlib]'") from exc
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(shape_predictor_path()))
        self._upsample = upsample

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None:
        for view in detection_views(bgr):
            gray = cv2.cvtColor(view.image, cv2.COLOR_BGR2GRAY)
            rects = self._detector(gray, self._upsample)
            if not rects:
                continue
            rect = max(rects, key=lambda r: r.width() * r.height())
            shape = self._predictor(gray, rect)
            pts = np.array([(shape.part(i).x, shape.part(i).y, 0.0) for i in range(68)], dtype=np.float64)
            pts[:, 0] -= view.offset[0]
            pts[:, 1] -= view.offset[1]
            return FaceLandmarks(points=pts, scheme=SCHEME, has_depth=False)
        return None

    def close(self) -> None:
        """Nothing to release; present for a uniform backend interface."""
