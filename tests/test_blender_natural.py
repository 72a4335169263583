"""The ``natural`` preset: sampler determinism, face-feature maps, and the label against Cycles itself (a white
Lambertian sphere lit by the preset's world and lights must shade as the label's lighting predicts)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_gen.paths import DEFAULT_SHARED, SharedAssetsMissingError, resolve_assets
from lightest import frames

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(importlib.util.find_spec("bpy") is None,
                                reason="bpy is not importable (install the 'blender' extra)")


def _need_assets() -> None:
    try:
        resolve_assets(None)
    except SharedAssetsMissingError as e:
        pytest.skip(f"../shared/assets/heads not found: {DEFAULT_SHARED} ({str(e).splitlines()[0]})")


def test_sampler_is_deterministic_and_covers_the_cases():
    from blender_gen.natural import HDRIS, natural

    a = [natural(5, k, 256, 256) for k in range(200)]
    assert a == [natural(5, k, 256, 256) for k in range(200)]
    assert a[0] != natural(6, 0, 256, 256)
    assert {p.hdri for p in a} == set(HDRIS)
    assert {len(p.lights) for p in a if not p.lab} == {0, 1, 2, 3}
    assert 0.05 < np.mean([p.lab for p in a]) < 0.3
    ict = [p for p in a if p.head == "ict"]
    assert 0.1 < np.mean([p.glasses for p in ict]) < 0.45 and 0.55 < np.mean([p.hair for p in ict]) < 0.9
    assert {r for p in a for r in (light.role for light in p.lights)} == {"window", "lamp", "phone", "lab"}


def test_natural_lab_lights_every_face_with_one_lab_light():
    from blender_gen.presets import PRESETS

    a = [PRESETS["natural-lab"].sampler(5, k, 256, 256) for k in range(50)]
    assert all(p.lab and [light.role for light in p.lights] == ["lab"] for p in a)
    assert len({p.hdri for p in a}) > 3 and len({p.identity_weights for p in a}) > 40


def test_feature_maps_put_brows_above_the_eyes_and_lips_on_the_mouth():
    _need_assets()
    from blender_gen.face_features import feature_maps
    from blender_gen.heads_ict import IctModel

    m = IctModel.load(resolve_assets(None))
    maps = feature_maps(m.neutral, m.landmarks)
    lm = m.neutral[m.landmarks]
    brow_y = m.neutral[maps["brow"] < 1.0, 1]
    assert brow_y.min() > lm[36:48, 1].max() and brow_y.max() < lm[17:27, 1].max() + 1.0
    lip = m.neutral[maps["lip"] < 0.0]
    assert lip[:, 1].min() > lm[57, 1] - 0.5 and lip[:, 1].max() < lm[33, 1]
    beard = m.neutral[maps["beard"] > 0.5]
    assert beard[:, 1].max() < lm[30, 1] and (maps["beard"][maps["lip"] < 0] < 0.05).all()
    assert (maps["hair"][m.landmarks] < 0).all()  # never over the landmarks


def _sphere_check(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a white Lambertian sphere (no head) under ``p``'s world and lights; return rendered and predicted
    linear radiance of the visible sphere pixels (albedo / pi * exact irradiance of the label's samples), and
    their camera-frame normals."""
    import bpy

    from blender_gen import coords, envsh
    from blender_gen.natural_render import NaturalRenderer, light_spec

    size, radius = 48, 0.01  # small: added lights 0.2 m away must look the same from all of it
    r = NaturalRenderer(resolve_assets(None), size, size, 64, denoise=False)
    bpy.ops.mesh.primitive_uv_sphere_add(segments=96, ring_count=48, radius=radius)
    sphere = bpy.context.active_object
    bpy.ops.object.shade_smooth()
    mat = bpy.data.materials.new("white")
    nt = mat.node_tree
    diffuse = nt.nodes.new("ShaderNodeBsdfDiffuse")
    diffuse.inputs["Color"].default_value = (0.8, 0.8, 0.8, 1.0)
    nt.links.new(diffuse.outputs["BSDF"], nt.nodes["Material Output"].inputs["Surface"])
    sphere.data.materials.append(mat)
    cam = coords.frontal_camera(1.0)
    r.rig.set_camera(cam, 50.0)
    r.rig.camera.data.type = "ORTHO"
    r.rig.camera.data.ortho_scale = 2.2 * radius
    env = r.world.samples(p.hdri)
    env_irr = float(env.flux.sum(axis=0) @ envsh.LUMA) / 4.0
    specs = [light_spec(light, env_irr) for light in p.lights]
    r.lights.set(specs)
    r.world.set(p.hdri, p.hdri_rotation_deg, p.hdri_scale, p.hdri_tint)
    r.rig.set_exposure(0.0)
    img = r.rig.render_linear(Path(bpy.app.tempdir or "/tmp") / "sphere_check.exr", 1)
    dirs_w, e_rgb, _ = r.lighting_samples(p, specs)
    dirs_c = dirs_w @ cam[:3, :3]
    px = (np.arange(size) + 0.5) / size - 0.5
    x, y = np.meshgrid(px * 2.2, -px * 2.2)  # in sphere radii; v down
    inside = x**2 + y**2 < 0.8**2  # away from the silhouette (the label has no horizon from the sphere)
    normals = np.stack([x[inside], y[inside], np.sqrt(1.0 - x[inside] ** 2 - y[inside] ** 2)], axis=1)
    predicted = 0.8 / np.pi * envsh.exact_irradiance(dirs_c, e_rgb, normals)
    return img[inside], predicted, normals


