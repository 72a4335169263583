"""Render one :class:`SceneParams` to an image file and return its label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy
import numpy as np

from blender_gen import coords, heads_ict, heads_lps, labels, lighting, postprocess, scene
from blender_gen.params import SceneParams
from blender_gen.paths import Assets

AUTO_EXPOSURE_WHITE = 1.0  # linear value of a white surface facing the key light (before jitter)


class _LpsHead:
    """The LPS scan behind the same small interface as :class:`heads_ict.IctHead`."""

    def __init__(self, assets: Assets, sc: bpy.types.Scene, subsurface: float) -> None:
        self.obj = heads_lps.load_lps(assets, sc, subsurface)
        co = np.empty(len(self.obj.data.vertices) * 3)
        self.obj.data.vertices.foreach_get("co", co)
        self._verts = co.reshape(-1, 3)

    def rest_vertices(self) -> np.ndarray:
        return self._verts

    def rest_landmarks(self) -> None:
        return None


class Renderer:
    """A Cycles scene with a lazily built LPS and/or ICT head, re-posed per image."""

    def __init__(self, assets: Assets, width: int, height: int, samples: int, device: str = "CPU",
                 denoise: bool = False, lps_subsurface: float = 0.0) -> None:
        self.assets = assets
        self.width, self.height = width, height
        self.scene = scene.new_scene(width, height, samples, device, denoise)
        self.rig = scene.Rig(self.scene)
        self._lps_subsurface = lps_subsurface
        self._heads: dict[str, Any] = {}

    def _head(self, name: str) -> Any:
        if name not in self._heads:
            if name == "lps":
                self._heads[name] = _LpsHead(self.assets, self.scene, self._lps_subsurface)
            elif name == "ict":
                self._heads[name] = heads_ict.IctHead(heads_ict.IctModel.load(self.assets), self.scene)
            else:
                raise ValueError(f"unknown head {name!r}")
        for other, h in self._heads.items():
            h.obj.hide_render = other != name
        return self._heads[name]

    def pose(self, p: SceneParams) -> Any:
        """Set head, camera, light, ambient and exposure for ``p``; returns the head in use."""
        head = self._head(p.head)
        if p.head == "ict":
            head.set_shape(p.identity_weights, p.expression_weights)
            head.set_look(p.skin_tone, p.skin_redness, p.skin_pattern, p.skin_roughness, p.iris)
        rot = np.eye(4)
        rot[:3, :3] = coords.head_world_rotation(*p.head_pose_deg)
        scene.set_matrix(head.obj, rot)
        light = np.asarray(p.light_world, float)
        self.rig.set_camera(coords.frontal_camera(p.camera_distance_m), p.focal_mm)
        self.rig.set_light(light, p.light_power_w, p.light_kelvin, p.light_radius_m)
        e_key = lighting.point_irradiance(p.light_power_w, float(np.linalg.norm(light - labels.FACE_CENTRE_WORLD)))
        self.rig.set_ambient(lighting.world_strength_for_ratio(p.ambient_ratio, e_key))
        if p.exposure_stops is not None:
            stops = p.exposure_stops
        else:
            e_total = e_key / (1.0 - p.ambient_ratio)
            stops = lighting.exposure_stops(e_total, AUTO_EXPOSURE_WHITE) + p.exposure_jitter_stops
        self.rig.set_exposure(stops)
        return head

    def render_image(self, p: Any, out_path: Path) -> None:
        """Cycles-render the posed scene and finish it into ``out_path`` (sensor noise, JPEG or PNG), with the
        image's own seed; the raw render beside it is removed even when this fails."""
        raw = out_path.with_name(out_path.name + ".cycles.png")
        try:
            self.rig.render(raw, p.cycles_seed)
            postprocess.finish_image(raw, out_path, p.noise_sigma, p.jpeg_quality, p.cycles_seed)
        finally:
            raw.unlink(missing_ok=True)

    def render(self, p: SceneParams, out_path: Path) -> dict[str, Any]:
        """Render ``p`` into ``out_path`` (PNG or JPEG per ``p.jpeg_quality``); return the label."""
        head = self.pose(p)
        self.render_image(p, out_path)
        rot = coords.head_world_rotation(*p.head_pose_deg)
        verts = head.rest_vertices() @ rot.T
        lms = head.rest_landmarks()
        return labels.make_label(p, self.width, self.height, verts, None if lms is None else lms @ rot.T,
                                 self.rig.light_rgb())
