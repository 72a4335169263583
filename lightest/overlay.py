"""Draw a light estimate onto its photo, leaving the face readable.

A small panel (a sphere lit by the estimate with the light's position marked on it, a top-view azimuth
compass, an elevation gauge and a legend with units) goes in the corner farthest from the face; when no
corner is free of the face (tight crops, tiny images) the canvas is extended to the right or below and the
panel drawn there, so the photo's pixels keep their place. Light-points are off unless asked for.
:func:`draw_overlay` is a pure function of (image, estimate, options) and returns a new BGR image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from lightest.image_io import to_bgr
from lightest.result import LightEstimate

__all__ = ["OverlayLayout", "OverlayOptions", "draw_overlay", "legend_lines", "plan_layout", "shaded_sphere"]

# Colours (BGR).
_ACCENT = (40, 196, 255)  # the light: amber
_INK = (245, 245, 245)  # main text and outlines on the panel
_MUTED = (175, 175, 175)  # secondary text, rings and ticks
_DARK = (20, 20, 20)  # outline around bright marks
_CARD_ALPHA = 0.62  # darkening of the photo under the panel
_PAD_FILL = (38, 38, 38)  # canvas added around an image without room for the panel

# Panel geometry in design units (1 unit = 1 px for a 480 px image side, scaled with the image).
_UNIT_PER_SIDE = 1 / 480
_MIN_UNIT = 0.85  # below this the legend stops being legible: pad the canvas instead of shrinking
_PAD, _SPHERE, _GAP, _DIAL = 8.0, 84.0, 10.0, 38.0
_FONT, _FONT_SCALE, _LINE = cv2.FONT_HERSHEY_SIMPLEX, 0.42, 16.0
_MARGIN = 10.0  # from the image border and from the face box
_SHIFT = 4  # fractional bits for cv2 drawing at sub-pixel positions
_SUPERSAMPLE = 4


@dataclass(frozen=True)
class OverlayOptions:
    """What :func:`draw_overlay` draws.

    Attributes:
        points: draw the sampled light-points (small, translucent) on the face.
        point_alpha: opacity of the light-points, in (0, 1].
        face_box: mark the face box with thin corner brackets just outside it.
        scale: size of the panel relative to the automatic choice (which follows the image size).
    """

    points: bool = False
    point_alpha: float = 0.4
    face_box: bool = True
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.point_alpha <= 1.0:
            raise ValueError(f"point_alpha must be in (0, 1], got {self.point_alpha}")
        if not 0.25 <= self.scale <= 4.0:
            raise ValueError(f"scale must be in [0.25, 4], got {self.scale}")


@dataclass(frozen=True)
class OverlayLayout:
    """Where :func:`draw_overlay` puts things.

    Attributes:
        canvas: ``(height, width)`` of the output; larger than the photo when ``padded``.
        origin: ``(x, y)`` of the photo's top-left pixel on the canvas (``(0, 0)`` unless padded).
        panel: ``(x, y, width, height)`` of the gizmo panel on the canvas.
        unit: pixels per design unit (the panel's scale).
        padded: the canvas was extended because no corner of the photo had room beside the face.
    """

    canvas: tuple[int, int]
    origin: tuple[int, int]
    panel: tuple[int, int, int, int]
    unit: float
    padded: bool

    @property
    def sphere(self) -> tuple[int, int, int]:
        """``(x, y, diameter)`` of the lit sphere's square on the canvas."""
        pad = round(_PAD * self.unit)
        return self.panel[0] + pad, self.panel[1] + pad, round(_SPHERE * self.unit)


def _fmt_angle(value: float, positive: str, negative: str, zero: str) -> str:
    deg = round(abs(value))
    return zero if deg == 0 else f"{deg}° {positive if value > 0 else negative}"


def legend_lines(estimate: LightEstimate) -> tuple[str, ...]:
    """The legend: direction in words with degrees, front/behind, ambient share and confidence."""
    az, el = estimate.azimuth_deg, estimate.elevation_deg
    side = "in front" if estimate.direction[2] >= 0 else "behind"
    ambient = "" if estimate.ambient is None else f"   ambient {round(100 * estimate.ambient)} %"
    return (
        f"light {_fmt_angle(az, 'right', 'left', 'frontal')}, {_fmt_angle(el, 'up', 'down', 'level')}",
        f"{side}{ambient}",
        f"confidence {estimate.confidence:.2f}",
    )


def _text_width(text: str, scale: float, thickness: int) -> float:
    """Width of ``text`` as :func:`_put_text` draws it ('°' is drawn as a small ring)."""
    parts = text.split("°")
    width = sum(cv2.getTextSize(p, _FONT, scale, thickness)[0][0] for p in parts if p)
    return width + (len(parts) - 1) * _degree_advance(scale)


def _degree_advance(scale: float) -> float:
    return 9.0 * scale


def _put_text(img: np.ndarray, text: str, x: float, y: float, scale: float, color: tuple, thickness: int) -> None:
    """``cv2.putText`` (anti-aliased) that also draws '°', which Hershey fonts lack."""
    cap = cv2.getTextSize("H", _FONT, scale, thickness)[0][1]
    for i, part in enumerate(text.split("°")):
        if i:
            r = 2.4 * scale
            _circle(img, (x + 1.6 * scale + r, y - cap + r), r, color, max(1, thickness))
            x += _degree_advance(scale)
        if part:
            cv2.putText(img, part, (round(x), round(y)), _FONT, scale, color, thickness, cv2.LINE_AA)
            x += cv2.getTextSize(part, _FONT, scale, thickness)[0][0]


def _fixed(p: tuple[float, float]) -> tuple[int, int]:
    return round(p[0] * (1 << _SHIFT)), round(p[1] * (1 << _SHIFT))


def _circle(img: np.ndarray, c: tuple[float, float], r: float, color: tuple, thickness: int) -> None:
    cv2.circle(img, _fixed(c), round(r * (1 << _SHIFT)), color, thickness, cv2.LINE_AA, _SHIFT)


def _line(img: np.ndarray, a: tuple[float, float], b: tuple[float, float], color: tuple, thickness: int) -> None:
    cv2.line(img, _fixed(a), _fixed(b), color, thickness, cv2.LINE_AA, _SHIFT)


def _arc(img: np.ndarray, c, r: float, start: float, end: float, color: tuple, thickness: int) -> None:
    """Arc of the circle at ``c`` from ``start`` to ``end`` degrees (cv2 convention: clockwise from +u)."""
    fr = round(r * (1 << _SHIFT))
    cv2.ellipse(img, _fixed(c), (fr, fr), 0.0, start, end, color, thickness, cv2.LINE_AA, _SHIFT)


def _thickness(unit: float) -> int:
    return max(1, round(unit))


def _text_style(unit: float) -> tuple[float, int]:
    return _FONT_SCALE * unit, max(1, round(0.9 * unit))


def _panel_size(estimate: LightEstimate, unit: float) -> tuple[int, int]:
    scale, thick = _text_style(unit)
    text_w = max(_text_width(line, scale, thick) for line in legend_lines(estimate))
    gizmo_w = (_PAD + _SPHERE + _GAP + _DIAL + _PAD) * unit
    width = max(gizmo_w, text_w + 2 * _PAD * unit)
    height = (_PAD + _SPHERE + 6 + _LINE * len(legend_lines(estimate)) + _PAD - 4) * unit
    return math.ceil(width), math.ceil(height)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def plan_layout(image_shape: tuple[int, ...], estimate: LightEstimate, options: OverlayOptions) -> OverlayLayout:
    """Choose the panel's size and place: a free corner of the photo (farthest from the face), else a pad."""
    h, w = image_shape[:2]
    fx, fy, fw, fh = (float(v) for v in estimate.face_box)
    face_centre = (fx + fw / 2, fy + fh / 2)
    natural = options.scale * max(_MIN_UNIT, min(h, w) * _UNIT_PER_SIDE)
    for unit in dict.fromkeys((natural, max(_MIN_UNIT * options.scale, 0.75 * natural))):
        pw, ph = _panel_size(estimate, unit)
        m = _MARGIN * unit
        keep_out = (fx - m / 2, fy - m / 2, fw + m, fh + m)
        corners = [(m, m), (w - m - pw, m), (m, h - m - ph), (w - m - pw, h - m - ph)]
        free = [
            (x, y) for x, y in corners
            if x >= 0 and y >= 0 and x + pw <= w and y + ph <= h and not _overlaps((x, y, pw, ph), keep_out)
        ]  # fmt: skip
        if free:
            x, y = max(free, key=lambda p: math.dist((p[0] + pw / 2, p[1] + ph / 2), face_centre))
            return OverlayLayout((h, w), (0, 0), (round(x), round(y), pw, ph), unit, padded=False)
    unit = natural  # no room beside the face: extend the canvas where that adds the fewest pixels
    pw, ph = _panel_size(estimate, unit)
    m = round(_MARGIN * unit)
    right_h, below_w = max(h, ph + 2 * m), max(w, pw + 2 * m)
    if right_h * (w + pw + 2 * m) <= below_w * (h + ph + 2 * m):
        panel = (w + m, (right_h - ph) // 2, pw, ph)
        return OverlayLayout((right_h, w + pw + 2 * m), (0, (right_h - h) // 2), panel, unit, padded=True)
    panel = ((below_w - pw) // 2, h + m, pw, ph)
    return OverlayLayout((h + ph + 2 * m, below_w), ((below_w - w) // 2, 0), panel, unit, padded=True)


def shaded_sphere(estimate: LightEstimate, diameter: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey sphere lit by ``estimate`` (Lambert + its ambient share), ``diameter`` pixels across.

    Returns ``(bgr, alpha)``: float32 ``(d, d, 3)`` colour premultiplied by coverage, in [0, 255], and
    ``(d, d)`` coverage in [0, 1]. Small spheres are rendered at 4x and averaged down; from 96 px on the
    edge pixels get their exact-enough analytic coverage instead (same look, a fraction of the memory).
    """
    s = _SUPERSAMPLE if diameter < 96 else 1
    n = diameter * s
    r = n / 2.0
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
    x, y = (xx - r) / r, -(yy - r) / r  # camera frame: +y up
    rho = np.sqrt(x * x + y * y)
    coverage = np.clip((1.0 - rho) * r + 0.5, 0.0, 1.0) if s == 1 else (rho <= 1.0).astype(np.float32)
    scale = np.minimum(1.0, 1.0 / np.maximum(rho, 1e-6))  # edge pixels: shade the rim point they cover
    x, y = x * scale, y * scale
    z = np.sqrt(np.clip(1.0 - x * x - y * y, 0.0, 1.0))
    ambient = 0.15 if estimate.ambient is None else float(estimate.ambient)
    dx, dy, dz = (np.float32(v) for v in estimate.direction)
    shade = np.clip(ambient + (1.0 - ambient) * np.clip(x * dx + y * dy + z * dz, 0.0, 1.0), 0.0, 1.0) ** (1 / 2.2)
    color = np.ones(3) if estimate.color is None else np.asarray(estimate.color)[::-1]  # RGB -> BGR
    bgr = (shade * coverage)[..., None] * (np.asarray(color, np.float32) * 230.0) + 12.0 * coverage[..., None]
    if s == 1:
        return bgr.astype(np.float32), coverage.astype(np.float32)
    size = (diameter, diameter)
    return (cv2.resize(bgr.astype(np.float32), size, interpolation=cv2.INTER_AREA),
            cv2.resize(coverage, size, interpolation=cv2.INTER_AREA))  # fmt: skip


def _blend_card(card: np.ndarray, unit: float) -> None:
    """Darken ``card`` (the panel's pixels) inside rounded corners so the panel reads on any background."""
    ph, pw = card.shape[:2]
    mask = np.zeros((ph, pw), np.uint8)
    rad = round(6 * unit)
    right, bottom = pw - 1 - rad, ph - 1 - rad
    cv2.rectangle(mask, (rad, 0), (right, ph - 1), 255, -1)
    cv2.rectangle(mask, (0, rad), (pw - 1, bottom), 255, -1)
    for cx, cy in ((rad, rad), (right, rad), (rad, bottom), (right, bottom)):
        cv2.circle(mask, (cx, cy), rad, 255, -1, cv2.LINE_AA)
    keep = 1.0 - mask.astype(np.float32) * (_CARD_ALPHA / 255.0)
    card[:] = cv2.blendLinear(card, np.zeros_like(card), keep, 1.0 - keep)


def _dashed_ring(img: np.ndarray, c: tuple[float, float], r: float, color: tuple, thickness: int) -> None:
    for start in range(0, 360, 40):
        _arc(img, c, r, start, start + 24, color, thickness)


def _draw_sphere(canvas: np.ndarray, estimate: LightEstimate, x0: int, y0: int, d: int, unit: float) -> None:
    color, alpha = shaded_sphere(estimate, d)
    region = canvas[y0 : y0 + d, x0 : x0 + d].astype(np.float32)
    canvas[y0 : y0 + d, x0 : x0 + d] = np.rint(region * (1.0 - alpha[..., None]) + color).astype(np.uint8)
    c, r = (x0 + d / 2.0, y0 + d / 2.0), d / 2.0
    t = _thickness(unit)
    _circle(canvas, c, r + 0.5 * t, _MUTED, t)  # outline: shows on the dark card even for back light
    dx, dy, dz = estimate.direction
    p = (c[0] + r * dx, c[1] - r * dy)
    mark = 5.0 * unit
    if dz >= 0:  # in front: a solid sun with rays
        for k in range(8):
            a = k * math.pi / 4
            u = (math.cos(a), math.sin(a))
            _line(canvas, (p[0] + u[0] * mark * 1.45, p[1] + u[1] * mark * 1.45),
                  (p[0] + u[0] * mark * 2.0, p[1] + u[1] * mark * 2.0), _ACCENT, t)  # fmt: skip
        _circle(canvas, p, mark + 0.8 * t, _DARK, -1)
        _circle(canvas, p, mark, _ACCENT, -1)
    else:  # behind the face: a hollow ring seen through the sphere, dashed when large enough to tell
        _circle(canvas, p, mark, _DARK, t + 2)
        if mark >= 7:
            _dashed_ring(canvas, p, mark, _ACCENT, t)
        else:
            _circle(canvas, p, mark, _ACCENT, t)


def _marker(canvas: np.ndarray, p: tuple[float, float], unit: float, solid: bool) -> None:
    r, t = 3.2 * unit, _thickness(unit)
    _circle(canvas, p, r + 0.8 * t, _DARK, -1 if solid else t + 2)
    _circle(canvas, p, r, _ACCENT, -1 if solid else t)


def _draw_compass(canvas: np.ndarray, estimate: LightEstimate, c: tuple[float, float], unit: float) -> None:
    """Top view: head in the middle facing the camera (bottom, front half lighter), light on the ring."""
    r, t = _DIAL / 2 * unit, _thickness(unit)
    x0, y0, x1, y1 = (max(0, math.floor(c[0] - r - 2)), max(0, math.floor(c[1] - 2)), math.ceil(c[0] + r + 2),
                      math.ceil(c[1] + r + 2))  # fmt: skip
    half = canvas[y0:y1, x0:x1]
    front = half.copy()
    _arc(front, (c[0] - x0, c[1] - y0), r, 0, 180, (120, 120, 120), -1)
    np.copyto(half, cv2.addWeighted(front, 0.6, half, 0.4, 0.0))
    _circle(canvas, c, r, _MUTED, t)
    for k in range(4):  # ticks at 0, 90, 180, 270 degrees of azimuth
        a = k * math.pi / 2
        u = (math.sin(a), math.cos(a))
        _line(canvas, (c[0] + u[0] * r * 0.8, c[1] + u[1] * r * 0.8), (c[0] + u[0] * r, c[1] + u[1] * r), _MUTED, t)
    head = 5.0 * unit
    nose = np.array([[c[0] - 0.45 * head, c[1] + 0.8 * head], [c[0] + 0.45 * head, c[1] + 0.8 * head],
                     [c[0], c[1] + 1.45 * head]])  # fmt: skip
    cv2.fillPoly(canvas, [np.rint(nose * (1 << _SHIFT)).astype(np.int32)], _INK, cv2.LINE_AA, _SHIFT)
    _circle(canvas, c, head, _INK, -1)
    az = math.radians(estimate.azimuth_deg)
    p = (c[0] + r * math.sin(az), c[1] + r * math.cos(az))  # camera toward the bottom, image right to the right
    _line(canvas, c, p, _ACCENT, t)
    _marker(canvas, p, unit, solid=estimate.direction[2] >= 0)


def _draw_elevation(canvas: np.ndarray, estimate: LightEstimate, c: tuple[float, float], unit: float) -> None:
    """Side gauge: a half circle from -90 (below) to +90 degrees (above), horizon tick longer, light on the arc."""
    r, t = _DIAL / 2 * unit, _thickness(unit)
    _arc(canvas, c, r, -90, 90, _MUTED, t)
    for deg in (-90, -45, 0, 45, 90):
        a = math.radians(deg)
        u = (math.cos(a), -math.sin(a))
        inner = 0.72 if deg == 0 else 0.82
        _line(canvas, (c[0] + u[0] * r * inner, c[1] + u[1] * r * inner), (c[0] + u[0] * r, c[1] + u[1] * r), _MUTED, t)
    _circle(canvas, c, 2.5 * unit, _INK, -1)
    el = math.radians(estimate.elevation_deg)
    p = (c[0] + r * math.cos(el), c[1] - r * math.sin(el))
    _line(canvas, c, p, _ACCENT, t)
    _marker(canvas, p, unit, solid=True)


def _draw_panel(canvas: np.ndarray, estimate: LightEstimate, layout: OverlayLayout) -> None:
    x, y, pw, ph = layout.panel
    u = layout.unit
    canvas = canvas[y : y + ph, x : x + pw]  # everything below draws in panel coordinates
    _blend_card(canvas, u)
    sx, sy, d = layout.sphere
    sx, sy = sx - x, sy - y
    _draw_sphere(canvas, estimate, sx, sy, d, u)
    dial_x = sx + (_SPHERE + _GAP) * u
    _draw_compass(canvas, estimate, (dial_x + _DIAL / 2 * u, sy + _DIAL / 2 * u), u)
    _draw_elevation(canvas, estimate, (dial_x + _DIAL * 0.22 * u, sy + (_SPHERE - _DIAL / 2) * u), u)
    scale, thick = _text_style(u)
    ty = sy + (_SPHERE + 6 + _LINE - 4) * u
    for i, line in enumerate(legend_lines(estimate)):
        _put_text(canvas, line, sx, ty + i * _LINE * u, scale, _INK if i == 0 else _MUTED, thick)


def _draw_face_box(canvas: np.ndarray, box: tuple[int, int, int, int], unit: float) -> None:
    """Corner brackets just outside the face box (the pixels inside it stay untouched)."""
    x, y, w, h = box
    t = _thickness(unit)
    o = 2 + t  # stay outside the box, anti-aliased edge included
    x0, y0, x1, y1 = x - o, y - o, x + w - 1 + o, y + h - 1 + o
    n = 0.14 * min(w, h)
    for cx, cy, sx, sy in ((x0, y0, 1, 1), (x1, y0, -1, 1), (x0, y1, 1, -1), (x1, y1, -1, -1)):
        _line(canvas, (cx, cy), (cx + sx * n, cy), _INK, t)
        _line(canvas, (cx, cy), (cx, cy + sy * n), _INK, t)


def _draw_points(canvas: np.ndarray, points: np.ndarray, box: tuple[int, int, int, int], alpha: float) -> None:
    """Small dots blended at ``alpha`` over the photo (only the points' bounding region is copied)."""
    r = max(0.9, 0.005 * max(box[2], box[3]))
    h, w = canvas.shape[:2]
    x0, y0 = (max(0, math.floor(v - r - 2)) for v in points.min(axis=0))
    x1, y1 = min(w, math.ceil(points[:, 0].max() + r + 2)), min(h, math.ceil(points[:, 1].max() + r + 2))
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[y0:y1, x0:x1]
    layer = region.copy()
    for u, v in points:
        _circle(layer, (float(u) - x0, float(v) - y0), r, _ACCENT, -1)
    changed = (layer != region).any(axis=-1)
    region[changed] = cv2.addWeighted(layer, alpha, region, 1.0 - alpha, 0.0)[changed]


def draw_overlay(image: np.ndarray, estimate: LightEstimate, options: OverlayOptions | None = None) -> np.ndarray:
    """A new BGR image: ``image`` with the estimate's panel (and, if asked, light-points and face box) drawn.

    The photo keeps its pixels; the canvas is larger (photo at ``plan_layout(...).origin``) only when no
    corner of the photo has room for the panel beside the face.
    """
    if not isinstance(estimate, LightEstimate):
        hint = " (estimate() gives None when it finds no face: there is nothing to draw)" if estimate is None else ""
        raise TypeError(f"expected a lightest.LightEstimate, got {type(estimate).__name__}{hint}")
    options = OverlayOptions() if options is None else options
    if not isinstance(options, OverlayOptions):
        raise TypeError(f"options must be a lightest.overlay.OverlayOptions, got {type(options).__name__}")
    photo = to_bgr(image)
    layout = plan_layout(photo.shape, estimate, options)
    (ox, oy), (h, w) = layout.origin, photo.shape[:2]
    if layout.padded:
        canvas = np.empty((*layout.canvas, 3), np.uint8)
        canvas[..., 0], canvas[..., 1], canvas[..., 2] = _PAD_FILL
        canvas[oy : oy + h, ox : ox + w] = photo
    else:
        canvas = photo.copy() if np.may_share_memory(photo, image) else photo  # never draw on the caller's array
    view = canvas[oy : oy + h, ox : ox + w]  # marks on the photo stay out of an added pad
    if options.points and len(estimate.light_points):
        _draw_points(view, np.asarray(estimate.light_points), estimate.face_box, options.point_alpha)
    if options.face_box:
        _draw_face_box(view, estimate.face_box, layout.unit)
    _draw_panel(canvas, estimate, layout)
    return canvas
