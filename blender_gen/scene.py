"""The bpy scene shared by every preset: Cycles settings, camera, one point light, world ambient.

One :class:`Rig` is built per process and re-posed per image (rebuilding the scene costs more than
rendering a small image). Heads are added by :mod:`blender_gen.heads_lps` / :mod:`blender_gen.heads_ict`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from blender_gen import coords


@contextlib.contextmanager
def silenced_stdout() -> Iterator[None]:
    """Hide Blender's per-render chatter on fd 1 (our progress bar writes to stderr)."""
    fd = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


def configure_device(scene: bpy.types.Scene, device: str) -> str:
    """Use the CPU, or the best available GPU backend (OptiX, then CUDA) for ``device='GPU'``."""
    scene.cycles.device = "CPU"
    if device.upper() != "GPU":
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for backend in ("OPTIX", "CUDA"):
        try:
            prefs.compute_device_type = backend
        except TypeError:
            continue
        prefs.refresh_devices()
        gpus = [d for d in prefs.devices if d.type == backend]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == backend
            scene.cycles.device = "GPU"
            return backend
    raise RuntimeError("--device GPU: no CUDA/OptiX device found; use --device CPU")


def new_scene(width: int, height: int, samples: int, device: str = "CPU", denoise: bool = False) -> bpy.types.Scene:
    """Empty factory scene set up for Cycles, Standard view transform, 8-bit PNG output."""
    with silenced_stdout():
        bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    configure_device(scene, device)
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = denoise
    if denoise:
        scene.cycles.denoiser = "OPENIMAGEDENOISE"
    scene.cycles.use_animated_seed = False
    scene.cycles.max_bounces = 4
    scene.cycles.transparent_max_bounces = 4
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    return scene


def set_threads(scene: bpy.types.Scene, threads: int) -> None:
    """Cycles CPU threads: ``0`` = all cores (Blender's auto-detect), else a fixed count."""
    scene.render.threads_mode = "AUTO" if threads <= 0 else "FIXED"
    if threads > 0:
        scene.render.threads = threads


def set_matrix(obj: bpy.types.Object, m: np.ndarray) -> None:
    obj.matrix_world = Matrix(np.asarray(m, float).tolist())


class Rig:
    """Camera + point light + world background of the current scene."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        self.scene = scene
        cam_data = bpy.data.cameras.new("Camera")
        cam_data.sensor_fit = "AUTO"
        cam_data.sensor_width = coords.SENSOR_MM
        cam_data.clip_start, cam_data.clip_end = 0.01, 100.0
        self.camera = bpy.data.objects.new("Camera", cam_data)
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera

        light_data = bpy.data.lights.new("Key", "POINT")
        light_data.use_soft_falloff = False
        self.light = bpy.data.objects.new("Key", light_data)
        scene.collection.objects.link(self.light)

        world = bpy.data.worlds.new("World")
        world.use_nodes = True
        scene.world = world
        self.background = world.node_tree.nodes["Background"]

    def set_camera(self, cam_to_world: np.ndarray, focal_mm: float) -> None:
        set_matrix(self.camera, cam_to_world)
        self.camera.data.lens = focal_mm

    def set_light(self, position: np.ndarray, power_w: float, kelvin: float | None, radius_m: float) -> None:
        """Point light at ``position`` (world, m); ``kelvin=None`` keeps it white."""
        self.light.location = [float(x) for x in position]
        d = self.light.data
        d.energy = power_w
        d.shadow_soft_size = radius_m
        d.use_temperature = kelvin is not None
        if kelvin is not None:
            d.temperature = kelvin
        d.color = (1.0, 1.0, 1.0)

    def light_rgb(self) -> tuple[float, float, float]:
        """Linear RGB of the key light (blackbody colour when a temperature is set)."""
        d = self.light.data
        return tuple(d.temperature_color) if d.use_temperature else tuple(d.color)  # type: ignore[return-value]

    def set_ambient(self, strength: float, rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> None:
        self.background.inputs["Color"].default_value = (*rgb, 1.0)
        self.background.inputs["Strength"].default_value = strength

    def set_exposure(self, stops: float) -> None:
        self.scene.view_settings.exposure = stops

    def render_linear(self, path: Path, seed: int) -> np.ndarray:
        """Render scene-linear RGB (float32 EXR, no view transform) and return it as (H, W, 3), top row first."""
        settings = self.scene.render.image_settings
        fmt, depth, mode = settings.file_format, settings.color_depth, settings.color_mode
        settings.file_format, settings.color_depth, settings.color_mode = "OPEN_EXR", "32", "RGB"
        try:
            self.render(path, seed)
        finally:
            settings.file_format, settings.color_depth, settings.color_mode = fmt, depth, mode
        img = bpy.data.images.load(str(path))
        try:
            w, h = img.size
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
        finally:
            bpy.data.images.remove(img)
            path.unlink(missing_ok=True)
        return px.reshape(h, w, 4)[::-1, :, :3]

    def render(self, path: Path, seed: int) -> None:
        """Render the still to ``path`` (PNG) with a fixed Cycles seed."""
        self.scene.cycles.seed = seed
        self.scene.render.filepath = str(path)
        with silenced_stdout():
            bpy.ops.render.render(write_still=True)
