"""Video files: frames and timestamps (lightest.video_file) and the ``lightest video`` command."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lightest import Estimator
from lightest.cli import EXIT_BROKEN_PIPE, main
from lightest.video_file import estimate_video, read_frames
from tests.conftest import EXAMPLE

FPS, FRAMES = 25, 12


def _write_clip(path: Path, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The example face, 12 frames at 25 fps, each shifted by up to a pixel (a hand-held camera)."""
    from mobile_bench.video import shaken

    face = cv2.resize(cv2.imread(str(EXAMPLE)), (320, 320), interpolation=cv2.INTER_AREA)
    return _write_clip(tmp_path_factory.mktemp("video") / "face.avi", shaken(face, FRAMES, seed=0))


def test_frames_come_with_the_containers_timestamps(clip):
    frames = list(read_frames(clip))
    assert [f.index for f in frames] == list(range(FRAMES))
    np.testing.assert_allclose([f.timestamp_ms for f in frames], np.arange(FRAMES) * 1000 / FPS, atol=0.5)
    assert frames[0].image.shape == (320, 320, 3) and frames[0].image.dtype == np.uint8
    assert [f.index for f in read_frames(clip, every=5)] == [0, 5, 10]


def test_estimates_are_video_mode_on_the_decoded_frames(clip):
    with Estimator(running_mode="video") as est, Estimator(running_mode="video") as ref:
        got = list(estimate_video(est, clip))
        want = [ref.estimate_for_video(f.image, f.timestamp_ms) for f in read_frames(clip)]
        again = list(estimate_video(est, clip))  # a new stream: reset first, same answers
    assert len(got) == FRAMES and all(r is not None for _, r in got)
    for (_, a), b, (_, c) in zip(got, want, again, strict=True):
        np.testing.assert_allclose(a.direction, b.direction, atol=1e-9)
        np.testing.assert_allclose(a.direction, c.direction, atol=1e-9)
    with Estimator() as image_mode, pytest.raises(ValueError, match="running_mode='video'"):
        estimate_video(image_mode, clip)


def test_bad_files_fail_at_once(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(ValueError, match="not a video OpenCV can open"):
        read_frames(text)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_frames(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match="every must be a positive int"):
        read_frames(EXAMPLE, every=0)
    for ext in (".png", ".jpg", ".webp", ".bmp", ".tiff"):  # FFmpeg opens stills as one-frame videos
        still = tmp_path / f"photo{ext}"
        cv2.imwrite(str(still), np.full((64, 64, 3), 128, np.uint8))
        with pytest.raises(ValueError, match=r"is a \w+ image, not a video"):
            read_frames(still)


def test_cli_json_csv_and_every(clip, capsys):
    assert main(["video", str(clip), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in rows] == list(range(FRAMES)) and all(r["face"] for r in rows)
    assert rows[1]["timestamp_ms"] == pytest.approx(1000 / FPS, abs=0.5) and len(rows[0]["direction"]) == 3
    assert "landmarks" not in rows[0]
    assert main(["video", str(clip), "--csv", "--every", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("frame,timestamp_ms,face,azimuth_deg") and [x.split(",")[0] for x in lines[1:]] == [
        "0", "4", "8"]  # fmt: skip
    assert main(["video", str(clip), "--every", "6", "--no-smoothing"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert len(text) == 2 and "azimuth" in text[0] and " s:" in text[0]


def test_csv_says_which_frames_hold_the_last_face(tmp_path, capsys):
    face = cv2.resize(cv2.imread(str(EXAMPLE)), (320, 320), interpolation=cv2.INTER_AREA)
    clip = _write_clip(tmp_path / "gone.avi", [face] * 3 + [np.zeros_like(face)] * 3)
    assert main(["video", str(clip), "--csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["face"], r["held"]) for r in rows] == [("True", "False")] * 3 + [("True", "True")] * 3
    assert main(["video", str(clip), "--csv", "--no-smoothing"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["face"], r["held"]) for r in rows] == [("True", "False")] * 3 + [("False", "False")] * 3


def test_cli_no_face_and_usage_errors(tmp_path, capsys):
    blank = _write_clip(tmp_path / "blank.avi", [np.full((240, 320, 3), 128, np.uint8)] * 3)
    assert main(["video", str(blank)]) == 1
    assert capsys.readouterr().out.count("no face") == 3
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for argv, message in (
        (["video", str(text)], "is not a video OpenCV can open"),
        (["video", str(tmp_path / "missing.mp4")], "does not exist"),
        (["video", str(blank), "--every", "0"], "--every must be at least 1"),
        (["video", str(blank), "--full"], "--full goes with --json"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_closed_pipe_ends_the_command_quietly(clip):
    """``lightest video ... | head -1``: the reader goes away; no traceback, no "Broken pipe" message."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lightest.cli", "video", str(clip), "--json", "--full"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # each --full row is ~26 KB: 12 of them overflow the pipe's buffer
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert json.loads(first)["frame"] == 0
    assert err == "", err


def test_no_smoothing_is_each_frames_own_answer(tmp_path, capsys):
    """--no-smoothing: no filter and no hold: a frame without a face reads "no face" at once."""
    face = cv2.resize(cv2.imread(str(EXAMPLE)), (320, 240), interpolation=cv2.INTER_AREA)
    blank = np.zeros_like(face)
    clip = _write_clip(tmp_path / "gap.avi", [face, face, blank, face])
    assert main(["video", str(clip), "--json", "--no-smoothing"]) == 0
    assert [json.loads(line)["face"] for line in capsys.readouterr().out.splitlines()] == [True, True, False, True]
    assert main(["video", str(clip), "--json"]) == 0  # filtered: the gap of one frame is held over, and says so
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["face"] for r in rows] == [True, True, True, True]
    assert [r["held"] for r in rows] == [False, False, True, False]
    assert rows[2]["direction"] == rows[1]["direction"]
    assert main(["video", str(clip)]) == 0
    assert "held: no face in this frame" in capsys.readouterr().out.splitlines()[2]


def test_a_cut_off_file_is_reported_without_ffmpeg_noise(tmp_path):
    face = cv2.resize(cv2.imread(str(EXAMPLE)), (320, 320), interpolation=cv2.INTER_AREA)
    whole = _write_clip(tmp_path / "whole.avi", [face] * 30)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    for path, every, warned in ((cut, 1, True), (cut, 4, True), (whole, 7, False)):
        proc = subprocess.run([sys.executable, "-m", "lightest.cli", "video", str(path), "--every", str(every)],
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert proc.returncode == 0 and proc.stdout.count("azimuth") >= 2
        assert proc.stderr == "" if not warned else (
            proc.stderr.startswith(f"lightest: warning: {path} ended before frame ") and
            proc.stderr.endswith("its header declares 30 frames (cut short?)\n") and proc.stderr.count("\n") == 1
        )  # fmt: skip
