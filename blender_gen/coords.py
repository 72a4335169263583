"""Geometry shared by the generator and its tests: world <-> camera <-> pixels, head pose.

Blender world: +z up, metres. Every head faces -y at rest, with its face centre at the origin.
Blender camera space is +x right, +y up, -z forward, i.e. vectors expressed in camera space are
already in lightest's camera frame (+x image right, +y image up, +z toward the camera;
see :mod:`lightest.frames`), so no axis flips happen here.

Head frame: the camera frame of a frontal camera at rest (+x = image right = subject's left,
+y = up, +z = out of the face). Head pose ``(yaw, pitch, roll)`` in degrees rotates the head by
``Ry(yaw) @ Rx(-pitch) @ Rz(roll)`` about head-frame axes: yaw > 0 turns the face toward image
right, pitch > 0 tilts the face up, roll > 0 turns the head counter-clockwise in the image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lightest import frames

# Columns: world coordinates of the head-frame axes (x right, y up, z out of the face toward -y).
SENSOR_MM = 36.0  # 35 mm-equivalent focal lengths: a 36 mm sensor across the larger image side
WORLD_UP = (0.0, 0.0, 1.0)
HEAD_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (v grows downward, principal point at the image centre)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_focal(cls, focal_mm: float, sensor_mm: float, width: int, height: int) -> Intrinsics:
        """Blender's ``sensor_fit='AUTO'``: the sensor width spans the larger image side."""
        f = focal_mm / sensor_mm * max(width, height)
        return cls(f, f, width / 2.0, height / 2.0, width, height)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _rot(axis: int, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def head_pose_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation of the head in head-frame coordinates (see module docstring for signs)."""
    return _rot(1, yaw) @ _rot(0, -pitch) @ _rot(2, roll)


def head_world_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """World-space rotation applied to a head mesh that faces -y at rest."""
    return HEAD_TO_WORLD @ head_pose_matrix(yaw, pitch, roll) @ HEAD_TO_WORLD.T


def world_to_head_dir(v_world: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Express a world vector in the (posed) head frame."""
    axes_world = HEAD_TO_WORLD @ head_pose_matrix(yaw, pitch, roll)  # columns: posed head axes
    return axes_world.T @ np.asarray(v_world, float)


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = WORLD_UP) -> np.ndarray:
    """4x4 camera-to-world matrix of a Blender camera at ``eye`` looking at ``target``."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    back = frames.normalize(eye - target)  # camera +z points away from where it looks
    right = frames.normalize(np.cross(np.asarray(up, float), back))
    cam_up = np.cross(back, right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, cam_up, back, eye
    return m


def world_to_camera(cam_to_world: np.ndarray, points_world: np.ndarray) -> np.ndarray:
    """Points ``(..., 3)`` from world to camera frame (= lightest's camera frame)."""
    m = np.linalg.inv(np.asarray(cam_to_world, float))
    p = np.asarray(points_world, float)
    return p @ m[:3, :3].T + m[:3, 3]


def camera_dir(cam_to_world: np.ndarray, v_world: np.ndarray) -> np.ndarray:
    """A world direction expressed in the camera frame (rotation only)."""
    return np.asarray(cam_to_world, float)[:3, :3].T @ np.asarray(v_world, float)


def project(intr: Intrinsics, points_cam: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``(..., 2)`` (u right, v down) of camera-frame points in front of the camera."""
    p = np.asarray(points_cam, float)
    depth = -p[..., 2]
    u = intr.cx + intr.fx * p[..., 0] / depth
    v = intr.cy - intr.fy * p[..., 1] / depth
    return np.stack([u, v], axis=-1)


def frontal_camera(distance_m: float) -> np.ndarray:
    """Camera-to-world matrix of the camera on -y at ``distance_m`` looking at the face centre (origin)."""
    return look_at(np.array([0.0, -distance_m, 0.0]), np.zeros(3))
