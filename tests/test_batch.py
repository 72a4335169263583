"""``lightest batch`` through the real command: 2 workers killed with -9 halfway, rerun, exactly one row per
image with the same values as a 1-worker run; torn last lines repaired; clear one-line errors."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobile_bench.batch import NOT_IMAGES, kill_halfway, make_images, read_rows
from tests.conftest import REPO

N_FILES = 120  # 2 of them not images; about 1 in 20 of the rest has no face


def _batch(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lightest.cli", "batch", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "images"
    make_images(path, N_FILES, size=(320, 240))
    (path / "sub").mkdir()
    make_images(path / "sub", 3, seed=5, size=(320, 240))  # only read with -r
    return path


@pytest.fixture(scope="module")
def reference(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The 1-worker run, keyed by image."""
    out = tmp_path_factory.mktemp("ref") / "one.jsonl"
    proc = _batch(str(folder), "--out", str(out), "--workers", "1")
    assert proc.returncode == 1, proc.stderr  # the blurred and non-image files have no face
    summary = json.loads(proc.stdout)
    rows = read_rows(out)
    assert len(rows) == summary["written"] == summary["images"] == N_FILES
    assert summary["errors"] == len(NOT_IMAGES) and 0 < summary["no_face"] < N_FILES // 10
    assert proc.stderr == "", "no progress bar when stderr is not a terminal"
    return {row["image"]: row for row in rows}


def test_reference_rows_name_faces_no_faces_and_errors(reference: dict[str, dict], folder: Path):
    assert set(reference) == {str(p.resolve()) for p in folder.iterdir() if p.is_file()}
    face = reference[str(folder / "face_00000.jpg")]
    assert face["face"] is True and len(face["sh"]) == 9 and len(face["direction"]) == 3
    assert len(json.dumps(face)) <= 2048, "compact rows, no landmarks"
    made_with = "method=auto landmarks=mediapipe model=bundled"
    assert reference[str(folder / "face_00007.jpg")] == {"image": str(folder / "face_00007.jpg"), "face": False,
                                                         "made_with": made_with}  # fmt: skip
    bad = reference[str(folder / "notes.jpg")]
    assert bad["face"] is False and "not an image" in bad["error"]


