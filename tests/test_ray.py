"""The Ray path on a local Ray instance with 2 CPUs: a tiny ``diverse`` render as Ray tasks over shards, and
folders estimated by Ray Data actors (``lightest batch --ray``), each equal to the local path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lightest.cli import main as lightest_main
from mobile_bench.batch import make_images, read_rows
from tests.conftest import REPO, need_bpy_and_assets

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'lightest[cluster]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'lightest[cluster]')")

RENDER = ["--preset", "diverse", "--count", "4", "--resolution", "128", "--samples", "2", "--seed", "3"]


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _by_image(rows: list[dict]) -> dict[str, dict]:
    return {row["image"]: row for row in rows}


def test_batch_on_ray_resumes_and_equals_local(local_ray, tmp_path: Path):
    folder = tmp_path / "images"
    make_images(folder, 18, seed=1, size=(320, 240))
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert lightest_main(["batch", str(folder), "--out", str(local), "--workers", "1"]) == 1  # 2 non-images
    rows = read_rows(local)
    assert len(rows) == 18 and sum(r["face"] for r in rows) >= 15
    on_ray.write_text("".join(json.dumps(r) + "\n" for r in rows[:5]))  # a run stopped after 5 rows

    assert lightest_main(["batch", str(folder), "--out", str(on_ray), "--ray", "--workers", "2"]) == 1
    ray_rows = read_rows(on_ray)
    assert len(ray_rows) == 18 and ray_rows[:5] == rows[:5]
    assert _by_image(ray_rows) == _by_image(rows)




@pytest.mark.slow
def test_render_on_ray_then_estimate_on_ray(local_ray, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    need_bpy_and_assets()
    from blender_gen.cli import main as blender_main

    on_ray, local = tmp_path / "ray", tmp_path / "local"
    assert blender_main(["render", *RENDER, "--out", str(on_ray), "--ray", "--shards", "2", "--threads", "1"]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["rendered"] == 4 and stats["shards"] == 2 and stats["total_in_manifest"] == 4
    manifest = sorted(read_rows(on_ray / "manifest.jsonl"), key=lambda r: r["index"])
    assert [r["index"] for r in manifest] == [0, 1, 2, 3]

    proc = subprocess.run([sys.executable, "-m", "blender_gen", "render", *RENDER, "--out", str(local)],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(read_rows(local / "manifest.jsonl"), key=lambda r: r["index"]) == manifest
    for row in manifest:  # the same images as one local process renders
        assert (on_ray / row["image"]).read_bytes() == (local / row["image"]).read_bytes()

    out_ray, out_local = tmp_path / "ray.jsonl", tmp_path / "local.jsonl"
    status = lightest_main(["batch", str(on_ray / "images"), "--out", str(out_ray), "--ray"])
    assert status == lightest_main(["batch", str(on_ray / "images"), "--out", str(out_local), "--workers", "1"])
    assert len(read_rows(out_ray)) == 4 and _by_image(read_rows(out_ray)) == _by_image(read_rows(out_local))

    again = blender_main(["render", *RENDER, "--out", str(on_ray), "--ray", "--shards", "2", "--threads", "1"])
    assert again == 0 and json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rendered"] == 0
