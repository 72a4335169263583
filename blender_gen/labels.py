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
    intr = coords.Intrinsics.from_focal(p.focal_mm, coords.SENSOR_MM, width, height)
    light_w = np.asarray(p.light_world, float)
    light_c = coords.world_to_camera(cam, light_w)
    face_c = coords.world_to_camera(cam, FACE_CENTRE_WORLD)
    to_light_w = light_w - FACE_CENTRE_WORLD
    d_cam = frames.normalize(light_c - face_c)
    d_head = frames.normalize(coords.world_to_head_dir(to_light_w, *p.head_pose_deg))
    az, el = frames.angles_from_direction(d_cam)
    bbox_px = coords.project(intr, coords.world_to_camera(cam, head_verts_world))
    row: dict[str, Any] = {
        "head": p.head,
        "identity_weights": None if p.identity_weights is None else _r(p.identity_weights, 4),
        "expression_weights": None if p.expression_weights is None else _r(p.expression_weights, 4),
        "skin_tone": p.skin_tone,
        "head_pose_deg": _r(p.head_pose_deg, 4),
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
        "focal_mm_35eq": p.focal_mm,
        "camera_to_world": _r(cam),
        "intrinsics": intr.as_dict(),
        "head_bbox_px": _r([*bbox_px.min(axis=0), *bbox_px.max(axis=0)], 2),
        "landmarks68_px": None,
        "params": {k: v for k, v in asdict(p).items() if k not in ("identity_weights", "expression_weights")},
    }
    if landmarks_world is not None:
        row["landmarks68_px"] = _r(coords.project(intr, coords.world_to_camera(cam, landmarks_world)), 2)
    return row
