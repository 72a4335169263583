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

    @cached_property
    def mirror_index(self) -> np.ndarray:
        """For a vertex set on the 468-point mesh: position in this set of each point's left-right mirror (a
        permutation of ``range(len(self))``: the light-head graph reads the mirror image's features through it)."""
        if not (self.is_vertex_set and self.scheme == "mediapipe468"):
            raise ValueError(f"light-point set {self.name!r} has no mesh mirror table")
        if len(np.unique(self.a)) != len(self.a):
            raise ValueError(f"light-point set {self.name!r} names a vertex twice: its mirror is not a permutation")
        where = {int(v): k for k, v in enumerate(self.a)}
        mirrored = mesh_mirror()[self.a]
        if not all(int(v) in where for v in mirrored):
            raise ValueError(f"light-point set {self.name!r} is not closed under mirroring")
        return np.array([where[int(v)] for v in mirrored])

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
    if filename.endswith(".csv"):
        text = _read_table(filename)
        rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
        a = np.array([int(r["a"]) for r in rows])
        b = np.array([int(r["b"]) for r in rows])
        t = np.array([float(r["t"]) for r in rows])
    else:
        a = _int_table(filename).copy()
        b, t = a.copy(), np.zeros(len(a))
    for arr in (a, b, t):
        arr.setflags(write=False)
    return LightPointSet(name=name, scheme=scheme, a=a, b=b, t=t)


def _int_table(filename: str) -> np.ndarray:
    text = _read_table(filename)
    values = [int(v) for line in text.splitlines() if line and not line.startswith("#") for v in line.split()]
    table = np.array(values)
    table.setflags(write=False)
    return table


@cache
def mesh_mirror() -> np.ndarray:
    """``(468,)``: the vertex each MediaPipe mesh vertex maps to when the face is mirrored left-right."""
    return _int_table("mesh_mirror.txt")


@cache
def mesh_triangles() -> np.ndarray:
    """``(T, 3)`` triangles of the 468-point MediaPipe mesh, counter-clockwise seen from the camera."""
    return _int_table("mesh_triangles.txt").reshape(-1, 3)
