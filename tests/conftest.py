"""Shared fixtures: paths to ../shared (skipped with a reason when absent) and the shipped example face."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
YALEB = SHARED / "data" / "yaleb"
EXAMPLE = REPO / "examples" / "lee_perry_smith.png"


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


def need_bpy_and_assets() -> None:
    """Skip (with the reason) unless bpy imports and ../shared/assets/heads is there: what rendering needs."""
    from blender_gen.paths import DEFAULT_SHARED, SharedAssetsMissingError, resolve_assets

    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy is not importable (install the 'blender' extra)")
    try:
        resolve_assets(None)
    except SharedAssetsMissingError as e:
        pytest.skip(f"../shared/assets/heads not found: {DEFAULT_SHARED} ({str(e).splitlines()[0]})")
