"""Does lightest's face detector + mesh (MediaPipe's graphs on LiteRT, as the runtime and training run
them) find the face in rendered images? Detection rate overall and by light angle."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from blender_gen.manifest import Manifest

ANGLE_BINS_DEG = (0, 30, 60, 75, 90, 101)


def detection_report(data_dir: Path) -> dict[str, Any]:
    """Find the face in every image of a dataset's manifest; rates overall and per light-angle bin."""
    from lightest import Estimator

    rows = Manifest.existing(data_dir).rows()
    found, angles, heads = [], [], []
    with Estimator(method="physics") as est:
        for r in rows:
            img = cv2.imread(str(data_dir / r["image"]), cv2.IMREAD_COLOR)
            found.append(est.detect_landmarks(img) is not None)
            angles.append(r["light_angle_from_view_deg"])
            heads.append(r["head"])
    found_a, ang = np.array(found), np.array(angles)
    bins = []
    for lo, hi in itertools.pairwise(ANGLE_BINS_DEG):
        m = (ang >= lo) & (ang < hi)
        bins.append({"light_angle_deg": f"{lo}-{hi}", "n": int(m.sum()),
                     "rate": round(float(found_a[m].mean()), 4) if m.any() else None})
    per_head = {h: round(float(found_a[np.array(heads) == h].mean()), 4) for h in sorted(set(heads))}
    missed = [r["image"] for r, f in zip(rows, found, strict=True) if not f]
    return {"n": len(rows), "rate": round(float(found_a.mean()), 4) if rows else None, "by_light_angle": bins,
            "by_head": per_head, "missed": missed}
