"""Face detection and the 468-point face mesh, run through LiteRT with MediaPipe's own graphs.

:class:`FaceMeshLandmarker` is the entry point; the modules below it each do one step: SSD anchors
(:mod:`~lightest.face.ssd_anchors`), detection decoding (:mod:`~lightest.face.detector`), weighted NMS
(:mod:`~lightest.face.nms`), the rotated face crop (:mod:`~lightest.face.roi`).
"""

from lightest.face.detector import FaceDetection, FaceDetector
from lightest.face.landmarker import FaceMeshLandmarker, MeshFace

__all__ = ["FaceDetection", "FaceDetector", "FaceMeshLandmarker", "MeshFace"]
