"""One Estimator shared by threads, its lifecycle, and quiet operation."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from lightest import Estimator
from tests.conftest import EXAMPLE


def test_shared_estimator_is_safe_across_four_threads(example_image):
    with Estimator() as est:
        expected = est.estimate(example_image)
        assert expected is not None
        frames = [example_image, np.ascontiguousarray(example_image[:, ::-1])] * 10
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(est.estimate, frames))
    assert all(r is not None for r in results)
    # the same frame gives the same answer whichever thread asked
    np.testing.assert_allclose(results[0].direction, expected.direction, atol=1e-6)
    for r in results[2::2]:
        np.testing.assert_allclose(r.direction, results[0].direction, atol=1e-6)
    # the mirrored frame's light is mirrored
    assert np.sign(results[1].direction[0]) == -np.sign(results[0].direction[0])


def test_calls_after_close_raise_a_clear_error(example_image):
    est = Estimator()
    est.close()
    est.close()  # twice is fine
    for call in (est.estimate, est.estimate_all, est.detect_landmarks, est.observe):
        with pytest.raises(RuntimeError, match="closed"):
            call(example_image)


def test_import_construct_and_estimate_write_nothing_to_stderr():
    code = (
        "import cv2, lightest\n"
        f"est = lightest.Estimator()\nr = est.estimate(cv2.imread({str(EXAMPLE)!r}))\n"
        "assert r is not None\nest.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_cli_json_writes_nothing_to_stderr():
    proc = subprocess.run(
        [sys.executable, "-m", "lightest.cli", "estimate", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert '"face": true' in proc.stdout
