"""Fixtures for ``pytest mobile_bench``: test frames, estimators, the shipped model variants, the seed model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from lightest.model_card import card_path_for
from mobile_bench.stages import EXAMPLE, frame

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "lightest" / "models"
SEED_RUN = Path(os.environ.get("LIGHTEST_SEED_RUN", REPO / "runs" / "seed-parallel"))
SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    cv2.setNumThreads(1)


@pytest.fixture(scope="session", params=list(SIZES))
def frame_bgr(request) -> np.ndarray:
    return frame(EXAMPLE, SIZES[request.param])


def model_variant(variant: str) -> Path:
    """The regressor inside the shipped light head (its card's ``regressor`` name), in ``variant``."""
    default = MODELS / "lighthead.tflite"
    if not default.is_file():
        pytest.skip(f"no light head in {MODELS} (python -m export lighthead REGRESSOR.tflite --install)")
    regressor = json.loads(card_path_for(default).read_text())["regressor"]["name"]
    family = regressor.rsplit("-", 1)[0]
    path = MODELS / f"{family}-{variant}.tflite"
    if not path.is_file():
        pytest.skip(f"no {family}-{variant} model in {MODELS}")
    return path
