"""Head pose for placing 3D objects on a face: MediaPipe's canonical face model fitted to the face mesh.

The fit is a weighted similarity (Umeyama 1991: rotation, uniform scale, translation) of the canonical model's
vertices (centimetres, head frame) onto the mesh's 468 landmarks in camera axes (``(u, -v, depth)`` pixels,
:mod:`lightest.frames`), with the weights MediaPipe's own face geometry pipeline uses (33 stable vertices:
eyes, nose, brows, cheekbones; no mouth or jaw). The landmarks are a scaled orthographic view, so the pose
maps model centimetres straight to image pixels: an orthographic camera over the image (as the try-on page
uses) draws an object placed with it on the face. The rotation is also the head's orientation in the camera
frame, where lightest's light directions live.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from lightest import frames
from lightest.landmarks import FaceLandmarks

__all__ = ["CanonicalFace", "HeadPose", "canonical_face", "fit_head_pose"]


@dataclass(frozen=True)
class CanonicalFace:
    """MediaPipe's canonical face model (``lightest/data/canonical_face_model.csv``).

    Attributes:
        vertices: ``(468, 3)`` cm in the head frame: +x toward the subject's left (image right for a frontal
            face), +y up, +z out of the face; rows in face-mesh landmark order.
        weights: ``(468,)`` Procrustes weights, nonzero on the 33 vertices MediaPipe fits its pose on.
    """

    vertices: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)


@cache
def canonical_face() -> CanonicalFace:
    """Load the canonical face table shipped in ``lightest.data``."""
    text = resources.files("lightest.data").joinpath("canonical_face_model.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    vertices = np.array([[float(r["x_cm"]), float(r["y_cm"]), float(r["z_cm"])] for r in rows])
    weights = np.array([float(r["procrustes_weight"]) for r in rows])
    for a in (vertices, weights):
        a.setflags(write=False)
    return CanonicalFace(vertices=vertices, weights=weights)


@dataclass(frozen=True)
class HeadPose:
    """Where the canonical face sits in an image: ``camera_px = scale * rotation @ model_cm + translation``.

    Attributes:
        rotation: ``(3, 3)`` proper rotation; columns = the head's x, y, z axes in the camera frame
            (identity for an upright face looking at the camera, like :func:`lightest.headpose.head_rotation`).
        scale: image pixels per model centimetre.
        translation: ``(3,)`` camera-axes pixels ``(u, -v, depth)`` of the model's origin (inside the head,
            behind the nose).
        rms_cm: weighted root-mean-square distance between the fitted model and the landmarks, in model
            centimetres: how far this face's shape (and the landmarks' noise) is from the canonical one.
    """

    rotation: np.ndarray = field(repr=False)
    scale: float
    translation: np.ndarray = field(repr=False)
    rms_cm: float

    def angles_deg(self) -> tuple[float, float, float]:
        """``(yaw, pitch, roll)`` in degrees, rotation = Ry(yaw) @ Rx(pitch) @ Rz(roll): yaw > 0 turns the face
        toward image right, pitch > 0 tilts it down (chin in), roll > 0 turns it counter-clockwise in the image."""
        r = self.rotation
        pitch = np.degrees(np.arcsin(np.clip(-r[1, 2], -1.0, 1.0)))
        yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[1, 1]))
        return float(yaw), float(pitch), float(roll)

    def project(self, model_cm: np.ndarray) -> np.ndarray:
        """Image pixels ``(N, 2)`` (u right, v down) of model points ``(N, 3)`` in centimetres."""
        cam = self.scale * np.asarray(model_cm, dtype=np.float64) @ self.rotation.T + self.translation
        return cam[:, :2] * frames.PIXEL_AXES_IN_CAMERA[:2]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the 4x4 column-major matrix three.js's ``Matrix4.fromArray`` takes (model cm ->
        camera-axes pixels), and the parts."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        yaw, pitch, roll = self.angles_deg()
        return {
            "matrix": [round(float(v), 6) for v in m.T.reshape(-1)],
            "rotation": np.round(self.rotation, 6).tolist(),
            "scale": round(self.scale, 6),
            "translation": np.round(self.translation, 4).tolist(),
            "yaw_deg": round(yaw, 2),
            "pitch_deg": round(pitch, 2),
            "roll_deg": round(roll, 2),
            "rms_cm": round(self.rms_cm, 4),
        }


def fit_head_pose(landmarks: FaceLandmarks) -> HeadPose | None:
    """Fit the canonical face to a 468-point mesh with depth; None for other landmark schemes or a degenerate
    mesh (all points on a line)."""
    if not landmarks.has_depth or landmarks.scheme != "mediapipe468":
        return None
    face = canonical_face()
    src = face.vertices
    dst = landmarks.points * frames.PIXEL_AXES_IN_CAMERA
    w = face.weights / face.weights.sum()
    mu_src, mu_dst = w @ src, w @ dst
    a, b = src - mu_src, dst - mu_dst
    cov = (b * w[:, None]).T @ a  # sum_i w_i b_i a_i^T
    u, sv, vt = np.linalg.svd(cov)
    var_src = float(w @ np.sum(a * a, axis=1))
    if not np.isfinite(sv).all() or sv[1] <= 1e-9 * max(sv[0], 1e-12) or var_src <= 0:
        return None
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sv * d).sum() / var_src)
    trans = mu_dst - scale * rot @ mu_src
    resid = dst - (scale * src @ rot.T + trans)
    rms_cm = float(np.sqrt(w @ np.sum(resid * resid, axis=1))) / scale
    for arr in (rot, trans):
        arr.setflags(write=False)
    return HeadPose(rotation=rot, scale=scale, translation=trans, rms_cm=rms_cm)
