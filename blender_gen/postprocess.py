"""Camera effects applied to the saved image after rendering: sensor noise and JPEG compression."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np


def finish_image(rendered_png: Path, out_path: Path, noise_sigma: float, jpeg_quality: int | None,
                 seed: int) -> None:
    """Read the Cycles PNG, add seeded Gaussian noise (8-bit levels), write PNG or JPEG to ``out_path``."""
    img = cv2.imread(str(rendered_png), cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"Cycles wrote no readable image at {rendered_png}")
    if noise_sigma > 0:
        rng = np.random.default_rng(seed)
        noisy = img.astype(np.float32) + rng.normal(0.0, noise_sigma, img.shape).astype(np.float32)
        img = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if jpeg_quality is None:
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    else:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:
        raise RuntimeError(f"could not encode {out_path}")
    with open(out_path, "wb") as f:
        f.write(buf.tobytes())
        f.flush()
        os.fsync(f.fileno())
