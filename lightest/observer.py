"""``LightPointObserver``: landmarks -> light-points -> disc samples (+ mesh normals).

The measuring half of :class:`~lightest.Estimator`, public on its own because training builds its
features with exactly this object. On the MediaPipe mesh it samples the face crop the mesh model saw,
as the light-head graph does (:mod:`lightest.lighthead`; tested equal); on dlib's 68 points it samples
the original pixels, as the seed thesis did.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lightest.face.roi import warp_crop
from lightest.features import LightPointObservation
from lightest.headpose import head_rotation
from lightest.image_io import to_bgr
from lightest.landmarks import FaceLandmarks, create_backend
from lightest.lighthead import CROP_DISC_RADIUS
from lightest.lightpoints import LightPointSet, get_light_point_set, mesh_triangles
from lightest.physics import VertexNormals
from lightest.sampling import disc_radius, sample_crop, sample_discs

__all__ = ["SCHEME_OF_BACKEND", "LightPointObserver"]

#: Landmark scheme each backend produces.
SCHEME_OF_BACKEND = {"mediapipe": "mediapipe468", "dlib": "dlib68"}
#: Rows of each landmark scheme.
POINTS_OF_SCHEME = {"mediapipe468": 468, "dlib68": 68}
#: Landmarks farther than this (pixels) from where their face crop put them were moved by the caller: the crop is
#: made afresh (:meth:`LightPointObserver.crop_from`).
MOVED_PX = 0.5


class LightPointObserver:
    """Find faces and measure brightness at a light-point set.

    Args:
        landmarks: ``"mediapipe"`` or ``"dlib"``; must produce the scheme ``light_points`` is defined on.
        light_points: light-point set name (``"mesh-v1"``, ``"seed79"``).
        video: track landmarks across consecutive frames instead of detecting in each.
        normals: compute mesh normals at the light-points (needs a vertex set on the 3D mesh); turn off
            when nothing downstream reads them, to save ~0.1 ms per frame.
        num_threads: threads of the landmark graphs.
        max_faces: most faces :meth:`detect_all` returns (largest first).
    """

    def __init__(
        self,
        landmarks: str = "mediapipe",
        light_points: str = "mesh-v1",
        video: bool = False,
        normals: bool = True,
        num_threads: int = 1,
        max_faces: int = 1,
    ) -> None:
        self.points: LightPointSet = get_light_point_set(light_points)
        scheme = SCHEME_OF_BACKEND.get(landmarks)
        self.scheme = scheme
        if scheme is not None and self.points.scheme != scheme:
            raise ValueError(
                f"light-point set {self.points.name!r} is defined on {self.points.scheme} landmarks, "
                f"but landmarks={landmarks!r} gives {scheme}"
            )
        self._backend = create_backend(landmarks, video=video, num_threads=num_threads, max_faces=max_faces)
        has_mesh = normals and self.points.is_vertex_set and scheme == "mediapipe468"
        self._normals = VertexNormals(mesh_triangles()) if has_mesh else None

    def check_landmarks(self, landmarks: object) -> FaceLandmarks:
        """Landmarks a caller brings (``estimate_with_landmarks``), checked: this backend's scheme and row count,
        finite, spanning an area. Raises ``ValueError`` naming the problem."""
        if not isinstance(landmarks, FaceLandmarks):
            raise ValueError(
                f"landmarks must be a lightest.landmarks.FaceLandmarks (from detect_landmarks, or built from your "
                f"tracker's points), got {type(landmarks).__name__}"
            )
        if landmarks.scheme != self.scheme:
            raise ValueError(f"landmarks follow the {landmarks.scheme!r} scheme; this estimator's is {self.scheme!r}")
        n = POINTS_OF_SCHEME[landmarks.scheme]
        if len(landmarks.points) != n:
            raise ValueError(f"{landmarks.scheme} landmarks have {n} rows, got {len(landmarks.points)}")
        if not np.isfinite(landmarks.points).all():
            raise ValueError("landmarks hold NaN or infinite coordinates")
        if min(landmarks.box[2:]) < 2:
            raise ValueError(f"landmarks span {landmarks.box[2]}x{landmarks.box[3]} pixels: no face is that small")
        return landmarks

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None:
        """Landmarks of the largest face in a BGR uint8 image (already validated), or None."""
        faces = self._backend.detect_all(bgr)
        return faces[0] if faces else None

    def detect_all(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        """Landmarks of every face found (up to ``max_faces``), largest first."""
        return self._backend.detect_all(bgr)

    def with_crop(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> FaceLandmarks:
        """``landmarks`` with the face crop the light head samples (made from the landmarks when they
        came from elsewhere: the mesh model's own tracking crop rule)."""
        if landmarks.crop is not None or landmarks.scheme != "mediapipe468":
            return landmarks
        return self._backend.with_crop(bgr, landmarks)

    def crop_from(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> FaceLandmarks:
        """``landmarks`` a caller brings, with their face crop cut from ``bgr``: a crop that came with them
        (from another frame, say) is cut again from this image along the same affine, so the light is this
        image's; when the points no longer sit where that crop put them (moved or scaled by the caller), a
        crop is made afresh around them with the mesh model's tracking rule."""
        crop = landmarks.crop
        if crop is None:
            return self.with_crop(bgr, landmarks)
        mapped = crop.points[:, :2] @ crop.to_image[:, :2].T + crop.to_image[:, 2]
        if np.abs(mapped - landmarks.points[:, :2]).max() > MOVED_PX:
            return self.with_crop(bgr, replace(landmarks, crop=None))
        pixels = warp_crop(bgr, crop.to_image, crop.image.shape[0], crop.dark_border)
        return replace(landmarks, crop=replace(crop, image=pixels))

    def measure(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> LightPointObservation:
        """Sample the light-points of ``landmarks`` in ``bgr`` (the mesh's face crop, or original pixels)."""
        points = self.points.locate(landmarks)
        if landmarks.scheme == "mediapipe468" and self.points.is_vertex_set:
            crop = self.with_crop(bgr, landmarks).crop
            assert crop is not None
            h, w = bgr.shape[:2]
            samples = sample_crop(crop.image, crop.points[self.points.a], crop.to_image, (w, h), CROP_DISC_RADIUS)
        else:
            samples = sample_discs(bgr, points, disc_radius(landmarks.size))
        normals = None
        if self._normals is not None and landmarks.has_depth:
            normals = self._normals(landmarks.points, self.points.a)
        return LightPointObservation(
            points=points,
            samples=samples,
            normals=normals,
            face_size=landmarks.size,
            head_rotation=head_rotation(landmarks),
        )

    def observe(self, image: np.ndarray) -> tuple[FaceLandmarks, LightPointObservation] | None:
        """Validate ``image``, find the largest face, measure it; None when there is no face."""
        bgr = to_bgr(image)
        landmarks = self.detect(bgr)
        return None if landmarks is None else (landmarks, self.measure(bgr, landmarks))

    def reset(self) -> None:
        """Forget tracked faces (video mode): the next frame is detected afresh."""
        self._backend.reset()

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> LightPointObserver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
