"""The example face shipped in the repository: ``examples/lee_perry_smith.png`` + its true light."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from blender_gen import __version__, coords, heads_lps
from blender_gen.params import SceneParams
from blender_gen.paths import Assets
from blender_gen.render import Renderer
from lightest import frames

WIDTH, HEIGHT = 640, 480
# Key light from the upper image-left front: 55 deg toward image left, 35 deg up, 1.2 m away.
KEY_AZIMUTH_DEG, KEY_ELEVATION_DEG, KEY_DISTANCE_M = -55.0, 35.0, 1.2
CAMERA_DISTANCE_M = 0.95
HEAD_POSE_DEG = (8.0, 3.0, 0.0)


def example_params() -> SceneParams:
    """The fixed scene of the example image (the camera frame equals the world frame rotated)."""
    cam = coords.frontal_camera(CAMERA_DISTANCE_M)
    d_cam = frames.direction_from_angles(KEY_AZIMUTH_DEG, KEY_ELEVATION_DEG)
    light = cam[:3, :3] @ d_cam * KEY_DISTANCE_M  # face centre is the world origin
    return SceneParams(
        head="lps", identity_weights=None, expression_weights=None, skin_tone=None,
        skin_redness=0.0, skin_pattern=0.0, skin_roughness=0.5, iris=0,
        head_pose_deg=HEAD_POSE_DEG, light_world=tuple(float(x) for x in light), light_power_w=60.0,
        light_kelvin=5000.0, light_radius_m=0.08, ambient_ratio=0.1, camera_distance_m=CAMERA_DISTANCE_M,
        focal_mm=70.0, exposure_stops=None, exposure_jitter_stops=-0.6, noise_sigma=0.0, jpeg_quality=None,
        cycles_seed=1,
    )


def render_example(assets: Assets, out_dir: Path, samples: int = 64, device: str = "CPU") -> Path:
    """Render the example PNG and write the JSON with its true light next to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    p = example_params()
    renderer = Renderer(assets, WIDTH, HEIGHT, samples, device, denoise=True, lps_subsurface=0.15)
    png = out_dir / "lee_perry_smith.png"
    label = renderer.render(p, png)
    d = np.asarray(label["light_dir_camera"])
    az, el = frames.angles_from_direction(d)
    info = {
        "image": png.name,
        "light_dir_camera": label["light_dir_camera"],
        "light_azimuth_deg": round(float(az), 3),
        "light_elevation_deg": round(float(el), 3),
        "convention": "lightest.frames: unit vector face -> light, +x image right, +y image up, "
                      "+z toward the camera; azimuth = atan2(x, z), elevation = asin(y)",
        "light_distance_m": label["light_distance_m"],
        "light_camera_m": label["light_camera_m"],
        "face_centre_camera_m": label["face_centre_camera_m"],
        "ambient_ratio": p.ambient_ratio,
        "light_kelvin": p.light_kelvin,
        "head_pose_deg": label["head_pose_deg"],
        "intrinsics": label["intrinsics"],
        "renderer": f"Blender Cycles, {samples} samples + OpenImageDenoise; blender_gen {__version__}",
        "command": "python -m blender_gen example --out examples/",
        "credit": heads_lps.CREDIT,
    }
    (out_dir / "lee_perry_smith.json").write_text(json.dumps(info, indent=2) + "\n")
    return png