@pytest.mark.slow
@pytest.mark.parametrize("index", [1, 4, 7, 16])
def test_the_label_lighting_shades_a_sphere_as_cycles_does(index):
    """Camera-frame directions, HDRI rotation, scale and tint, and the added lights' watts all agree with Cycles."""
    _need_assets()
    from blender_gen.natural import natural

    p = natural(0, index, 48, 48)
    got, want, normals = _sphere_check(p)
    # per-pixel values are Monte Carlo noisy (a sun hit by few paths): compare the total and a fitted
    # a + b . n (the order-1 shading of the sphere) instead
    assert got.sum() / want.sum() == pytest.approx(1.0, abs=0.04)
    basis = np.hstack([np.ones((len(normals), 1)), normals])
    fit_got = np.linalg.lstsq(basis, got.sum(axis=1), rcond=None)[0]
    fit_want = np.linalg.lstsq(basis, want.sum(axis=1), rcond=None)[0]
    assert frames.angle_between_deg(fit_got[1:], fit_want[1:]) < 4.0
    assert np.linalg.norm(fit_got[1:]) / np.linalg.norm(fit_want[1:]) == pytest.approx(1.0, abs=0.06)
    # colour: the rendered and predicted chromaticities agree
    assert np.allclose(got.sum(axis=0) / got.sum(), want.sum(axis=0) / want.sum(), atol=0.01)


@pytest.mark.slow
def test_natural_renders_are_deterministic_and_resumable(tmp_path):
    _need_assets()
    cmd = [sys.executable, "-m", "blender_gen", "render", "--preset", "natural", "--count", "3", "--resolution",
           "64", "--samples", "2", "--seed", "4", "--threads", "1"]

    def run(out: Path) -> list[dict]:
        res = subprocess.run([*cmd, "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        return sorted((json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()),
                      key=lambda r: r["index"])

    a = run(tmp_path / "a")
    assert [r["index"] for r in a] == [0, 1, 2]
    for r in a:
        assert np.array(r["sh_rgb"]).shape == (9, 3) and 0.0 <= r["ambient_share"] <= 1.0
        assert r["hdri"] and r["light_dir_camera"] == r["dominant_dir_camera"]
        assert np.linalg.norm(r["dominant_dir_camera"]) == pytest.approx(1.0, abs=1e-5)
    assert run(tmp_path / "a") == a  # rerun: nothing rendered again
    b = run(tmp_path / "b")
    assert b == a
    for r in a:
        assert (tmp_path / "a" / r["image"]).read_bytes() == (tmp_path / "b" / r["image"]).read_bytes()


def test_params_round_trip_into_the_label():
    from blender_gen.natural import natural

    p = natural(0, 3, 256, 256)
    d = dataclasses.asdict(p)
    assert json.loads(json.dumps(d))["hdri"] == p.hdri
