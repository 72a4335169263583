"""Shared fixtures: paths to ../shared (skipped with a reason when absent) and the shipped example face."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
YALEB = SHARED / "data" / "yaleb"
EXAMPLE = REPO / "examples" / "lee_perry_smith.png"
_YALEB_NAME = re.compile(r"_P00A([+-]\d{3})E([+-]\d{2})\.pgm$")


def yaleb_images(subject: str) -> list[tuple[Path, float, float]]:
    """(path, azimuth, elevation) of one Yale B subject's 64 lit frontal images (dataset convention)."""
    folder = YALEB / subject
    if not folder.is_dir():
        pytest.skip(f"Yale B not found at {folder} (needs ../shared/data/yaleb beside the repo)")
    out = []
    for p in sorted(folder.glob("*.pgm")):
        m = _YALEB_NAME.search(p.name)
        if m:
            out.append((p, float(m[1]), float(m[2])))
    return out


@pytest.fixture(scope="session")
def example_image() -> np.ndarray:
    from lightest.image_io import load_image

    if not EXAMPLE.is_file():
        pytest.fail(f"the shipped example face is missing: {EXAMPLE}")
    return load_image(EXAMPLE)


@pytest.fixture(scope="session")
def physics_estimator():
    from lightest import Estimator

    with Estimator(method="physics") as est:
        yield est
