"""ICT-FaceKit heads built straight from ``ict_facekit.npz``: random identities and expressions.

The mesh topology is built once (bpy ``from_pydata``); each image only rewrites vertex positions
(``foreach_set``), so a new identity costs milliseconds. ICT is in cm, +y up, +z out of the face;
we convert to metres in the Blender world (+z up, face toward -y) and put the face centre (mean of
the 68 landmark vertices) at the origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import bpy
import numpy as np

from blender_gen import skin
from blender_gen.paths import Assets

HIDDEN_PARTS = ("M_LacrimalFluid", "M_EyeBlend", "M_EyeOcclusion")  # transparent overlays in ICT
MOUTH_SOCKET = (11248, 13293)  # vertex range of the mouth interior (ICT README), rendered dark
SKIN_PARTS = ("M_Face", "M_BackHead")
# ICT's eyeballs are two nested spheres textured in the original; we split them by the angle from
# the eye's forward axis (+z): iris sphere -> pupil / iris / white, outer sphere front cap -> cornea.
PUPIL_DEG, IRIS_DEG, CORNEA_DEG = 9.0, 30.0, 32.0
EYE_PARTS = {"M_IrisLeft": "M_ScleraLeft", "M_IrisRight": "M_ScleraRight"}


def _eye_angles(model: IctModel, faces: list[np.ndarray], mat_names: list[str]) -> np.ndarray:
    """Angle (deg) of each face centroid from its eyeball's forward axis; NaN for non-eye faces."""
    angles = np.full(len(faces), np.nan)
    for iris_name, sclera_name in EYE_PARTS.items():
        for part in (iris_name, sclera_name):
            idx = [k for k, n in enumerate(mat_names) if n == part]
            verts = np.unique(np.concatenate([faces[k] for k in idx]))
            lo, hi = model.neutral[verts].min(axis=0), model.neutral[verts].max(axis=0)
            centre = (lo + hi) / 2.0
            for k in idx:
                d = model.neutral[faces[k]].mean(axis=0) - centre
                angles[k] = np.degrees(np.arccos(np.clip(d[2] / np.linalg.norm(d), -1.0, 1.0)))
    return angles


@dataclass(frozen=True)
class IctModel:
    """The arrays of ict_facekit.npz that we use (deltas kept float32 for fast weighted sums)."""

    neutral: np.ndarray
    identity_deltas: np.ndarray
    expression_deltas: np.ndarray
    expression_names: tuple[str, ...]
    face_sizes: np.ndarray
    face_vertex_indices: np.ndarray
    face_uv_indices: np.ndarray
    uvs: np.ndarray
    face_material: np.ndarray
    material_names: tuple[str, ...]
    landmarks: np.ndarray  # (68,) vertex indices, dlib order

    @classmethod
    def load(cls, assets: Assets) -> IctModel:
        z = np.load(assets.ict_npz)
        with open(assets.ict_indices) as f:
            lm = np.asarray(json.load(f)["idx_to_landmark_verts"], dtype=np.int64)
        return cls(
            neutral=z["neutral"].astype(np.float32),
            identity_deltas=z["identity_deltas"].astype(np.float32),
            expression_deltas=z["expression_deltas"].astype(np.float32),
            expression_names=tuple(str(s) for s in z["expression_names"]),
            face_sizes=z["face_sizes"].astype(np.int64),
            face_vertex_indices=z["face_vertex_indices"].astype(np.int64),
            face_uv_indices=z["face_uv_indices"].astype(np.int64),
            uvs=z["uvs"].astype(np.float32),
            face_material=z["face_material"].astype(np.int64),
            material_names=tuple(str(s) for s in z["material_names"]),
            landmarks=lm,
        )

    @property
    def n_identities(self) -> int:
        return self.identity_deltas.shape[0]

    @property
    def n_expressions(self) -> int:
        return self.expression_deltas.shape[0]

    def shape_cm(self, identity: np.ndarray | None, expression: np.ndarray | None) -> np.ndarray:
        """``neutral + sum w_i identity_i + sum e_j expression_j`` in ICT's own frame (cm)."""
        v = self.neutral.copy()
        if identity is not None:
            v += np.tensordot(np.asarray(identity, np.float32), self.identity_deltas, axes=1)
        if expression is not None:
            v += np.tensordot(np.asarray(expression, np.float32), self.expression_deltas, axes=1)
        return v


