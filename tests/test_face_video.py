"""lightest.face in video mode when the face leaves, and the runtime's hygiene (no mediapipe, silent)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from lightest.face import FaceMeshLandmarker
from tests.conftest import EXAMPLE, REPO


def test_tracking_is_dropped_when_the_face_leaves_and_detection_resumes(example_image):
    landmarker = FaceMeshLandmarker(video=True)
    assert landmarker.detect(example_image)[0].detection_score is not None
    assert landmarker.detect(example_image)[0].detection_score is None and landmarker.detector_runs == 1
    blank = np.zeros_like(example_image)
    assert landmarker.detect(blank) == []  # the tracked crop's mesh score drops: detectors run, find nothing
    runs = landmarker.detector_runs
    assert runs > 1
    assert landmarker.detect(blank) == [] and landmarker.detector_runs > runs  # nothing tracked: detect again
    back = landmarker.detect(example_image)
    assert len(back) == 1 and back[0].detection_score is not None


def test_runtime_imports_no_mediapipe_and_prints_nothing():
    code = (
        "import sys\n"
        "from lightest.image_io import load_image\n"
        "from lightest.face import FaceMeshLandmarker\n"
        f"faces = FaceMeshLandmarker(video=True).detect(load_image({str(EXAMPLE)!r}))\n"
        "assert len(faces) == 1\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('mediapipe', 'tensorflow')]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
