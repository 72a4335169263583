"""The manifest label of one image, computed from its parameters and the posed head geometry."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from blender_gen import coords
from blender_gen.params import SceneParams
from lightest import frames

FACE_CENTRE_WORLD = np.zeros(3)  # every head is built with its face centre at the origin


def _r(x: Any, nd: int = 6) -> Any:
    return np.round(np.asarray(x, float), nd).tolist()


def make_label(p: SceneParams, width: int, height: int, head_verts_world: np.ndarray,
               landmarks_world: np.ndarray | None, light_rgb: tuple[float, float, float]) -> dict[str, Any]:
    """Everything the issue asks a manifest row to hold (file name and ids are added by the caller)."""
    cam = coords.frontal_camera(p.camera_distance_m)
    light_w = np.asarray(p.light_world, float)
    light_c = coords.world_to_camera(cam, light_w)
    face_c = coords.world_to_camera(cam, FACE_CENTRE_WORLD)
    to_light_w = light_w - FACE_CENTRE_WORLD
    d_cam = frames.normalize(light_c - face_c)
    d_head = frames.normalize(coords.world_to_head_dir(to_light_w, *p.head_pose_deg))
    az, el = frames.angles_from_direction(d_cam)
    row: dict[str, Any] = {
        **head_fields(p),
        "light_world_m": _r(light_w),
        "light_camera_m": _r(light_c),
        "face_centre_camera_m": _r(face_c),
        "light_dir_camera": _r(d_cam),
        "light_dir_head": _r(d_head),
        "light_azimuth_deg": round(float(az), 4),
        "light_elevation_deg": round(float(el), 4),
        "light_angle_from_view_deg": round(float(frames.angle_between_deg(d_cam, [0, 0, 1])), 4),
        "light_distance_m": round(float(np.linalg.norm(to_light_w)), 6),
        "light_power_w": p.light_power_w,
        "light_kelvin": p.light_kelvin,
        "light_rgb_linear": _r(light_rgb, 5),
        "light_radius_m": p.light_radius_m,
        "ambient_ratio": p.ambient_ratio,
        **camera_fields(p, width, height, cam, head_verts_world, landmarks_world),
    }
    return row


def head_fields(p: Any) -> dict[str, Any]:
    """The label fields every preset opens with: which head, its identity and expression weights, skin, pose."""
    return {
        "head": p.head,
        "identity_weights": None if p.identity_weights is None else _r(p.identity_weights, 4),
        "expression_weights": None if p.expression_weights is None else _r(p.expression_weights, 4),
        "skin_tone": p.skin_tone,
        "head_pose_deg": _r(p.head_pose_deg, 4),
    }


def camera_fields(p: Any, width: int, height: int, cam: np.ndarray, head_verts_world: np.ndarray,
                  landmarks_world: np.ndarray | None) -> dict[str, Any]:
    """The label fields every preset shares at its end: camera, intrinsics, the head's box and 68 landmarks
    in pixels, and the sampled parameters (identity and expression weights left out: they stand above)."""
    intr = coords.Intrinsics.from_focal(p.focal_mm, coords.SENSOR_MM, width, height)
    bbox_px = coords.project(intr, coords.world_to_camera(cam, head_verts_world))
    landmarks = None
    if landmarks_world is not None:
        landmarks = _r(coords.project(intr, coords.world_to_camera(cam, landmarks_world)), 2)
    return {
        "focal_mm_35eq": p.focal_mm,
        "camera_to_world": _r(cam),
        "intrinsics": intr.as_dict(),
        "head_bbox_px": _r([*bbox_px.min(axis=0), *bbox_px.max(axis=0)], 2),
        "landmarks68_px": landmarks,
        "params": {k: v for k, v in asdict(p).items() if k not in ("identity_weights", "expression_weights")},
    }
