import collections

import numpy as np
import pytest

from lightest.landmarks import FaceLandmarks
from lightest.lightpoints import LIGHT_POINT_SETS, get_light_point_set, mesh_triangles


def _connections():
    pytest.importorskip("mediapipe", reason="the mesh's connection tables come from the reference extra (mediapipe)")
    from mobile_bench.reference import import_face_mesh

    import_face_mesh()
    from mediapipe.python.solutions import face_mesh_connections

    return face_mesh_connections


def test_seed79_table():
    s = get_light_point_set("seed79")
    assert len(s) == 79 and s.scheme == "dlib68" and not s.is_vertex_set
    assert s.a.min() >= 0 and max(s.a.max(), s.b.max()) < 68
    # forehead points extrapolate above the brows
    lm = FaceLandmarks(points=np.c_[np.arange(68.0), np.arange(68.0), np.zeros(68)], scheme="dlib68", has_depth=False)
    assert s.locate(lm).shape == (79, 3)


def test_seed79_points_land_where_named():
    """On a dlib face from Yale B the forehead points are above the brows and chin points below the lips."""
    import csv
    from importlib import resources

    text = resources.files("lightest.data").joinpath("lightpoints_seed79.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    regions = collections.Counter(r["region"] for r in rows)
    assert set(regions) == {"nose", "lips", "forehead", "cheek", "chin"}
    assert len({r["name"] for r in rows}) == 79


def test_mesh_set_is_skin_only():
    c = _connections()
    s = get_light_point_set("mesh-v1")
    assert s.is_vertex_set and s.scheme == "mediapipe468" and len(s) == 340
    excluded = set()
    for group in (c.FACEMESH_LEFT_EYE, c.FACEMESH_RIGHT_EYE, c.FACEMESH_LIPS, c.FACEMESH_FACE_OVAL):
        for edge in group:
            excluded |= set(edge)
    assert not excluded & set(s.a.tolist())
    assert len(set(s.a.tolist())) == len(s)


def test_triangles_are_a_consistently_oriented_mesh():
    c = _connections()
    tris = mesh_triangles()
    edges = {tuple(sorted(e)) for e in c.FACEMESH_TESSELATION}
    directed = collections.Counter()
    for t in tris:
        for k in range(3):
            a, b = int(t[k]), int(t[(k + 1) % 3])
            assert tuple(sorted((a, b))) in edges
            directed[(a, b)] += 1
    assert max(directed.values()) == 1  # no directed edge twice: neighbours agree on orientation
    assert len(np.unique(tris)) == 468


def test_wrong_scheme_is_rejected():
    lm = FaceLandmarks(points=np.zeros((68, 3)), scheme="dlib68", has_depth=False)
    with pytest.raises(ValueError, match="mediapipe468"):
        get_light_point_set("mesh-v1").locate(lm)
    with pytest.raises(ValueError, match="unknown light-point set"):
        get_light_point_set("nope")
    assert set(LIGHT_POINT_SETS) == {"seed79", "mesh-v1"}


def test_mesh_mirror_is_an_involution_that_swaps_sides():
    from lightest.lightpoints import mesh_mirror

    m = mesh_mirror()
    assert len(m) == 468 and np.array_equal(m[m], np.arange(468))
    assert m[33] == 263 and m[61] == 291 and m[234] == 454 and m[1] == 1 and m[152] == 152
    s = get_light_point_set("mesh-v1")
    k = s.mirror_index
    assert np.array_equal(s.a[k], m[s.a]) and np.array_equal(k[k], np.arange(len(s)))
    with pytest.raises(ValueError, match="no mesh mirror"):
        get_light_point_set("seed79").mirror_index  # noqa: B018


def test_mirror_table_matches_a_mirrored_image(example_image):
    """Landmarks of the flipped image, permuted by the table, land where the original's mirror would."""
    from lightest.landmarks import create_backend
    from lightest.lightpoints import mesh_mirror

    backend = create_backend("mediapipe")
    a = backend.detect(example_image).points
    b = backend.detect(np.ascontiguousarray(example_image[:, ::-1])).points
    w = example_image.shape[1]
    mirrored_b = b[mesh_mirror()]
    mirrored_b[:, 0] = w - 1 - mirrored_b[:, 0]
    face = np.ptp(a[:, 0])
    assert np.median(np.linalg.norm(mirrored_b[:, :2] - a[:, :2], axis=1)) < 0.03 * face


def test_mirror_index_is_a_permutation_or_refused():
    from lightest.lightpoints import LightPointSet

    s = get_light_point_set("mesh-v1")
    assert sorted(s.mirror_index.tolist()) == list(range(len(s)))
    twice = np.concatenate([s.a, s.a[:1]])
    repeated = LightPointSet("repeated", "mediapipe468", twice, twice, np.zeros(len(twice)))
    with pytest.raises(ValueError, match="names a vertex twice"):
        repeated.mirror_index  # noqa: B018
