"""Showcase: insert a virtual hat into a rendered "photo" and light it with lightest's estimate.

Per example: render the photo (head only), estimate its light with ``lightest.Estimator``, then render
three panels with the hat: *before* (hat lit by ambient only), *predicted* (hat lit by a light in the
estimated direction) and *truth* (the true direction), each with the hat's shadow from its light
(see :class:`HatLighting`). Only the direction is estimated: the panel light copies the true light's
distance, power and colour.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import bpy
import cv2
import numpy as np

from blender_gen import coords, heads_lps, materials, presets, scene
from blender_gen.paths import Assets
from blender_gen.render import Renderer
from lightest import frames

HAT_RGB = (0.30, 0.05, 0.04)
BAND_RGB = (0.02, 0.02, 0.02)


def _cylinder(name: str, radius: float, depth: float, centre: tuple[float, float, float],
              mat: bpy.types.Material) -> bpy.types.Object:
    bpy.ops.mesh.primitive_cylinder_add(vertices=64, radius=radius, depth=depth, location=centre)
    obj = bpy.context.active_object
    obj.name = name
    obj.data.materials.append(mat)
    obj["rest_matrix"] = [list(r) for r in obj.matrix_world]
    return obj


def build_hat(head_rest_verts: np.ndarray) -> list[bpy.types.Object]:
    """A felt hat (crown, band, brim) resting on the top of the head, in the head's rest frame."""
    top = head_rest_verts[:, 2].max()
    crown_top = head_rest_verts[head_rest_verts[:, 2] > top - 0.02]
    cx, cy = crown_top[:, 0].mean(), crown_top[:, 1].mean()
    base = top - 0.04
    felt = materials.plain("HatFelt", HAT_RGB, 0.85, 0.2)
    band = materials.plain("HatBand", BAND_RGB, 0.5)
    return [_cylinder("HatCrown", 0.085, 0.13, (cx, cy, base + 0.065), felt),
            _cylinder("HatBand", 0.087, 0.025, (cx, cy, base + 0.0125), band),
            _cylinder("HatBrim", 0.15, 0.008, (cx, cy, base), felt)]


def _collection(name: str, objs: list[bpy.types.Object]) -> bpy.types.Collection:
    coll = bpy.data.collections.new(name)
    for o in objs:
        coll.objects.link(o)
    return coll


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


class HatLighting:
    """Light linking for the hat panels.

    The photo's key light stays on the head (receivers and blockers: head), so the photo's shading is
    untouched; the panel light X lights only the hat (receivers: hat; blockers: hat + head). The hat's
    shadow on the face is X's light on the head with only the head as blocker minus X's light on the
    head with head + hat as blockers (two X-only scene-linear renders), subtracted from the panel:
    differential rendering of the inserted object's shadow. For X = the true light this is exact up
    to clipping.
    """

    def __init__(self, rig: scene.Rig, head: bpy.types.Object, hat: list[bpy.types.Object]) -> None:
        self.rig, self.hat = rig, hat
        self.head_only = _collection("HeadOnly", [head])
        self.head_and_hat = _collection("HeadAndHat", [head, *hat])
        self.hat_light = self._light("X_hat", _collection("HatOnly", hat), self.head_and_hat)
        self.shadow_light = self._light("X_shadow", self.head_only, self.head_and_hat)

    def _light(self, name: str, receivers: bpy.types.Collection, blockers: bpy.types.Collection) -> bpy.types.Object:
        obj = bpy.data.objects.new(name, self.rig.light.data.copy())
        self.rig.scene.collection.objects.link(obj)
        obj.light_linking.receiver_collection = receivers
        obj.light_linking.blocker_collection = blockers
        obj.data.energy = 0.0
        return obj

    def photo(self) -> None:
        """The plain render: no hat, no linking, no extra light."""
        for o in self.hat:
            o.hide_render = True
        self.rig.light.light_linking.receiver_collection = None
        self.rig.light.light_linking.blocker_collection = None
        self.hat_light.data.energy = self.shadow_light.data.energy = 0.0

    def _copy_key(self, obj: bpy.types.Object, position: np.ndarray) -> None:
        key = self.rig.light.data
        obj.data.energy = key.energy
        obj.data.use_temperature, obj.data.temperature = key.use_temperature, key.temperature
        obj.data.shadow_soft_size = key.shadow_soft_size
        obj.location = [float(v) for v in position]

    def render_panel(self, position: np.ndarray | None, path: Path, seed: int, floor: float) -> np.ndarray:
        """BGR uint8 panel with the hat lit by X at ``position`` (None: ambient only, no shadow).

        ``floor``: the least fraction of a pixel the shadow keeps (the ambient share), so that an X
        highlight the photo lacks cannot carve black holes into the face.
        """
        for o in self.hat:
            o.hide_render = False
        key_link = self.rig.light.light_linking
        key_link.receiver_collection = key_link.blocker_collection = self.head_only
        self.hat_light.data.energy = self.shadow_light.data.energy = 0.0
        if position is not None:
            self._copy_key(self.hat_light, position)
        self.rig.render(path, seed)
        panel = cv2.imread(str(path), cv2.IMREAD_COLOR)
        path.unlink()
        if position is None:
            return panel
        # X alone on the head, with and without the hat as a blocker (no key, no ambient, no hat light).
        key_energy, ambient = self.rig.light.data.energy, self.rig.background.inputs["Strength"].default_value
        self._copy_key(self.shadow_light, position)
        self.rig.light.data.energy, self.hat_light.data.energy = 0.0, 0.0
        self.rig.set_ambient(0.0)
        exr = path.with_suffix(".exr")
        try:
            self.shadow_light.light_linking.blocker_collection = self.head_and_hat
            shadowed = self.rig.render_linear(exr, seed).mean(axis=2)
            self.shadow_light.light_linking.blocker_collection = self.head_only
            free = self.rig.render_linear(exr, seed).mean(axis=2)
        finally:
            self.rig.light.data.energy = key_energy
            self.rig.set_ambient(ambient)
            self.shadow_light.data.energy = 0.0
        # Differential rendering: remove the X light the hat blocks, in display-linear units (the
        # Standard view transform is sRGB(2^exposure * scene-linear)), scaling RGB to keep the hue.
        lost = (free - shadowed) * 2.0 ** self.rig.scene.view_settings.exposure
        lin = _srgb_to_linear(panel.astype(np.float64) / 255.0)
        lum = np.maximum(lin.mean(axis=2), 1e-6)
        lin *= np.clip(1.0 - lost / lum, floor, 1.0)[..., None]
        return np.round(_linear_to_srgb(lin) * 255.0).astype(np.uint8)


