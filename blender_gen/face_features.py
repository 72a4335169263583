"""Where facial features sit on the ICT-FaceKit mesh: per-vertex maps computed once from the neutral head and its
68 dlib landmark vertices (pure numpy; every identity shares the topology, so the maps follow each face).

All maps live in ICT's frame (cm, +x subject's left, +y up, +z out of the face) and are distances or soft masks
that the skin shader turns into features with per-image parameters:

* ``brow``: distance from the eyebrow centre line (landmarks 17-21 / 22-26 lowered 0.25 cm) divided by the
  brow's local half-width (0.75 cm at the head, 0.3 cm at the tail); < 1 inside the brow.
* ``brow_u``: position along the brow, 0 at the head (nose side), 1 at the tail.
* ``lip``: signed distance (cm) from the outer lip contour (48-59), negative inside.
* ``socket``: distance (cm) from the eye contour (36-41 / 42-47): eye-socket darkening and lash line.
* ``beard``: 0-1 soft mask of the beard area (chin, jaw, upper lip, cheeks below the cheekbone, under the chin)
  minus the lips.
* ``hair``: height (cm) above a curved hairline reference (brow top + temples bending up); the hair cap shows
  where ``hair`` exceeds the image's hairline height (behind the ears the coordinate is raised so the cap
  reaches down to the nape).
"""

from __future__ import annotations

import numpy as np

BROW_R, BROW_L = list(range(17, 22)), list(range(26, 21, -1))  # head (nose side) last -> reversed for left
EYE_R, EYE_L = list(range(36, 42)), list(range(42, 48))
OUTER_LIP = list(range(48, 60))


def _polyline_distance(p: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D distance of points ``(n, 2)`` to a polyline ``(m, 2)`` and the arc-length fraction of the nearest
    point (0 at the first vertex, 1 at the last)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    seg_len = np.linalg.norm(ab, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    t = np.clip(((p[:, None, :] - a[None]) * ab[None]).sum(-1) / (seg_len**2)[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    dist = np.linalg.norm(p[:, None, :] - closest, axis=-1)
    k = np.argmin(dist, axis=1)
    rows = np.arange(len(p))
    frac = (cum[k] + t[rows, k] * seg_len[k]) / cum[-1]
    return dist[rows, k], frac


def _inside_polygon(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, 2-D."""
    x, y = p[:, 0:1], p[:, 1:2]
    x0, y0 = poly[:, 0][None], poly[:, 1][None]
    x1, y1 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    cross = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0 + 1e-12) + x0)
    return (cross.sum(axis=1) % 2) == 1


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def feature_maps(neutral_cm: np.ndarray, landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-vertex feature maps ``(N,)`` float32 (see module docstring) from the neutral mesh (cm)."""
    v = np.asarray(neutral_cm, float)
    lm = v[np.asarray(landmarks)]
    xy, z = v[:, :2], v[:, 2]
    front = z > lm[0, 2] - 1.0  # in front of the jaw-top landmarks (ears are further back)

    # eyebrows: distance to the lowered centre line, relative to a half-width tapering head -> tail
    far = np.full(len(v), 99.0)
    brow, brow_u = far.copy(), np.zeros(len(v))
    for idx in (BROW_R[::-1], BROW_L[::-1]):  # start at the head (nose side)
        line = lm[idx, :2] - np.array([0.0, 0.25])
        # extend 0.3 cm beyond each end so the brow ends are rounded by the taper, not cut
        ext = np.vstack([line[0] + 0.3 * (line[0] - line[1]) / np.linalg.norm(line[0] - line[1]), line,
                         line[-1] + 0.3 * (line[-1] - line[-2]) / np.linalg.norm(line[-1] - line[-2])])
        d, u = _polyline_distance(xy, ext)
        half = 0.75 - 0.45 * u
        rel = np.where(front & (z > lm[idx, 2].min() - 1.5), d / half, 99.0)
        better = rel < brow
        brow[better], brow_u[better] = rel[better], u[better]

    # lips: signed distance to the outer contour
    lip_poly = lm[OUTER_LIP, :2]
    d_lip, _ = _polyline_distance(xy, np.vstack([lip_poly, lip_poly[:1]]))
    lip = np.where(_inside_polygon(xy, lip_poly), -d_lip, d_lip)
    lip = np.where(front & (z > lm[48, 2] - 1.5), lip, 99.0)

    # eye sockets: distance to either eye contour
    socket = far.copy()
    for idx in (EYE_R, EYE_L):
        poly = lm[idx, :2]
        d, _ = _polyline_distance(xy, np.vstack([poly, poly[:1]]))
        d = np.where(_inside_polygon(xy, poly), 0.0, d)
        socket = np.minimum(socket, np.where(front & (z > lm[idx, 2].min() - 2.0), d, 99.0))

    # beard: below a line from the jaw tops (0 / 16, lowered) through the cheeks to just under the nose
    nose_base = lm[33]
    x_side = abs(lm[0, 0])
    t = np.clip(np.abs(v[:, 0]) / x_side, 0.0, 1.2)
    y_top = (nose_base[1] - 0.4) * (1 - t**2) + (lm[1, 1] - 1.5) * t**2  # upper edge, cm
    beard = _smoothstep(-0.5, 2.5, y_top - v[:, 1])  # a soft upper edge: no shadow-like line on the cheek
    beard *= _smoothstep(-2.0, 0.0, z - (lm[0, 2] - 0.5))  # fade out toward the ears / back of the neck
    beard *= _smoothstep(-13.5, -11.0, v[:, 1])  # stop on the neck a few cm under the chin
    beard *= _smoothstep(0.0, 0.35, lip)  # not on the lips

    # hair coordinate: height above a reference that bends up at the temples, lowered behind the ears
    brow_top = lm[17:27, 1].max() + 0.5
    hair = v[:, 1] - (brow_top + 0.06 * v[:, 0] ** 2)
    behind = _smoothstep(lm[0, 2] - 1.0, lm[0, 2] - 5.0, z)  # 0 in front of the ears, 1 well behind
    hair = hair + behind * 10.0
    return {k: a.astype(np.float32) for k, a in
            {"brow": brow, "brow_u": brow_u, "lip": lip, "socket": socket, "beard": beard, "hair": hair}.items()}


def vertex_normals(verts: np.ndarray, faces_flat: np.ndarray, face_sizes: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals of a polygon mesh (fan triangulation)."""
    starts = np.concatenate([[0], np.cumsum(face_sizes)[:-1]])
    n = np.zeros_like(verts, dtype=np.float64)
    for k in (3, 4):
        sel = starts[face_sizes == k]
        if not len(sel):
            continue
        idx = faces_flat[sel[:, None] + np.arange(k)[None]]
        for a, b, c in ((0, 1, 2), (0, 2, 3)) if k == 4 else ((0, 1, 2),):
            fn = np.cross(verts[idx[:, b]] - verts[idx[:, a]], verts[idx[:, c]] - verts[idx[:, a]])
            for j in (a, b, c):
                np.add.at(n, idx[:, j], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
