"""The fixed train / val / test split of ``natural`` renders, from each image's own labels (no random draw).

Held out for testing: every image lit by one whole HDRI (:data:`SPLIT`'s ``test_hdri``), and for each of the
other seven HDRIs one 45 deg sector of its rotation about the vertical. Validation (early stopping, model
choice) takes a second sector per HDRI, opposite the test one. So no test image shares its environment
*and* its orientation with a training or validation image, and one environment is never seen at all.

Identities: the natural preset draws 100 fresh standard-normal ICT identity weights per image, so no two ICT
images show the same person; Lee Perry-Smith (``head == "lps"``), the one repeated identity (and in
product-v5's training set), is kept out of test and validation and only trained on. The split therefore
holds out identities and environments at once, as issue 14's evaluation asks.

The rule is a table plus :func:`natural_part`: the same manifest row always lands in the same part,
whatever else has been rendered, so the split grows with the renders and never moves an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class NaturalSplit:
    """Which HDRI is never trained on, and per other HDRI which rotation sector is test / validation."""

    test_hdri: str
    sector_deg: float
    #: HDRI -> (test sector, val sector); sector k covers rotations [k * sector_deg, (k + 1) * sector_deg)
    sectors: dict[str, tuple[int, int]]
    train_only_heads: tuple[str, ...]


#: The split every natural-light evaluation and training run uses. Sectors are staggered so that the
#: held-out orientations differ between HDRIs; val is always 180 deg from test.
SPLIT = NaturalSplit(
    test_hdri="courtyard",
    sector_deg=45.0,
    sectors={
        "city": (0, 4),
        "forest": (1, 5),
        "interior": (2, 6),
        "night": (3, 7),
        "studio": (4, 0),
        "sunrise": (5, 1),
        "sunset": (6, 2),
    },
    train_only_heads=("lps",),
)


def natural_part(row: dict[str, Any], split: NaturalSplit = SPLIT) -> str | None:
    """``"train"``, ``"val"`` or ``"test"`` for one ``natural`` manifest row; None for an image in no part
    (Lee Perry-Smith under a held-out environment: neither unseen nor allowed in training)."""
    hdri = row.get("hdri")
    if hdri is None or "hdri_rotation_deg" not in row:
        raise ValueError(f"image {row.get('image')!r} has no hdri / hdri_rotation_deg label (not a natural render)")
    if hdri == split.test_hdri:
        part = "test"
    else:
        if hdri not in split.sectors:
            raise ValueError(f"HDRI {hdri!r} is not in the natural split table")
        sector = int(float(row["hdri_rotation_deg"]) % 360.0 // split.sector_deg)
        test, val = split.sectors[hdri]
        part = "test" if sector == test else "val" if sector == val else "train"
    if row.get("head") in split.train_only_heads:
        return "train" if part == "train" else None
    return part


def natural_parts(rows: list[dict[str, Any]], split: NaturalSplit = SPLIT) -> np.ndarray:
    """:func:`natural_part` of each row, as an array of strings (``""`` for rows in no part)."""
    return np.array([natural_part(r, split) or "" for r in rows])