def showcase_params(seed: int, index: int, resolution: int) -> Any:
    """A ``diverse`` scene tamed for the demo: near-frontal head, light from the upper front."""
    p = presets.diverse(seed, index, resolution, resolution)
    rng = np.random.default_rng(presets.image_seed(seed + 1, index))
    az, el = rng.uniform(-60.0, 60.0), rng.uniform(15.0, 55.0)
    cam = coords.frontal_camera(1.35)
    light = cam[:3, :3] @ frames.direction_from_angles(az, el) * 1.5
    yaw, pitch = rng.uniform(-12.0, 12.0, size=2)
    return replace(p, head_pose_deg=(float(yaw), float(pitch), 0.0), light_world=tuple(float(v) for v in light),
                   light_radius_m=0.05, ambient_ratio=0.2, camera_distance_m=1.35, focal_mm=85.0,
                   exposure_jitter_stops=-0.3, noise_sigma=0.0, jpeg_quality=None, expression_weights=None)


def _caption(img: np.ndarray, lines: list[str]) -> np.ndarray:
    bar = np.full((18 * len(lines) + 8, img.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(bar, text, (6, 18 * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([img, bar])


def run_showcase(assets: Assets, out_dir: Path, n: int, seed: int, resolution: int, samples: int,
                 device: str) -> list[dict[str, Any]]:
    """Render ``n`` showcase composites into ``out_dir``; returns their numbers."""
    from lightest import Estimator

    out_dir.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(assets, resolution, resolution, samples, device, denoise=True)
    estimator = Estimator()
    results = []
    hats: dict[str, tuple[list[bpy.types.Object], HatLighting]] = {}
    for k in range(n):
        p = showcase_params(seed, k, resolution)
        head = renderer.pose(p)
        if p.head not in hats:
            hat = build_hat(head.rest_vertices())
            hats[p.head] = (hat, HatLighting(renderer.rig, head.obj, hat))
        for other, (hat, _) in hats.items():
            for o in hat:
                o.hide_render = other != p.head
        hat, lighting = hats[p.head]
        rot = np.eye(4)
        rot[:3, :3] = coords.head_world_rotation(*p.head_pose_deg)
        for o in hat:
            scene.set_matrix(o, rot @ np.array(o["rest_matrix"]))
        lighting.photo()
        photo = out_dir / f"showcase_{k:02d}_photo.png"
        label = renderer.render(p, photo)
        est = estimator.estimate(cv2.imread(str(photo), cv2.IMREAD_COLOR))
        truth = np.array(label["light_dir_camera"])
        cam = coords.frontal_camera(p.camera_distance_m)
        dist = label["light_distance_m"]
        row: dict[str, Any] = {"index": k, "head": p.head, "true_dir": truth.round(4).tolist(),
                               "true_az_el_deg": np.round(frames.angles_from_direction(truth), 1).tolist()}
        panels = {"before": None, "truth": cam[:3, :3] @ truth * dist}
        if est is not None:
            pred = frames.normalize(np.asarray(est.direction, float))
            panels["predicted"] = cam[:3, :3] @ pred * dist
            row.update(pred_dir=pred.round(4).tolist(),
                       pred_az_el_deg=np.round(frames.angles_from_direction(pred), 1).tolist(),
                       error_deg=round(float(frames.angle_between_deg(pred, truth)), 1),
                       confidence=round(float(est.confidence), 3), method=est.method)
        images = {name: lighting.render_panel(pos, out_dir / f"showcase_{k:02d}_{name}.png", p.cycles_seed,
                                               p.ambient_ratio)
                  for name, pos in panels.items()}
        blank = np.full_like(images["before"], 64)
        strip = np.hstack([images["before"], images.get("predicted", blank), images["truth"]])
        err = f"{row['error_deg']} deg" if "error_deg" in row else "no face found"
        lines = ["before (hat unlit)  |  lit by lightest's estimate  |  lit by the true light",
                 f"true az/el {row['true_az_el_deg']}  predicted {row.get('pred_az_el_deg', '-')}  error {err}"]
        if p.head == "lps":
            lines.append("Head: " + heads_lps.CREDIT)
        cv2.imwrite(str(out_dir / f"showcase_{k:02d}.jpg"), _caption(strip, lines), [cv2.IMWRITE_JPEG_QUALITY, 90])
        results.append(row)
    (out_dir / "showcase.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
