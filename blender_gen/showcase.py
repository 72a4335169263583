"""Showcase: insert a virtual hat into a rendered "photo" and light it with lightest's estimate.

Per example: render the photo (head only), estimate its light with ``lightest.Estimator``, then render
three panels with the hat: *before* (hat lit by ambient only), *predicted* (hat lit by a light in the
estimated direction) and *truth* (the true direction). Cycles light linking keeps the photo's key light
on the head only, lights the hat with the panel's light, and adds the hat's shadow on the face as
``+X`` (blocked by head and hat) plus ``-X`` (blocked by the head only) on the head: the two cancel
except where the hat blocks ``X``. With ``X`` = the true light this equals the physically lit scene.
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


class HatLighting:
    """The photo's key light restricted to the head, plus the three lights of one panel light ``X``."""

    def __init__(self, rig: scene.Rig, head: bpy.types.Object, hat: list[bpy.types.Object]) -> None:
        self.rig, self.hat = rig, hat
        head_only = _collection("HeadOnly", [head])
        self.lights = {}
        for name, receivers, blockers in (("hat", hat, [head, *hat]), ("plus", [head], [head, *hat]),
                                          ("minus", [head], [head])):
            obj = bpy.data.objects.new(f"X_{name}", rig.light.data.copy())
            rig.scene.collection.objects.link(obj)
            obj.light_linking.receiver_collection = _collection(f"recv_{name}", receivers)
            obj.light_linking.blocker_collection = _collection(f"block_{name}", blockers)
            self.lights[name] = obj
        self.key_links = (head_only, head_only)

    def photo(self) -> None:
        """The plain render: no hat, no linking, no extra light."""
        for o in self.hat:
            o.hide_render = True
        self.rig.light.light_linking.receiver_collection = None
        self.rig.light.light_linking.blocker_collection = None
        for o in self.lights.values():
            o.data.energy = 0.0

    def panel(self, position: np.ndarray | None) -> None:
        """Hat visible; the panel light ``X`` at ``position`` (None: no light on the hat)."""
        for o in self.hat:
            o.hide_render = False
        self.rig.light.light_linking.receiver_collection, self.rig.light.light_linking.blocker_collection = \
            self.key_links
        key = self.rig.light.data
        for name, o in self.lights.items():
            o.data.energy = 0.0 if position is None else key.energy * (-1.0 if name == "minus" else 1.0)
            o.data.use_temperature, o.data.temperature = key.use_temperature, key.temperature
            o.data.shadow_soft_size = key.shadow_soft_size
            if position is not None:
                o.location = [float(v) for v in position]


def showcase_params(seed: int, index: int, resolution: int) -> Any:
    """A ``diverse`` scene tamed for the demo: near-frontal head, light from the upper front."""
    p = presets.diverse(seed, index, resolution, resolution)
    rng = np.random.default_rng(presets.image_seed(seed + 1, index))
    az, el = rng.uniform(-60.0, 60.0), rng.uniform(15.0, 55.0)
    cam = coords.frontal_camera(1.1)
    light = cam[:3, :3] @ frames.direction_from_angles(az, el) * 1.5
    yaw, pitch = rng.uniform(-12.0, 12.0, size=2)
    return replace(p, head_pose_deg=(float(yaw), float(pitch), 0.0), light_world=tuple(float(v) for v in light),
                   light_radius_m=0.05, ambient_ratio=0.2, camera_distance_m=1.1, focal_mm=85.0,
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
        images = {}
        for name, pos in panels.items():
            lighting.panel(pos)
            path = out_dir / f"showcase_{k:02d}_{name}.png"
            renderer.rig.render(path, p.cycles_seed)
            images[name] = cv2.imread(str(path), cv2.IMREAD_COLOR)
            path.unlink()
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
