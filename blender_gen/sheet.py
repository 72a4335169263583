"""Contact sheet of a rendered dataset: a grid of evenly spaced images captioned with their light."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from blender_gen.heads_lps import CREDIT
from blender_gen.manifest import Manifest

CELL = 192


def contact_sheet(data_dir: Path, out: Path, n: int = 12, cols: int = 4, arrows: bool = True) -> Path:
    """Tile ``n`` evenly spaced manifest images; caption azimuth/elevation; credit the LPS scan."""
    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    rows = sorted(Manifest.existing(data_dir).rows(), key=lambda r: r["index"])
    if not rows:
        raise ValueError(f"{data_dir} has no finished images yet")
    picks = [rows[i] for i in np.linspace(0, len(rows) - 1, min(n, len(rows))).round().astype(int)]
    cells = []
    for r in picks:
        img = cv2.resize(cv2.imread(str(data_dir / r["image"]), cv2.IMREAD_COLOR), (CELL, CELL),
                         interpolation=cv2.INTER_AREA)
        d = r["light_dir_camera"]
        if arrows:  # image-plane projection of the light direction (x right, y up)
            c = CELL // 2
            cv2.arrowedLine(img, (c, c), (int(c + 70 * d[0]), int(c - 70 * d[1])), (0, 230, 255), 2,
                            cv2.LINE_AA, tipLength=0.2)
        text = f"#{r['index']} {r['head']} az {r['light_azimuth_deg']:.0f} el {r['light_elevation_deg']:.0f}"
        cv2.putText(img, text, (4, CELL - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        cells.append(img)
    while len(cells) % cols:
        cells.append(np.zeros_like(cells[0]))
    grid = np.vstack([np.hstack(cells[i:i + cols]) for i in range(0, len(cells), cols)])
    if any(r["head"] == "lps" for r in picks):
        bar = np.full((22, grid.shape[1], 3), 255, np.uint8)
        cv2.putText(bar, "LPS head: " + CREDIT, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1,
                    cv2.LINE_AA)
        grid = np.vstack([grid, bar])
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = cv2.imwrite(str(out), grid, [cv2.IMWRITE_JPEG_QUALITY, 85])
    except cv2.error:  # an extension OpenCV has no writer for
        written = False
    if not written:
        raise OSError(f"could not write {out} (use a .jpg or .png name in a writable folder)")
    return out
