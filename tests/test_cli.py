import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from lightest.cli import main
from tests.conftest import EXAMPLE


def test_one_line_per_image(capsys, tmp_path):
    assert main(["estimate", str(EXAMPLE), "--method", "physics"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "azimuth" in out[0] and "elevation" in out[0] and "confidence" in out[0]


def test_json_and_overlay(capsys, tmp_path):
    overlay = tmp_path / "ov.png"
    assert main(["estimate", str(EXAMPLE), "--json", "--overlay", str(overlay), "--method", "physics"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["face"] is True and len(record["direction"]) == 3
    img = cv2.imread(str(overlay))
    src = cv2.imread(str(EXAMPLE))
    assert img.shape == src.shape and (img != src).any()


def test_failures_are_reported_and_counted(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    code = main(["estimate", str(blank), str(tmp_path / "missing.jpg"), "--method", "physics"])
    captured = capsys.readouterr()
    assert code == 1
    assert "no face" in captured.out and "no such file" in captured.err


def test_several_images_write_overlays_into_a_directory(capsys, tmp_path):
    out_dir = tmp_path / "overlays"
    copy = tmp_path / "second.png"
    copy.write_bytes(EXAMPLE.read_bytes())
    assert main(["estimate", str(EXAMPLE), str(copy), "--overlay", str(out_dir), "--method", "physics"]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["lee_perry_smith_overlay.png", "second_overlay.png"]


def test_bad_option_combination_is_a_clean_error(capsys):
    assert main(["estimate", str(EXAMPLE), "--method", "physics", "--landmarks", "dlib"]) == 2
    assert "mesh normals" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "lightest.cli", "estimate", str(EXAMPLE), "--json", "--method", "physics"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["face"] is True
