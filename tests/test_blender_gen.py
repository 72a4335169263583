"""Tests of blender_gen (the bpy training-data renderer): geometry without bpy, then a real smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_gen import coords, presets
from blender_gen.manifest import Manifest
from blender_gen.paths import SharedAssetsMissingError, resolve_assets
from lightest import frames
from tests.conftest import need_bpy_and_assets

REPO = Path(__file__).resolve().parent.parent


def test_seed_grid_matches_the_seed_sweep():
    grid = presets.SEED_BOX.grid()
    assert grid.shape == (3024, 3)
    assert np.allclose(grid.min(axis=0), [-3.0, -3.6, 0.3]) and np.allclose(grid.max(axis=0), [3.0, -0.3, 3.6])
    assert len(np.unique(grid, axis=0)) == 3024


def test_head_pose_signs_and_frames():
    # yaw > 0 turns the face (head +z) toward image right (+x of a frontal camera).
    face_axis_world = coords.head_world_rotation(20.0, 0.0, 0.0) @ coords.HEAD_TO_WORLD[:, 2]
    cam = coords.frontal_camera(1.0)
    assert coords.camera_dir(cam, face_axis_world)[0] > 0.3
    # pitch > 0 tilts the face up.
    up_face = coords.head_world_rotation(0.0, 20.0, 0.0) @ coords.HEAD_TO_WORLD[:, 2]
    assert coords.camera_dir(cam, up_face)[1] > 0.3
    # At rest the head frame is the frontal camera frame.
    v = np.array([0.3, -0.5, 0.8])
    assert np.allclose(coords.world_to_head_dir(v, 0, 0, 0), coords.camera_dir(cam, v))


def test_cap_sampler_stays_within_angle():
    rng = np.random.default_rng(0)
    d = np.array([presets.sample_cap_direction(rng, 100.0) for _ in range(2000)])
    ang = frames.angle_between_deg(d, np.array([0.0, 0.0, 1.0]))
    assert ang.max() <= 100.0 + 1e-9 and ang.max() > 95.0


def test_manifest_ignores_and_repairs_a_torn_row(tmp_path):
    man = Manifest(tmp_path)
    img = man.image_path(0, ".png")
    tmp = man.temp_path(img)
    tmp.write_bytes(b"x")
    man.commit(tmp, img, {"index": 0, "image": "images/000000.png"})
    with open(man.path, "a") as f:
        f.write('{"index": 1, "ima')  # killed mid-append
    assert man.done_indices() == {0}
    img1 = man.image_path(1, ".png")
    tmp1 = man.temp_path(img1)
    tmp1.write_bytes(b"y")
    man.commit(tmp1, img1, {"index": 1, "image": "images/000001.png"})
    assert man.done_indices() == {0, 1}


def test_a_folder_refuses_other_settings_but_not_another_count(tmp_path):
    pytest.importorskip("bpy", reason="bpy is not importable (install the 'blender' extra)")
    from blender_gen.dataset import _check_compatible

    info = {"generator": "blender_gen 0.1.0", "settings": {"preset": "diverse", "count": 10, "samples": 16}}
    (tmp_path / "dataset.json").write_text(json.dumps(info))
    _check_compatible(tmp_path / "dataset.json", {**info, "settings": {**info["settings"], "count": 20}})
    with pytest.raises(SystemExit, match="use another --out"):
        _check_compatible(tmp_path / "dataset.json", {**info, "settings": {**info["settings"], "samples": 8}})


def test_missing_shared_gives_a_clear_error(tmp_path):
    with pytest.raises(SharedAssetsMissingError, match="assets/heads not found"):
        resolve_assets(tmp_path / "nowhere")


def _render(out: Path, *extra: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "blender_gen",
        "render",
        "--preset",
        "diverse",
        "--out",
        str(out),
        "--count",
        "4",
        "--resolution",
        "64",
        "--samples",
        "2",
        "--seed",
        "3",
        *extra,
    ]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _rows(out: Path) -> list[dict]:
    return sorted(
        (json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()), key=lambda r: r["index"]
    )


@pytest.mark.slow
def test_smoke_dataset_through_the_cli(tmp_path):
    need_bpy_and_assets()
    a, b = tmp_path / "a", tmp_path / "b"
    stats = _render(a)
    assert stats["rendered"] == 4
    rows = _rows(a)
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert json.loads((a / "dataset.json").read_text())["counts"]["images"] == 4
    assert any(r["head"] == "ict" for r in rows), "seed 3 should draw at least one ICT head"
    for r in rows:
        assert (a / r["image"]).is_file()
        cam = np.array(r["camera_to_world"])
        light_c = coords.world_to_camera(cam, np.array(r["light_world_m"]))
        assert np.allclose(light_c, r["light_camera_m"], atol=1e-5)
        d = np.array(r["light_dir_camera"])
        assert np.allclose(frames.normalize(light_c - np.array(r["face_centre_camera_m"])), d, atol=1e-5)
        assert np.allclose(
            frames.angles_from_direction(d), (r["light_azimuth_deg"], r["light_elevation_deg"]), atol=1e-3
        )
        # Projected toward the light, the image moves right for d_x > 0 and up (v down) for d_y > 0.
        intr = coords.Intrinsics(**r["intrinsics"])
        face_c = np.array(r["face_centre_camera_m"])
        uv0, uv1 = coords.project(intr, np.stack([face_c, face_c + 0.01 * d]))
        assert np.allclose(uv0, [intr.cx, intr.cy], atol=1e-6)
        assert np.sign(uv1[0] - uv0[0]) == np.sign(d[0]) and np.sign(uv0[1] - uv1[1]) == np.sign(d[1])
        if r["head"] == "ict":
            lm = np.array(r["landmarks68_px"])
            x0, y0, x1, y1 = r["head_bbox_px"]
            assert lm.shape == (68, 2)
            assert np.all((lm >= 0) & (lm < [intr.width, intr.height])), "landmarks leave the image"
            assert np.all((lm >= [x0, y0]) & (lm <= [x1, y1])), "landmarks leave the head's bbox"
            span = lm.max(axis=0) - lm.min(axis=0)
            assert np.all(span > 0.25 * np.array([x1 - x0, y1 - y0])), "landmarks do not span a face"
        else:
            assert r["landmarks68_px"] is None

    again = _render(a)
    assert again["rendered"] == 0 and _rows(a) == rows

    _render(b)
    assert _rows(b) == rows
    for r in rows:
        assert (a / r["image"]).read_bytes() == (b / r["image"]).read_bytes()


def test_facecheck_uses_the_runtime_detector(tmp_path):
    import cv2

    from blender_gen.facecheck import detection_report
    from tests.conftest import EXAMPLE

    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "face.png"), cv2.imread(str(EXAMPLE)))
    cv2.imwrite(str(tmp_path / "images" / "blank.png"), np.full((256, 256, 3), 128, np.uint8))
    rows = [{"image": f"images/{n}.png", "light_angle_from_view_deg": a, "head": "lps"} for n, a in (("face", 20.0),
                                                                                                     ("blank", 80.0))]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = detection_report(tmp_path)
    assert report["n"] == 2 and report["rate"] == 0.5 and report["missed"] == ["images/blank.png"]
    assert report["by_light_angle"][0] == {"light_angle_deg": "0-30", "n": 1, "rate": 1.0}


def test_one_process_per_shard(tmp_path):
    """Two processes on the same shard of one folder would render and record every image twice: refused."""
    import subprocess
    import sys

    from blender_gen.manifest import shard_lock

    holder = (
        "import sys, time; from pathlib import Path; from blender_gen.manifest import shard_lock\n"
        "with shard_lock(Path(sys.argv[1]), (0, 2)):\n    print('held', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RuntimeError, match="shard 0/2 is already being rendered"), shard_lock(tmp_path, (0, 2)):
            pass
        with shard_lock(tmp_path, (1, 2)):  # another shard of the same folder is fine
            pass
    finally:
        proc.kill()
        proc.wait()
    with shard_lock(tmp_path, (0, 2)):  # free again once its holder is gone
        pass
