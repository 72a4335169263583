"""The benchmark suite still executes (each benchmark once, timings off); the real runs are ``pytest mobile_bench``."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_mobile_bench_suite_runs():
    pytest.importorskip("pytest_benchmark", reason="the bench extra (pytest-benchmark) is not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "mobile_bench", "-q", "-p", "no:cacheprovider", "--benchmark-disable"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout


def test_report_checks_compare_measured_numbers():
    from mobile_bench.report import checks

    stats = {
        "test_light_head[640x480]": {"median_ms": 0.05},
        "test_end_to_end[640x480-image-model]": {"median_ms": 6.0},
        "test_regressor_invoke[int8]": {"median_ms": 0.002},
        "test_seed_keras_predict": {"median_ms": 40.0},
    }
    verdicts = dict(checks(stats))
    assert verdicts["light head <= 0.1 ms (640x480, hot loop)"] == "PASS: 0.0500 ms"
    assert "20,000x" in verdicts["seed Keras predict / our int8 invoke"]
    stats["test_light_head[640x480]"]["median_ms"] = 0.3
    assert dict(checks(stats))["light head <= 0.1 ms (640x480, hot loop)"].startswith("FAIL")


def test_compare_verdicts_are_same_mode_ratios():
    from mobile_bench.compare import verdicts

    stats = {
        "estimate[video]": {"median_ms": 2.0},
        "facemesh[video]": {"median_ms": 2.5},
        "estimate[image]": {"median_ms": 4.4},
        "facemesh[image]": {"median_ms": 4.0},
        "light_head_graph[image]": {"median_ms": 0.05},
        "no_face[image]": {"median_ms": 5.0},
    }
    v = dict(verdicts(stats))
    assert v["video end to end <= 1.0x bare FaceMesh video"] == "PASS: 2.000 / 2.500 ms = 0.80x"
    assert v["image end to end <= 1.0x bare FaceMesh image"].startswith("FAIL: 4.400 / 4.000 ms = 1.10x")
    assert v["light-head graph <= 0.1 ms per face, in the pipeline"] == "PASS: 0.0500 ms"
    assert v["no-face frame <= 1.5x face frame (image mode)"] == "PASS: 5.000 / 4.400 ms = 1.14x"
    del stats["facemesh[image]"]
    assert "image end to end <= 1.0x bare FaceMesh image" not in dict(verdicts(stats))


def test_video_jitter_is_measured_and_the_filter_lowers_it(example_image):
    from lightest import SmoothingOptions
    from mobile_bench.video import jitter, shaken

    stream = shaken(example_image, 20, seed=0)
    filtered, raw = jitter(stream, 30.0, SmoothingOptions()), jitter(stream, 30.0, SmoothingOptions(enabled=False))
    assert 0 <= filtered < raw


def test_lighthead_ab_prints_a_row_per_graph(tmp_path, capsys):
    """Two graphs side by side (the shipped one and a copy): a row each, ratios to the first (1.00 for itself)."""
    from lightest.estimator import default_model_path
    from mobile_bench.lighthead_ab import main

    shipped = default_model_path()
    assert shipped is not None
    copy = tmp_path / "copy.tflite"
    copy.write_bytes(shipped.read_bytes())
    assert main([str(shipped), str(copy), "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(str(shipped)) or line.startswith(str(copy))]
    assert len(rows) == 2 and rows[0].split()[3] == "1.00"


def test_live_stream_benchmark_accounts_for_every_frame(tmp_path, capsys):
    """A short paced run: every frame handed over is delivered or dropped, and the figures are written."""
    import json

    from mobile_bench.live import main

    out_json = tmp_path / "live.json"
    assert main(["--seconds", "0.3", "--fps", "30", "--json", str(out_json)]) == 0
    run = json.loads(out_json.read_text())["runs"][0]
    assert run["frames"] == 9 and run["delivered"] + run["dropped"] == 9 and run["with_face"] == run["delivered"]
    assert run["latency_ms"]["median"] > 0 and run["estimate_async_ms"]["median"] > 0
    assert "latency ms" in capsys.readouterr().out
