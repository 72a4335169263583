"""Light-point sets: where on the face lightest samples brightness, read from tables in ``lightest/data``.

Every set is stored as rows ``(a, b, t)`` over a landmark scheme: ``point = L[a] + t * (L[b] - L[a])``.
A mesh vertex is ``a == b, t == 0``; the seed's midpoints and forehead extrapolations use the rest.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

import numpy as np

from lightest.landmarks.base import FaceLandmarks

__all__ = ["LIGHT_POINT_SETS", "LightPointSet", "get_light_point_set", "mesh_triangles"]

#: name -> (landmark scheme it is defined on, table file in lightest/data)
LIGHT_POINT_SETS: dict[str, tuple[str, str]] = {
    "seed79": ("dlib68", "lightpoints_seed79.csv"),
    "mesh-v1": ("mediapipe468", "lightpoints_mesh_v1.txt"),
}


@dataclass(frozen=True)
class LightPointSet:
    """A named, versioned set of light-points on one landmark scheme."""

    name: str
    scheme: str
    a: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.a)

    @cached_property
    def is_vertex_set(self) -> bool:
        """True when every point is a landmark itself (so mesh normals apply directly)."""
        return bool(np.all(self.a == self.b) and np.all(self.t == 0))

    def locate(self, landmarks: FaceLandmarks) -> np.ndarray:
        """``(K, 3)`` pixel positions (u, v, depth) of the light-points on these landmarks."""
        if landmarks.scheme != self.scheme:
            raise ValueError(f"light-point set {self.name!r} needs {self.scheme} landmarks, got {landmarks.scheme}")
        pts = landmarks.points
        if self.is_vertex_set:
            return pts[self.a]
        pa = pts[self.a]
        return pa + self.t[:, None] * (pts[self.b] - pa)


def _read_table(filename: str) -> str:
    return resources.files("lightest.data").joinpath(filename).read_text(encoding="utf-8")


@cache
def get_light_point_set(name: str) -> LightPointSet:
    """Load light-point set ``name`` (one of :data:`LIGHT_POINT_SETS`)."""
    if name not in LIGHT_POINT_SETS:
        raise ValueError(f"unknown light-point set {name!r}; choose one of {sorted(LIGHT_POINT_SETS)}")
    scheme, filename = LIGHT_POINT_SETS[name]
    text = _read_table(filename)
    if filename.endswith(".csv"):
        rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
        a = np.array([int(r["a"]) for r in rows])
        b = np.array([int(r["b"]) for r in rows])
        t = np.array([float(r["t"]) for r in rows])
    else:
        a = np.array([int(v) for line in text.splitlines() if not line.startswith("#") for v in line.split()])
        b, t = a.copy(), np.zeros(len(a))
    for arr in (a, b, t):
        arr.setflags(write=False)
    return LightPointSet(name=name, scheme=scheme, a=a, b=b, t=t)


@cache
def mesh_triangles() -> np.ndarray:
    """``(T, 3)`` triangles of the 468-point MediaPipe mesh, counter-clockwise seen from the camera."""
    text = _read_table("mesh_triangles.txt")
    tris = np.array([[int(v) for v in line.split()] for line in text.splitlines() if line and not line.startswith("#")])
    tris.setflags(write=False)
    return tris
