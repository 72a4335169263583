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
        "test_light_head[640x480]": {"median_ms": 0.15},
        "test_end_to_end[640x480-image-model]": {"median_ms": 6.0},
        "test_landmarks[640x480-image]": {"median_ms": 5.0},
        "test_regressor_invoke[int8]": {"median_ms": 0.002},
        "test_seed_keras_predict": {"median_ms": 40.0},
    }
    verdicts = dict(checks(stats))
    assert verdicts["light head <= 0.2 ms (640x480)"].startswith("PASS")
    assert verdicts["end-to-end <= 1.5x landmarks (640x480, image)"] == "PASS: 6.00 / 5.00 ms = 1.20x"
    assert "20,000x" in verdicts["seed Keras predict / our int8 invoke"]
    stats["test_light_head[640x480]"]["median_ms"] = 0.3
    assert dict(checks(stats))["light head <= 0.2 ms (640x480)"].startswith("FAIL")
