import csv
import json
import subprocess
import sys
from pathlib import Path

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


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lightest.cli", *args], capture_output=True, text=True, check=False)


def test_version_and_documented_exit_codes():
    from lightest import __version__

    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"lightest {__version__}"
    assert "exit status: 0 all images estimated, 1 some image" in _run("estimate", "--help").stdout


def test_json_is_compact_by_default_and_full_on_request(capsys):
    assert main(["estimate", str(EXAMPLE), "--json"]) == 0
    line = capsys.readouterr().out.strip()
    record = json.loads(line)
    assert len(line.encode()) <= 2048 and "landmarks" not in record
    assert {"direction", "azimuth_deg", "elevation_deg", "ambient", "sh", "confidence", "face_box"} <= set(record)
    assert main(["estimate", str(EXAMPLE), "--json", "--full"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert len(full["landmarks"]) == 468 and len(full["light_points"]) == 340
    assert main(["estimate", str(EXAMPLE), "--full"]) == 2
    assert "--full goes with --json" in capsys.readouterr().err


def test_csv_has_a_header_and_a_row_per_image(capsys, tmp_path):
    import csv as csv_module

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    assert main(["estimate", str(EXAMPLE), str(blank), "--csv"]) == 1  # one image without a face
    rows = list(csv_module.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["face"] for r in rows] == ["True", "False"]
    assert float(rows[0]["azimuth_deg"]) == pytest.approx(-55, abs=15) and rows[1]["azimuth_deg"] == ""


def test_directories_globs_and_recursion(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "b.jpg", "sub/c.png"):
        cv2.imwrite(str(tmp_path / name), cv2.imread(str(EXAMPLE)))
    (tmp_path / "notes.txt").write_text("not an image")
    assert main(["estimate", str(tmp_path), "--csv"]) == 0
    assert [r.split(",")[0].rsplit("/", 1)[-1] for r in capsys.readouterr().out.splitlines()[1:]] == ["a.png", "b.jpg"]
    assert main(["estimate", str(tmp_path), "-r", "--csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert main(["estimate", str(tmp_path / "*.png"), "--csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["estimate", str(tmp_path / "*.gif")]) == 2
    assert "no files match" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["estimate", str(tmp_path / "empty")]) == 2
    assert "no images found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overlay", "several", "message"),
    [("out.xyz", False, "unknown image type .xyz"), ("noext", False, "unknown image type (none)"),
     ("result.png", True, "is one file, but there are 2 images")],
)  # fmt: skip
def test_bad_overlay_paths_fail_before_any_work(capsys, tmp_path, overlay, several, message):
    images = [str(EXAMPLE)] * (2 if several else 1)
    assert main(["estimate", *images, "--overlay", str(tmp_path / overlay)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == "" and "Traceback" not in captured.err
    assert not (tmp_path / overlay).exists()


def test_overlay_into_an_unwritable_place_is_refused_up_front(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    assert main(["estimate", str(EXAMPLE), "--overlay", str(blocker / "out.png")]) == 2
    captured = capsys.readouterr()
    assert "cannot create" in captured.err and captured.out == ""


def test_one_image_with_a_directory_as_overlay_writes_into_it(capsys, tmp_path):
    assert main(["estimate", str(EXAMPLE), "--overlay", str(tmp_path)]) == 0
    assert (tmp_path / f"{EXAMPLE.stem}_overlay.png").is_file()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_only_on_a_terminal(terminal):
    import os
    import pty
    import select

    main_fd, child_fd = pty.openpty()
    stderr = child_fd if terminal else subprocess.PIPE
    proc = subprocess.run([sys.executable, "-m", "lightest.cli", "estimate", str(EXAMPLE), str(EXAMPLE)],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=120, check=False)  # fmt: skip
    os.close(child_fd)
    readable = select.select([main_fd], [], [], 5)[0]  # (a plain read would block if nothing was written)
    shown = (os.read(main_fd, 4096).decode() if readable else "") if terminal else proc.stderr.decode()
    os.close(main_fd)
    assert proc.returncode == 0 and len(proc.stdout.decode().splitlines()) == 2
    assert ("[2/2]" in shown) is terminal


def test_progress_is_cleared_before_each_result_on_a_shared_terminal():
    """stdout and stderr on one terminal: every result line starts clean, not after a progress line."""
    import os
    import pty

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lightest.cli", "estimate", str(EXAMPLE), str(EXAMPLE),
                             "--method", "physics"], stdout=child_fd, stderr=child_fd)  # fmt: skip
    os.close(child_fd)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    assert proc.wait(timeout=120) == 0
    text = shown.decode().replace("\r\n", "\n")  # the terminal turns each newline into CR LF
    lines = [line.split("\r")[-1] for line in text.split("\n") if "azimuth" in line]
    assert len(lines) == 2 and all(line.startswith(str(EXAMPLE)) for line in lines), shown


def test_overlays_of_same_named_images_do_not_overwrite_each_other(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    for where in (tmp_path / "a.png", tmp_path / "sub" / "a.png"):
        where.write_bytes(EXAMPLE.read_bytes())
    out = tmp_path / "ov"
    assert main(["estimate", str(tmp_path), "-r", "--overlay", str(out), "--method", "physics"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_2_overlay.png", "a_overlay.png"]


def test_an_overlay_never_replaces_an_input_and_a_slash_means_a_directory(capsys, tmp_path):
    image = tmp_path / "face.png"
    image.write_bytes(EXAMPLE.read_bytes())
    assert main(["estimate", str(image), "--overlay", str(image)]) == 2
    assert "one of the input images" in capsys.readouterr().err
    assert image.read_bytes() == EXAMPLE.read_bytes()
    assert main(["estimate", str(image), "--overlay", str(tmp_path / "new") + "/", "--method", "physics"]) == 0
    assert (tmp_path / "new" / "face_overlay.png").is_file()


def test_json_and_csv_have_a_row_for_an_unreadable_image(capsys, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    assert main(["estimate", str(bad), str(EXAMPLE), "--json", "--method", "physics"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["image"] == str(bad) and rows[0]["face"] is False and "not an image" in rows[0]["error"]
    assert rows[1]["face"] is True and "error" not in rows[1]
    assert main(["estimate", str(bad), str(EXAMPLE), "--csv", "--method", "physics"]) == 1
    table = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert table[0][-1] == "error" and "not an image" in table[1][-1] and table[2][-1] == ""
    assert all(len(row) == len(table[0]) for row in table)


def _two_faces(tmp_path):
    """The example face and, on the right, its mirror image at 3/4 size (light from the other side)."""
    face = cv2.imread(str(EXAMPLE))
    small = cv2.resize(cv2.flip(face, 1), None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    canvas = np.full((face.shape[0], face.shape[1] + small.shape[1], 3), 60, np.uint8)
    canvas[:, : face.shape[1]] = face
    canvas[: small.shape[0], face.shape[1] :] = small
    path = tmp_path / "two faces.png"
    cv2.imwrite(str(path), canvas)
    return path


def test_max_faces_gives_a_row_per_face_largest_first(capsys, tmp_path):
    two, blank = _two_faces(tmp_path), tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    assert main(["estimate", str(two), "--max-faces", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["face_index"] for r in rows] == [0, 1]
    assert rows[0]["face_box"][2] > 1.2 * rows[1]["face_box"][2]  # the larger face first, wherever it is
    assert [np.sign(r["direction"][0]) for r in rows] == [-1, 1]  # the mirror's light is on the other side
    assert main(["estimate", str(two), str(blank), "--max-faces", "3", "--csv"]) == 1
    table = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["face"], r["face_index"]) for r in table] == [("True", "0"), ("True", "1"), ("False", "")]
    assert main(["estimate", str(two), "--max-faces", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"{two} face 0", f"{two} face 1"]
    assert main(["estimate", str(two), "--json"]) == 0  # default: one face, no face_index
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "face_index" not in row


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-faces", "0"], "--max-faces must be at least 1"),
        (["--max-faces", "2", "--overlay", "o.png"], "--overlay draws one face"),
    ],
)
def test_max_faces_usage_errors(capsys, tmp_path, extra, message):
    assert main(["estimate", str(EXAMPLE), *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_empty_name_and_a_closed_stdout_are_usage_errors(capsys):
    for argv in (["estimate", ""], ["video", ""], ["batch", "", "--out", "x.jsonl"]):
        assert main(argv) == 2
        assert "an empty name was given" in capsys.readouterr().err  # not the current directory, read whole
    command = f"{sys.executable} -m lightest.cli estimate {EXAMPLE} >&-"
    proc = subprocess.run(command, shell=True, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "lightest: error: stdout is closed; redirect it to a file or a pipe\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system (Linux has one)")
def test_a_full_disk_under_stdout_is_named():
    """`lightest ... > /dev/full`: one line naming stdout (as grep's "write error"), exit 2, no traceback."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "lightest.cli", "estimate", str(EXAMPLE)], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "lightest: error: cannot write the results to stdout: No space left on device\n"