def to_world(v_cm: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """ICT cm (+y up, +z out) -> Blender metres (+z up, face toward -y), face centre at the origin."""
    w = np.stack([v_cm[:, 0], -v_cm[:, 2], v_cm[:, 1]], axis=1) / 100.0
    return w - w[landmarks].mean(axis=0)


class IctHead:
    """One Blender object whose vertex positions are re-set for every identity/expression."""

    def __init__(self, model: IctModel, scene: bpy.types.Scene, skin_material: skin.SkinMaterial | None = None) -> None:
        self.model = model
        self.skin = skin.SkinMaterial() if skin_material is None else skin_material
        parts = skin.part_materials()
        self.iris = parts["M_IrisLeft"]
        keep = ~np.isin(model.face_material, [model.material_names.index(n) for n in HIDDEN_PARTS])
        starts = np.concatenate([[0], np.cumsum(model.face_sizes)[:-1]])
        faces = [model.face_vertex_indices[s:s + n] for s, n, k in zip(starts, model.face_sizes, keep,
                                                                        strict=True) if k]
        loop_uv = np.concatenate([model.face_uv_indices[s:s + n] for s, n, k in
                                  zip(starts, model.face_sizes, keep, strict=True) if k])
        mesh = bpy.data.meshes.new("ICT")
        mesh.from_pydata(to_world(model.neutral, model.landmarks).tolist(), [],
                         [f.tolist() for f in faces])
        uv_layer = mesh.uv_layers.new(name="UVMap")
        uv_layer.data.foreach_set("uv", model.uvs[loop_uv].ravel())
        # Material slots: 0 skin, then the part materials in a fixed order.
        slot_names = ["skin", *sorted(set(parts))]
        mesh.materials.append(self.skin.material)
        for name in slot_names[1:]:
            mesh.materials.append(parts[name])
        mat_names = [model.material_names[i] for i in model.face_material[keep]]
        first_vertex = np.array([f[0] for f in faces])
        in_mouth = (first_vertex >= MOUTH_SOCKET[0]) & (first_vertex <= MOUTH_SOCKET[1])
        eye_deg = _eye_angles(model, faces, mat_names)

        def slot(name: str, mouth: bool, deg: float) -> str:
            if mouth and name in SKIN_PARTS:
                return "mouth"
            if name in SKIN_PARTS:
                return "skin"
            if name in EYE_PARTS:  # inner (iris) sphere
                return "pupil" if deg < PUPIL_DEG else "M_IrisLeft" if deg < IRIS_DEG else "M_ScleraLeft"
            if name in EYE_PARTS.values() and deg < CORNEA_DEG:
                return "cornea"
            return name

        index = [slot_names.index(slot(n, m, a)) for n, m, a in zip(mat_names, in_mouth, eye_deg, strict=True)]
        mesh.polygons.foreach_set("material_index", index)
        mesh.polygons.foreach_set("use_smooth", [True] * len(faces))
        mesh.update()
        self.obj = bpy.data.objects.new("Head_ICT", mesh)
        scene.collection.objects.link(self.obj)
        self._verts = to_world(model.neutral, model.landmarks)

    @cached_property
    def used_vertices(self) -> np.ndarray:
        """Indices of vertices that belong to a rendered polygon (for the silhouette bbox)."""
        used = np.zeros(len(self.model.neutral), bool)
        for p in self.obj.data.polygons:
            used[list(p.vertices)] = True
        return np.flatnonzero(used)

    def set_shape(self, identity: np.ndarray | None, expression: np.ndarray | None) -> None:
        self._verts = to_world(self.model.shape_cm(identity, expression), self.model.landmarks)
        self.obj.data.vertices.foreach_set("co", self._verts.ravel())
        self.obj.data.update()

    def set_look(self, tone: int, redness: float, pattern: float, roughness: float, iris: int) -> None:
        self.skin.set(tone, redness, pattern, roughness)
        rgb = skin.IRIS_COLOURS[iris]
        self.iris.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*rgb, 1.0)

    def add_vertex_maps(self, maps: dict[str, np.ndarray]) -> None:
        """Per-vertex float attributes (e.g. :func:`blender_gen.face_features.feature_maps`) for the shaders."""
        for name, values in maps.items():
            att = self.obj.data.attributes.new(name, "FLOAT", "POINT")
            att.data.foreach_set("value", np.asarray(values, np.float32))

    def all_vertices(self) -> np.ndarray:
        """Every vertex at zero pose (world metres), rendered or not."""
        return self._verts

    def rest_vertices(self) -> np.ndarray:
        """Rendered vertices at zero pose (world metres)."""
        return self._verts[self.used_vertices]

    def rest_landmarks(self) -> np.ndarray:
        return self._verts[self.model.landmarks]
