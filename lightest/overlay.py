"""Draw an estimate onto the photo: light-points, an arrow toward the light, a sphere lit by the estimate."""

from __future__ import annotations

import cv2
import numpy as np

from lightest.image_io import to_bgr
from lightest.result import LightEstimate

__all__ = ["draw_overlay", "shaded_sphere"]

_POINT = (0, 255, 255)
_ARROW = (0, 200, 255)
_TEXT = (255, 255, 255)


def shaded_sphere(estimate: LightEstimate, diameter: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey Lambertian sphere lit by ``estimate`` (BGR uint8) and its disc mask."""
    r = (diameter - 1) / 2.0
    yy, xx = np.mgrid[0:diameter, 0:diameter].astype(np.float64)
    x, y = (xx - r) / r, -(yy - r) / r  # camera frame: +y up
    mask = x * x + y * y <= 1.0
    z = np.sqrt(np.clip(1.0 - x * x - y * y, 0.0, 1.0))
    ambient = 0.15 if estimate.ambient is None else float(estimate.ambient)
    lambert = np.clip(np.stack([x, y, z], axis=-1) @ np.asarray(estimate.direction), 0.0, 1.0)
    shade = ambient + (1.0 - ambient) * lambert
    color = np.ones(3) if estimate.color is None else np.asarray(estimate.color)[::-1]  # RGB -> BGR
    srgb = np.clip(shade, 0.0, 1.0) ** (1 / 2.2)
    img = (srgb[..., None] * color * 235).astype(np.uint8)
    img[~mask] = 0
    return img, mask


def draw_overlay(image: np.ndarray, estimate: LightEstimate) -> np.ndarray:
    """A BGR copy of ``image`` annotated with the estimate (for the CLI's ``--overlay``)."""
    out = to_bgr(image).copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(h, w) / 480.0)
    for u, v in np.rint(estimate.light_points).astype(int):
        cv2.circle(out, (int(u), int(v)), max(1, round(1.5 * scale)), _POINT, -1, cv2.LINE_AA)
    x, y, bw, bh = estimate.face_box
    centre = np.array([x + bw / 2.0, y + bh / 2.0])
    d = np.asarray(estimate.direction)
    tip = centre + np.array([d[0], -d[1]]) * 0.6 * max(bw, bh)  # image v points down
    cv2.arrowedLine(
        out,
        tuple(np.rint(centre).astype(int)),
        tuple(np.rint(tip).astype(int)),
        _ARROW,
        max(2, round(2 * scale)),
        cv2.LINE_AA,
        tipLength=0.15,
    )
    size = int(min(h, w) * 0.22)
    sphere, mask = shaded_sphere(estimate, size)
    pad = int(8 * scale)
    region = out[pad : pad + size, w - pad - size : w - pad]
    region[mask] = sphere[mask]
    label = f"az {estimate.azimuth_deg:+.0f}  el {estimate.elevation_deg:+.0f}  conf {estimate.confidence:.2f}"
    org = (pad, h - pad)
    cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), int(3 * scale), cv2.LINE_AA)
    cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, _TEXT, max(1, int(scale)), cv2.LINE_AA)
    return out
