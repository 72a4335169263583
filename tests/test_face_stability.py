"""Why ``robust`` detection comes first: on Yale B the same head is photographed under 64 lights without
moving, so its landmarks should not move either; the robust ones move much less than MediaPipe's."""

from __future__ import annotations

import numpy as np
import pytest

from lightest.face import FaceMeshLandmarker
from tests.conftest import YALEB

SUBJECTS = ["yaleB02", "yaleB07", "yaleB12", "yaleB18", "yaleB23", "yaleB28"]


def _meshes(landmarker: FaceMeshLandmarker, items: list) -> dict[str, dict[str, np.ndarray]]:
    from lightest.image_io import load_image

    out: dict[str, dict[str, np.ndarray]] = {}
    for item in items:
        faces = landmarker.detect(load_image(item.path))
        if faces:
            out.setdefault(item.path.parent.name, {})[item.path.name] = faces[0].points[:, :2]
    return out


def _spread(meshes: dict[str, np.ndarray], names: list[str]) -> float:
    """Mean distance of each landmark from its median position over ``names`` (one subject's lights)."""
    stack = np.stack([meshes[n] for n in names])
    return float(np.linalg.norm(stack - np.median(stack, axis=0), axis=2).mean())


def test_robust_landmarks_stay_put_when_only_the_light_moves():
    if not YALEB.is_dir():
        pytest.skip(f"Yale B not found at {YALEB} (../shared is absent)")
    from training.yaleb import list_images

    items = list_images(YALEB, subjects=SUBJECTS)[::4]  # 16 lights from every side per subject
    robust = _meshes(FaceMeshLandmarker(), items)
    plain = _meshes(FaceMeshLandmarker(robust=False), items)  # = solutions.face_mesh
    assert sum(map(len, robust.values())) >= 0.95 * len(items) > 1.5 * sum(map(len, plain.values()))
    pairs = []
    for subject, found in plain.items():
        common = [n for n in found if n in robust.get(subject, {})]
        if len(common) >= 3:
            pairs.append((_spread(robust[subject], common), _spread(found, common)))
    spread_robust, spread_plain = np.mean(pairs, axis=0)
    assert len(pairs) >= 5
    assert spread_robust < 0.6 * spread_plain  # measured: 2.5 vs 6.4 px on these faces