def test_kill_9_halfway_then_rerun_gives_each_image_once(folder: Path, reference: dict[str, dict], tmp_path: Path):
    out = tmp_path / "results.jsonl"
    total = len(reference)
    at_kill = kill_halfway(folder, out, workers=2, rows_at_kill=total // 2)
    rows = read_rows(out)  # every line is whole JSON after a kill -9
    assert total // 2 <= len(rows) == at_kill < total
    assert len({r["image"] for r in rows}) == len(rows)
    with open(out, "ab") as f:  # a torn last line, as a power cut mid-write would leave
        f.write(json.dumps(reference[str(folder / "face_00001.jpg")]).encode()[:57])

    proc = _batch(str(folder), "--out", str(out), "--workers", "2")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["already_done"] == len(rows) and summary["written"] == total - len(rows)
    assert summary["repaired_bytes"] == 57
    final = read_rows(out)
    assert len(final) == total
    assert sorted(r["image"] for r in final) == sorted(reference)
    assert {r["image"]: r for r in final} == reference, "2 workers, killed and resumed, differ from 1 worker"

    again = _batch(str(folder), "--out", str(out), "--workers", "2")
    assert json.loads(again.stdout)["written"] == 0 and read_rows(out) == final


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_the_workers_and_keeps_the_rows(folder: Path, tmp_path: Path, workers: str):
    """``kill`` (SIGTERM) ends a batch as Ctrl-C does: one line on stderr, exit 143, whole rows, no error row
    for the image that was being estimated (with one worker that runs in this process)."""
    import signal
    import time

    out = tmp_path / "t.jsonl"
    command = [sys.executable, "-m", "lightest.cli", "batch", str(folder), "--out", str(out), "--workers", workers]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_bytes().count(b"\n") < 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err == f"lightest: terminated; the rows in {out} are kept, rerun to go on\n"
    rows = read_rows(out)
    assert 5 <= len(rows) < N_FILES and len({r["image"] for r in rows}) == len(rows)
    assert not any("Terminated" in str(r.get("error")) for r in rows)


def test_rows_key_absolute_paths_and_recursive_adds_subfolders(folder: Path, reference: dict, tmp_path: Path):
    out = tmp_path / "r.jsonl"
    one = "images/face_00000.jpg"
    assert _batch(one, "--out", str(out), cwd=folder.parent).returncode == 0
    assert json.loads(_batch(str(folder / "face_00000.jpg"), "--out", str(out)).stdout)["written"] == 0
    proc = _batch(str(folder), "-r", "--out", str(out), "--workers", "2")
    rows = read_rows(out)
    assert json.loads(proc.stdout)["images"] == len(rows) == len(reference) + 3  # sub/: 1 face + 2 non-images
    assert {r["image"]: r for r in rows if "/sub/" not in r["image"]} == reference


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_text("image,face\nx.jpg,true\n"), "line 1 is not a lightest batch row"),
        (lambda p: p.write_text('{"image": "a.jpg", "face": false, "made_with": "x"}\n[1, 2]\n'), "line 2 is not"),
        (lambda p: p.write_text('{"image": "a.jpg", "face": false}\n'), "line 1 does not say what made it"),
        (None, "/dev/null is not a regular file"),  # a device never holds the rows (/dev/zero never ends)
    ],
)
def test_unusable_output_is_a_one_line_error(folder: Path, tmp_path: Path, make, message: str):
    out = tmp_path / "out.jsonl" if make is not None else Path("/dev/null")
    if make is not None:
        make(out)
    proc = _batch(str(folder / "face_00000.jpg"), "--out", str(out))
    assert proc.returncode == 2 and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content", [
    b"line 1\nline 2\nimportant last line without newline",  # notes whose last line has no newline
    b"no newline at all",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # a photo given as --out by mistake
])  # fmt: skip
def test_a_file_that_is_not_batch_output_is_left_untouched(folder: Path, tmp_path: Path, content: bytes):
    out = tmp_path / "precious.txt"
    out.write_bytes(content)
    proc = _batch(str(folder / "face_00000.jpg"), "--out", str(out))
    assert proc.returncode == 2 and "is not a lightest batch row" in proc.stderr
    assert out.read_bytes() == content


def test_a_rerun_with_other_options_is_refused(folder: Path, reference: dict[str, dict], tmp_path: Path):
    """Rows say what made them; a rerun with another backend or model would mix two kinds in one file."""
    out = tmp_path / "mixed.jsonl"
    assert _batch(str(folder / "face_00000.jpg"), "--out", str(out)).returncode == 0
    before = out.read_bytes()
    proc = _batch(str(folder), "--out", str(out), "--method", "physics")
    assert proc.returncode == 2 and "holds rows made with method=auto landmarks=mediapipe model=bundled" in proc.stderr
    assert proc.stderr.count("\n") == 1 and out.read_bytes() == before


def test_a_second_writer_is_refused(folder: Path, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    with open(out, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = _batch(str(folder / "face_00000.jpg"), "--out", str(out))
    assert proc.returncode == 2 and "another lightest batch is writing" in proc.stderr
    assert out.read_text() == ""


def test_bad_workers_and_missing_ray_are_one_line_errors(folder: Path, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    proc = _batch(str(folder), "--out", str(out), "--workers", "0")
    assert proc.returncode == 2 and "--workers must be at least 1" in proc.stderr
    no_ray = "import sys; sys.modules['ray'] = None; from lightest.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", no_ray, "batch", str(folder), "--out", str(out), "--ray"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 2 and "pip install 'lightest[cluster]'" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_the_runtime_imports_no_ray():
    code = "import sys, lightest, lightest.cli, lightest.batch, lightest.cluster; print('ray' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_progress_goes_to_a_terminal(folder: Path, tmp_path: Path):
    import pty

    main, child = pty.openpty()
    images = [str(folder / f"face_{i:05d}.jpg") for i in range(3)]
    proc = subprocess.run([sys.executable, "-m", "lightest.cli", "batch", *images, "--out", str(tmp_path / "o.jsonl")],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=child, timeout=120, check=False)  # fmt: skip
    os.close(child)
    shown = os.read(main, 4096).decode()
    os.close(main)
    assert proc.returncode == 0 and "[3/3]" in shown and "images/s" in shown
