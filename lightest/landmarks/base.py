"""What every landmark backend returns, and the detection retries they share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import cv2
import numpy as np

__all__ = ["DetectionView", "FaceCrop", "FaceLandmarks", "LandmarkBackend", "detection_views"]


@dataclass(frozen=True)
class FaceCrop:
    """The rotated square face crop a mesh model saw, and how it maps back to the frame.

    Attributes:
        image: ``(S, S, 3)`` uint8 RGB crop.
        points: ``(468, 3)`` float32 mesh in crop pixels (u right, v down, depth toward the camera).
        to_image: ``(2, 3)`` affine: frame ``(u, v) = to_image @ (u_crop, v_crop, 1)``.
        dark_border: beyond the frame the crop is black (as if the frame had been padded), not the frame's
            edge pixels replicated.
    """

    image: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)
    to_image: np.ndarray = field(repr=False)
    dark_border: bool = False


@dataclass(frozen=True)
class FaceLandmarks:
    """Landmarks of one face in ORIGINAL image pixels.

    Attributes:
        points: ``(N, 3)`` float64: ``u`` (right), ``v`` (down) in pixels and depth toward the camera in
            pixels (relative; 0 for 2D backends).
        scheme: ``"mediapipe468"`` or ``"dlib68"``: which landmark table the rows follow.
        has_depth: whether ``points[:, 2]`` carries depth.
        crop: the face crop the mesh model saw (MediaPipe mesh only), which the light head samples.
        score: the landmark model's face score in [0, 1] (MediaPipe mesh), else None.
        detection_score: the face detector's score in [0, 1] (MediaPipe mesh, image mode), else None (a face
            tracked from the previous video frame, or another backend).
    """

    points: np.ndarray = field(repr=False)
    scheme: str
    has_depth: bool
    crop: FaceCrop | None = field(default=None, repr=False, compare=False)
    score: float | None = None
    detection_score: float | None = None

    def __post_init__(self) -> None:
        pts = np.array(self.points, dtype=np.float64, copy=True)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"landmark points must be (N, 3), got {pts.shape}")
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)

    @cached_property
    def box(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of the landmarks' bounding box, in pixels."""
        lo = np.floor(self.points[:, :2].min(axis=0))
        hi = np.ceil(self.points[:, :2].max(axis=0))
        return int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1])

    @property
    def size(self) -> float:
        """Face size in pixels: the larger side of the landmark box (scale for sampling discs)."""
        _, _, w, h = self.box
        return float(max(w, h, 1))


class LandmarkBackend(Protocol):
    """A face landmark detector.

    ``detect_all`` returns the faces found, largest first (empty: no face); ``detect`` the largest or None;
    ``with_crop`` adds the face crop the light head samples; ``reset`` forgets faces tracked in video mode.
    """

    scheme: str

    def detect(self, bgr: np.ndarray) -> FaceLandmarks | None: ...

    def detect_all(self, bgr: np.ndarray) -> list[FaceLandmarks]: ...

    def with_crop(self, bgr: np.ndarray, landmarks: FaceLandmarks) -> FaceLandmarks: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DetectionView:
    """An image prepared for detection only, and the pixel offset back to the original."""

    image: np.ndarray
    offset: tuple[int, int]  # (dx, dy) to subtract from detected coordinates


#: (pad fraction of the longer side, contrast-normalise?) tried in order until a face is found.
#: Tight crops (face touching the border) need padding; harsh side light needs CLAHE.
RETRY_PLAN: tuple[tuple[float, bool], ...] = ((0.0, False), (0.25, False), (0.25, True), (0.5, True))


def detection_views(bgr: np.ndarray, plan: tuple[tuple[float, bool], ...] = RETRY_PLAN) -> Iterator[DetectionView]:
    """Yield padded / contrast-normalised variants of ``bgr`` to run detection on.

    Only detection sees these; light is always sampled from the original pixels.
    """
    clahe = None
    for pad_fraction, equalise in plan:
        img = bgr
        if equalise:
            clahe = clahe or cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
            lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)
            lab[:, :, 0] = clahe.apply(lab[:, :, 0])
            img = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
        pad = round(pad_fraction * max(img.shape[:2]))
        if pad:
            img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        yield DetectionView(image=img, offset=(pad, pad))
