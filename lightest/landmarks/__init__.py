"""Face landmark backends: MediaPipe's face mesh through LiteRT (default, 468 points with depth) and
dlib 68 (2D, the seed thesis's)."""

from __future__ import annotations

from lightest.landmarks.base import FaceCrop, FaceLandmarks, LandmarkBackend

__all__ = ["BACKENDS", "FaceCrop", "FaceLandmarks", "LandmarkBackend", "create_backend"]

BACKENDS = ("mediapipe", "dlib")


def create_backend(name: str, video: bool = False, num_threads: int = 1, max_faces: int = 1) -> LandmarkBackend:
    """Build the landmark backend called ``name`` (one of :data:`BACKENDS`)."""
    if name == "mediapipe":
        from lightest.landmarks.mesh import MeshBackend

        return MeshBackend(video=video, num_threads=num_threads, max_faces=max_faces)
    if name == "dlib":
        if video:
            raise ValueError("landmarks='dlib' has no video mode; use running_mode='image'")
        if max_faces != 1:
            raise ValueError("landmarks='dlib' finds one face; use max_faces=1")
        from lightest.landmarks.dlib68 import Dlib68

        return Dlib68(num_threads=num_threads)
    raise ValueError(f"unknown landmarks backend {name!r}; choose one of {BACKENDS}")
