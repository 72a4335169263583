"""Face landmark backends: MediaPipe mesh (default, 468 points with depth) and dlib 68 (2D)."""

from __future__ import annotations

from lightest.landmarks.base import FaceLandmarks, LandmarkBackend

__all__ = ["BACKENDS", "FaceLandmarks", "LandmarkBackend", "create_backend"]

BACKENDS = ("mediapipe", "dlib")


def create_backend(name: str, video: bool = False) -> LandmarkBackend:
    """Build the landmark backend called ``name`` (one of :data:`BACKENDS`)."""
    if name == "mediapipe":
        from lightest.landmarks.mediapipe_mesh import MediaPipeMesh

        return MediaPipeMesh(video=video)
    if name == "dlib":
        if video:
            raise ValueError("landmarks='dlib' has no video mode; use running_mode='image'")
        from lightest.landmarks.dlib68 import Dlib68

        return Dlib68()
    raise ValueError(f"unknown landmarks backend {name!r}; choose one of {BACKENDS}")
