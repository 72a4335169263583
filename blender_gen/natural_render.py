"""bpy side of the ``natural`` preset: the HDRI world, the added lights, the featured skin, hair cap and glasses,
and the label of each render (:mod:`blender_gen.envsh` on the lighting actually set).

Nothing here changes the other presets: :class:`NaturalRenderer` is used only for :class:`NaturalParams`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from blender_gen import coords, envsh, face_features, heads_ict, lighting, materials, scene
from blender_gen.labels import FACE_CENTRE_WORLD, _r, camera_fields, head_fields
from blender_gen.natural import HAIR_COLOURS, NaturalLight, NaturalParams
from blender_gen.paths import Assets
from blender_gen.render import Renderer
from blender_gen.skin import SkinMaterial
from lightest import frames

AUTO_EXPOSURE_WHITE = 0.85  # linear value of white under the mean front-hemisphere irradiance (before jitter)
MAX_LIGHTS = 3


def hdri_dir() -> Path:
    """bpy's studio-light HDRIs (CC0, Poly Haven): ``<bpy>/<version>/datafiles/studiolights/world``."""
    path = bpy.utils.system_resource("DATAFILES", path="studiolights/world")
    if not path or not Path(path).is_dir():
        raise RuntimeError("bpy's datafiles/studiolights/world HDRIs not found")
    return Path(path)


def _value(nodes: bpy.types.Nodes, v: float = 0.0) -> bpy.types.Node:
    n = nodes.new("ShaderNodeValue")
    n.outputs[0].default_value = v
    return n


def _map(nt: bpy.types.NodeTree, src: bpy.types.NodeSocket, lo: Any, hi: Any, to_lo: float, to_hi: float,
         smooth: bool = True) -> bpy.types.Node:
    """Map Range ``src`` from [lo, hi] to [to_lo, to_hi] (clamped); lo/hi may be sockets."""
    m = nt.nodes.new("ShaderNodeMapRange")
    if smooth:
        m.interpolation_type = "SMOOTHSTEP"
    nt.links.new(src, m.inputs["Value"])
    for name, v in (("From Min", lo), ("From Max", hi)):
        if isinstance(v, bpy.types.NodeSocket):
            nt.links.new(v, m.inputs[name])
        else:
            m.inputs[name].default_value = v
    m.inputs["To Min"].default_value, m.inputs["To Max"].default_value = to_lo, to_hi
    return m


def _math(nt: bpy.types.NodeTree, op: str, a: Any, b: Any) -> bpy.types.NodeSocket:
    n = nt.nodes.new("ShaderNodeMath")
    n.operation = op
    for sock, v in zip(n.inputs[:2], (a, b), strict=True):
        if isinstance(v, bpy.types.NodeSocket):
            nt.links.new(v, sock)
        else:
            sock.default_value = v
    return n.outputs[0]


def _mix(nt: bpy.types.NodeTree, blend: str, fac: bpy.types.NodeSocket, a: bpy.types.NodeSocket,
         b: Any) -> bpy.types.NodeSocket:
    m = nt.nodes.new("ShaderNodeMix")
    m.data_type = "RGBA"
    m.blend_type = blend
    nt.links.new(fac, m.inputs["Factor"])
    nt.links.new(a, m.inputs["A"])
    if isinstance(b, bpy.types.NodeSocket):
        nt.links.new(b, m.inputs["B"])
    else:
        m.inputs["B"].default_value = (*b, 1.0)
    return m.outputs["Result"]


def _attr(nt: bpy.types.NodeTree, name: str) -> bpy.types.NodeSocket:
    a = nt.nodes.new("ShaderNodeAttribute")
    a.attribute_type = "GEOMETRY"
    a.attribute_name = name
    return a.outputs["Factor"]


def _noise(nt: bpy.types.NodeTree, vec: bpy.types.NodeSocket, scale: float, detail: float,
           stretch: tuple[float, float, float] | None = None) -> bpy.types.Node:
    n = nt.nodes.new("ShaderNodeTexNoise")
    n.noise_dimensions = "4D"
    n.inputs["Scale"].default_value = scale
    n.inputs["Detail"].default_value = detail
    if stretch is not None:
        mp = nt.nodes.new("ShaderNodeMapping")
        mp.inputs["Scale"].default_value = stretch
        nt.links.new(vec, mp.inputs["Vector"])
        vec = mp.outputs["Vector"]
    nt.links.new(vec, n.inputs["Vector"])
    return n


class FeaturedSkin(SkinMaterial):
    """The ``diverse`` skin plus brows, lash line, eye-socket darkening, lips, stubble, freckles and subsurface
    scattering, placed by the per-vertex maps of :mod:`blender_gen.face_features`."""

    def __init__(self) -> None:
        super().__init__()
        self.material.name = "ICT_SkinFeatured"
        nt = self.material.node_tree
        nodes = nt.nodes
        bsdf = self.bsdf
        col = bsdf.inputs["Base Color"].links[0].from_socket  # tone/blotch mix of SkinMaterial
        obj = next(n for n in nodes if n.bl_idname == "ShaderNodeTexCoord").outputs["Object"]
        v = {k: _value(nodes) for k in ("freckles", "socket", "lip", "stubble", "brow", "brow_w", "sss")}
        self.values = v
        self.hair_rgb = nodes.new("ShaderNodeRGB")
        self.lip_rgb = nodes.new("ShaderNodeRGB")
        # freckles: sparse spots of a noise, darker and browner
        fr = _noise(nt, obj, 180.0, 2.0)
        self.feature_noises = [fr]
        fr_m = _map(nt, fr.outputs["Factor"], 0.6, 0.68, 0.0, 1.0)
        col = _mix(nt, "MULTIPLY", _math(nt, "MULTIPLY", fr_m.outputs[0], v["freckles"].outputs[0]), col,
                   (0.6, 0.45, 0.35))
        # eye sockets: darker, slightly purple-brown, within ~1.6 cm of the eye contour
        sock = _attr(nt, "socket")
        s_m = _map(nt, sock, 0.0, 1.4, 0.3, 0.0)
        col = _mix(nt, "MULTIPLY", _math(nt, "MULTIPLY", s_m.outputs[0], v["socket"].outputs[0]), col,
                   (0.55, 0.42, 0.45))
        # lips
        lip = _attr(nt, "lip")
        l_m = _map(nt, lip, -0.12, 0.1, 1.0, 0.0)
        col = _mix(nt, "MULTIPLY", _math(nt, "MULTIPLY", l_m.outputs[0], v["lip"].outputs[0]), col,
                   self.lip_rgb.outputs["Color"])
        # stubble: beard shadow plus sub-millimetre dots of hair colour
        beard = _math(nt, "MULTIPLY", _attr(nt, "beard"), v["stubble"].outputs[0])
        col = _mix(nt, "MULTIPLY", _math(nt, "MULTIPLY", beard, 0.6), col, (0.62, 0.6, 0.6))
        dots = _noise(nt, obj, 2500.0, 0.0)
        self.feature_noises.append(dots)
        d_m = _map(nt, dots.outputs["Factor"], 0.5, 0.62, 0.0, 1.0)
        col = _mix(nt, "MIX", _math(nt, "MULTIPLY", beard, d_m.outputs[0]), col, self.hair_rgb.outputs["Color"])
        # lash line: very close to the eye contour
        lash = _map(nt, sock, 0.03, 0.15, 0.7, 0.0)
        col = _mix(nt, "MIX", lash.outputs[0], col, self.hair_rgb.outputs["Color"])
        # eyebrows: inside the (per-image width) brow map, streaked by elongated noise (hairs)
        brow = _attr(nt, "brow")
        lo = _math(nt, "MULTIPLY", v["brow_w"].outputs[0], 0.7)
        hi = _math(nt, "MULTIPLY", v["brow_w"].outputs[0], 1.1)
        b_m = _map(nt, brow, lo, hi, 1.0, 0.0)
        hairs = _noise(nt, obj, 1.0, 1.0, stretch=(500.0, 1800.0, 1800.0))
        self.feature_noises.append(hairs)
        h_m = _map(nt, hairs.outputs["Factor"], 0.4, 0.6, 0.45, 1.0)
        b_a = _math(nt, "MULTIPLY", _math(nt, "MULTIPLY", b_m.outputs[0], h_m.outputs[0]), v["brow"].outputs[0])
        col = _mix(nt, "MIX", b_a, col, self.hair_rgb.outputs["Color"])
        nt.links.new(col, bsdf.inputs["Base Color"])
        nt.links.new(v["sss"].outputs[0], bsdf.inputs["Subsurface Weight"])
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.003  # metres: ~3 mm mean free path in red

    def set_features(self, p: NaturalParams) -> None:
        v = self.values
        for k, x in (("freckles", p.freckles), ("socket", p.socket_darkening), ("lip", p.lip_strength),
                     ("stubble", p.stubble), ("brow", p.brow_strength), ("brow_w", p.brow_width),
                     ("sss", p.subsurface)):
            v[k].outputs[0].default_value = x
        self.hair_rgb.outputs["Color"].default_value = (*HAIR_COLOURS[p.hair_colour], 1.0)
        k = 1.0 - 0.35 * p.lip_darkness
        self.lip_rgb.outputs["Color"].default_value = (0.85 * k, 0.36 * k, 0.4 * k, 1.0)
        for n in self.feature_noises:
            n.inputs["W"].default_value = p.skin_pattern


class HairCap:
    """Short hair / fringe: the skin's upper head offset outward along the normals, cut by a per-image hairline
    (with clumped, strand-like edges) through alpha."""

    THICK_CM = (0.35, 0.9)  # at the hairline, on the crown

    def __init__(self, model: heads_ict.IctModel, maps: dict[str, np.ndarray], sc: bpy.types.Scene) -> None:
        skin_ids = [model.material_names.index(n) for n in heads_ict.SKIN_PARTS]
        starts = np.concatenate([[0], np.cumsum(model.face_sizes)[:-1]])
        polys = [model.face_vertex_indices[s:s + n] for s, n, m in
                 zip(starts, model.face_sizes, model.face_material, strict=True) if m in skin_ids]
        hair = maps["hair"]
        mouth = heads_ict.MOUTH_SOCKET
        polys = [f for f in polys if hair[f].min() > -2.5 and not (mouth[0] <= f[0] <= mouth[1])]
        self.vidx = np.unique(np.concatenate(polys))
        remap = np.full(len(model.neutral), -1)
        remap[self.vidx] = np.arange(len(self.vidx))
        # normals come from the whole skin surface (so the cap's rim gets the same normals as the skin)
        skin_polys = [model.face_vertex_indices[s:s + n] for s, n, m in
                      zip(starts, model.face_sizes, model.face_material, strict=True) if m in skin_ids]
        self._skin_sizes = np.array([len(f) for f in skin_polys])
        self._skin_flat = np.concatenate(skin_polys)
        self.model = model
        self.coord = hair[self.vidx]
        mesh = bpy.data.meshes.new("HairCap")
        mesh.from_pydata(np.zeros((len(self.vidx), 3)).tolist(), [], [remap[f].tolist() for f in polys])
        att = mesh.attributes.new("hair", "FLOAT", "POINT")
        att.data.foreach_set("value", self.coord)
        mesh.polygons.foreach_set("use_smooth", [True] * len(polys))
        self.obj = bpy.data.objects.new("HairCap", mesh)
        sc.collection.objects.link(self.obj)
        self.material = self._material()
        mesh.materials.append(self.material)

    def _material(self) -> bpy.types.Material:
        mat, bsdf = materials.new_material("Hair")
        nt = mat.node_tree
        obj = nt.nodes.new("ShaderNodeTexCoord").outputs["Object"]
        self.rgb = nt.nodes.new("ShaderNodeRGB")
        self.hairline = _value(nt.nodes)
        clumps = _noise(nt, obj, 1.0, 2.0, stretch=(260.0, 260.0, 30.0))  # vertical clumps ~4 mm wide
        strands = _noise(nt, obj, 1.0, 1.0, stretch=(2500.0, 2500.0, 150.0))
        self.noises = (clumps, strands)
        jag = _math(nt, "MULTIPLY", _math(nt, "SUBTRACT", clumps.outputs["Factor"], 0.5), 4.0)  # +-2 cm
        edge = _math(nt, "ADD", _attr(nt, "hair"), jag)
        alpha = _map(nt, edge, self.hairline.outputs[0], _math(nt, "ADD", self.hairline.outputs[0], 0.5), 0.0, 1.0)
        shade = _map(nt, strands.outputs["Factor"], 0.3, 0.7, 0.6, 1.4, smooth=False)
        vm = nt.nodes.new("ShaderNodeVectorMath")  # hair colour scaled by the strand shading
        vm.operation = "SCALE"
        nt.links.new(self.rgb.outputs["Color"], vm.inputs[0])
        nt.links.new(shade.outputs[0], vm.inputs["Scale"])
        nt.links.new(vm.outputs["Vector"], bsdf.inputs["Base Color"])
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.4
        bump.inputs["Distance"].default_value = 0.0005
        nt.links.new(strands.outputs["Factor"], bump.inputs["Height"])
        nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
        bsdf.inputs["Roughness"].default_value = 0.45
        bsdf.inputs["Specular IOR Level"].default_value = 0.5
        out = nt.nodes["Material Output"]
        mix = nt.nodes.new("ShaderNodeMixShader")
        nt.links.new(alpha.outputs[0], mix.inputs["Fac"])
        nt.links.new(nt.nodes.new("ShaderNodeBsdfTransparent").outputs["BSDF"], mix.inputs[1])
        nt.links.new(bsdf.outputs["BSDF"], mix.inputs[2])
        nt.links.new(mix.outputs["Shader"], out.inputs["Surface"])
        return mat

    def set(self, verts_world: np.ndarray, p: NaturalParams) -> None:
        """Place the cap on the head's rest vertices (world metres, full ICT vertex array)."""
        nrm = face_features.vertex_normals(verts_world, self._skin_flat, self._skin_sizes)[self.vidx]
        t = np.clip(self.coord / 6.0, 0.0, 1.0)
        thick_m = (self.THICK_CM[0] + (self.THICK_CM[1] - self.THICK_CM[0]) * t) / 100.0
        co = verts_world[self.vidx] + nrm * thick_m[:, None]
        self.obj.data.vertices.foreach_set("co", co.ravel())
        self.obj.data.update()
        self.rgb.outputs["Color"].default_value = (*HAIR_COLOURS[p.hair_colour], 1.0)
        self.hairline.outputs[0].default_value = p.hairline_cm
        for n in self.noises:
            n.inputs["W"].default_value = p.skin_pattern


def _tube(path: np.ndarray, radius: float, closed: bool, k: int = 6) -> tuple[np.ndarray, list[list[int]]]:
    """Vertices and quads of a tube of ``radius`` swept along ``path`` (m, 3)."""
    n = len(path)
    nxt = np.roll(path, -1, 0) if closed else np.vstack([path[1:], 2 * path[-1] - path[-2]])
    prv = np.roll(path, 1, 0) if closed else np.vstack([2 * path[0] - path[1], path[:-1]])
    tan = frames.normalize(nxt - prv)
    ref = np.where(np.abs(tan[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = frames.normalize(np.cross(tan, ref))
    w = np.cross(tan, u)
    ang = 2 * np.pi * np.arange(k) / k
    verts = (path[:, None] + radius * (np.cos(ang)[None, :, None] * u[:, None] + np.sin(ang)[None, :, None]
                                       * w[:, None])).reshape(-1, 3)
    faces = []
    for i in range(n if closed else n - 1):
        j = (i + 1) % n
        faces += [[i * k + a, i * k + (a + 1) % k, j * k + (a + 1) % k, j * k + a] for a in range(k)]
    return verts, faces


class Glasses:
    """Simple spectacles in ICT's frame (cm, +z out of the face), built once for the neutral eyes and re-placed per
    image from the identity's eye landmarks: two rounded rims, a bridge, two temples, clear glossy lenses."""

    def __init__(self, sc: bpy.types.Scene) -> None:
        verts, faces, mat_idx = [], [], []

        def add(v: np.ndarray, f: list[list[int]], m: int) -> None:
            base = sum(len(x) for x in verts)
            verts.append(v)
            faces.extend([[i + base for i in face] for face in f])
            mat_idx.extend([m] * len(f))

        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        a, b, ex = 2.45, 1.75, 4.0  # half width/height (cm), superellipse exponent
        rim = np.stack([a * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / ex),
                        b * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / ex), np.zeros_like(t)], 1)
        for side in (-1, 1):
            c = np.array([side * 3.25, 0.0, 0.0])
            v, f = _tube(rim + c, 0.18, closed=True)
            add(v, f, 0)
            add(np.vstack([c, rim + c]), [[0, 1 + i, 1 + (i + 1) % len(t)] for i in range(len(t))], 1)
            temple = np.array([[side * (3.25 + a), 0.4, 0.0], [side * (3.25 + a + 0.6), 0.4, -1.5],
                               [side * 7.3, 0.5, -8.0], [side * 7.1, -0.8, -10.0]])
            v, f = _tube(temple, 0.15, closed=False)
            add(v, f, 0)
        bridge = np.array([[-3.25 + a, 0.4, 0.0], [-0.8, 0.9, 0.3], [0.8, 0.9, 0.3], [3.25 - a, 0.4, 0.0]])
        v, f = _tube(bridge, 0.14, closed=False)
        add(v, f, 0)
        self.local_cm = np.vstack(verts)
        mesh = bpy.data.meshes.new("Glasses")
        mesh.from_pydata(np.zeros_like(self.local_cm).tolist(), [], faces)
        self.frame_mat, self.frame_bsdf = materials.new_material("GlassesFrame")
        self.frame_bsdf.inputs["Roughness"].default_value = 0.3
        mesh.materials.append(self.frame_mat)
        lens = materials.clear_coat("GlassesLens", ior=1.5)
        lens.node_tree.nodes["Principled BSDF"].inputs["Specular IOR Level"].default_value = 0.25  # AR coated
        mesh.materials.append(lens)
        mesh.polygons.foreach_set("material_index", mat_idx)
        mesh.polygons.foreach_set("use_smooth", [True] * len(faces))
        self.obj = bpy.data.objects.new("Glasses", mesh)
        sc.collection.objects.link(self.obj)

    def set(self, verts_cm: np.ndarray, landmarks: np.ndarray, p: NaturalParams) -> None:
        """Place on the identity (ICT cm vertices); the mesh goes into the head's rest frame (world metres)."""
        lm = verts_cm[landmarks]
        eye_r, eye_l = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
        centre = (eye_r + eye_l) / 2.0
        s = float(np.linalg.norm(eye_l - eye_r)) / 6.5 * p.glasses_size
        front = (lm[39, 2] + lm[42, 2]) / 2.0 + 2.0  # lenses ~1.5 cm in front of the corneas (ICT: 9.65 cm)
        v = self.local_cm * np.array([s, s, 1.0]) + np.array([centre[0], centre[1] + 0.2, front])
        world = heads_ict.to_world(np.vstack([verts_cm[landmarks], v]), np.arange(len(landmarks)))
        self.obj.data.vertices.foreach_set("co", world[len(landmarks):].ravel())
        self.obj.data.update()
        self.frame_bsdf.inputs["Base Color"].default_value = (*p.glasses_rgb, 1.0)
        self.frame_bsdf.inputs["Metallic"].default_value = 1.0 if p.glasses_rgb[0] > 0.15 else 0.0


class EnvWorld:
    """World = HDRI (Mapping POINT rotation about +z, times a tint and a strength); also seen behind the head."""

    def __init__(self, rig: scene.Rig) -> None:
        nt = rig.scene.world.node_tree
        tc = nt.nodes.new("ShaderNodeTexCoord")
        self.mapping = nt.nodes.new("ShaderNodeMapping")
        self.mapping.vector_type = "POINT"
        self.env = nt.nodes.new("ShaderNodeTexEnvironment")
        self.tint = nt.nodes.new("ShaderNodeMix")
        self.tint.data_type = "RGBA"
        self.tint.blend_type = "MULTIPLY"
        self.tint.inputs["Factor"].default_value = 1.0
        nt.links.new(tc.outputs["Generated"], self.mapping.inputs["Vector"])
        nt.links.new(self.mapping.outputs["Vector"], self.env.inputs["Vector"])
        nt.links.new(self.env.outputs["Color"], self.tint.inputs["A"])
        nt.links.new(self.tint.outputs["Result"], rig.background.inputs["Color"])
        self.background = rig.background
        # Cycles' automatic importance map of a 1024x512 HDRI costs ~1.4 s per render on one core; 256 costs
        # ~0.1 s with no visible difference at 16 samples + denoising (measured, docs/blender_gen.md)
        rig.scene.world.cycles.sampling_method = "MANUAL"
        rig.scene.world.cycles.sample_map_resolution = 256
        self._samples: dict[str, envsh.EnvSamples] = {}
        self.dir = hdri_dir()

    def samples(self, name: str) -> envsh.EnvSamples:
        """The HDRI as Cycles reads it (bpy's pixels, linear), reduced for the label (cached)."""
        if name not in self._samples:
            img = self._image(name)
            w, h = img.size
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
            self._samples[name] = envsh.EnvSamples.from_equirect(px.reshape(h, w, 4)[::-1, :, :3])
        return self._samples[name]

    def _image(self, name: str) -> bpy.types.Image:
        return bpy.data.images.load(str(self.dir / f"{name}.exr"), check_existing=True)

    def set(self, name: str, rotation_deg: float, scale: float, tint: tuple[float, float, float]) -> None:
        self.env.image = self._image(name)
        self.mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(rotation_deg))
        self.tint.inputs["B"].default_value = (*tint, 1.0)
        self.background.inputs["Strength"].default_value = scale


class LightPool:
    """Up to three point and three area lights, switched on as each image needs."""

    def __init__(self, sc: bpy.types.Scene) -> None:
        self.objs: dict[str, list[bpy.types.Object]] = {"point": [], "area": []}
        for kind, typ in (("point", "POINT"), ("area", "AREA")):
            for i in range(MAX_LIGHTS):
                data = bpy.data.lights.new(f"N_{kind}{i}", typ)
                if typ == "POINT":
                    data.use_soft_falloff = False
                else:
                    data.shape = "RECTANGLE"
                obj = bpy.data.objects.new(f"N_{kind}{i}", data)
                obj.visible_camera = False
                sc.collection.objects.link(obj)
                obj.hide_render = True
                self.objs[kind].append(obj)

    def set(self, specs: list[envsh.LightSpec]) -> None:
        used = {"point": 0, "area": 0}
        for spec in specs:
            obj = self.objs[spec.kind][used[spec.kind]]
            used[spec.kind] += 1
            obj.hide_render = False
            d = obj.data
            d.energy = spec.power_w
            d.color = spec.rgb
            m = np.eye(4)
            if spec.kind == "area":
                m[:3, :3] = np.asarray(spec.matrix, float)
                d.size, d.size_y = spec.size_m
            else:
                d.shadow_soft_size = spec.radius_m
            m[:3, 3] = spec.position
            scene.set_matrix(obj, m)
        for kind, objs in self.objs.items():
            for obj in objs[used[kind]:]:
                obj.hide_render = True


def light_spec(light: NaturalLight, env_irradiance: float) -> envsh.LightSpec:
    """Watts for a light whose irradiance facing it is ``share * env_irradiance`` (luminance)."""
    rgb = tuple(float(c) for c in envsh.planck_rgb(light.kelvin))
    unit = envsh.LightSpec(light.kind, light.position, 1.0, rgb, light.radius_m, light.size_m, light.matrix)
    d, e = envsh.light_samples(unit, FACE_CENTRE_WORLD)
    facing = frames.normalize((d * (e @ envsh.LUMA)[:, None]).sum(axis=0))  # toward the light's centroid
    e1 = float(envsh.exact_irradiance(d, e, facing[None])[0] @ envsh.LUMA)
    return envsh.LightSpec(light.kind, light.position, light.share * env_irradiance / e1, rgb, light.radius_m,
                           light.size_m, light.matrix)


class NaturalRenderer(Renderer):
    """:class:`Renderer` with the natural preset's world, lights, featured ICT skin, hair and glasses."""

    def __init__(self, assets: Assets, width: int, height: int, samples: int, device: str = "CPU",
                 denoise: bool = False) -> None:
        super().__init__(assets, width, height, samples, device, denoise)
        self.world = EnvWorld(self.rig)
        self.lights = LightPool(self.scene)
        self.rig.light.hide_render = True  # the base rig's key light is unused here
        self.scene.cycles.transparent_max_bounces = 8
        self._extras: dict[str, Any] = {}

    def _head(self, name: str) -> Any:
        if name == "ict" and "ict" not in self._heads:
            model = heads_ict.IctModel.load(self.assets)
            head = heads_ict.IctHead(model, self.scene, skin_material=FeaturedSkin())
            maps = face_features.feature_maps(model.neutral, model.landmarks)
            head.add_vertex_maps(maps)
            self._heads["ict"] = head
            self._extras["hair"] = HairCap(model, maps, self.scene)
            self._extras["glasses"] = Glasses(self.scene)
        return super()._head(name)

    def pose_natural(self, p: NaturalParams) -> tuple[Any, list[envsh.LightSpec], float]:
        head = self._head(p.head)
        rot = np.eye(4)
        rot[:3, :3] = coords.head_world_rotation(*p.head_pose_deg)
        scene.set_matrix(head.obj, rot)
        hair, glasses = self._extras.get("hair"), self._extras.get("glasses")
        if p.head == "ict":
            head.set_shape(p.identity_weights, p.expression_weights)
            head.set_look(p.skin_tone, p.skin_redness, p.skin_pattern, p.skin_roughness, p.iris)
            head.skin.set_features(p)
            if p.hair:
                hair.set(head.all_vertices(), p)
            if p.glasses:
                glasses.set(head.model.shape_cm(p.identity_weights, p.expression_weights), head.model.landmarks, p)
        for extra, on in ((hair, p.head == "ict" and p.hair), (glasses, p.head == "ict" and p.glasses)):
            if extra is not None:
                extra.obj.hide_render = not on
                scene.set_matrix(extra.obj, rot)
        self.rig.set_camera(coords.frontal_camera(p.camera_distance_m), p.focal_mm)
        env = self.world.samples(p.hdri)
        env_irr = float(env.flux.sum(axis=0) @ envsh.LUMA) / 4.0  # mean irradiance of the unscaled map
        specs = [light_spec(light, env_irr) for light in p.lights]
        self.lights.set(specs)
        self.world.set(p.hdri, p.hdri_rotation_deg, p.hdri_scale, p.hdri_tint)
        return head, specs, env_irr

    def lighting_samples(self, p: NaturalParams, specs: list[envsh.LightSpec]) -> tuple[np.ndarray, np.ndarray,
                                                                                       list[dict]]:
        """World directions and RGB irradiance of everything lighting the face centre, and per-light rows."""
        dirs, flux = self.world.samples(p.hdri).world(p.hdri_rotation_deg, p.hdri_scale, np.asarray(p.hdri_tint))
        all_d, all_e, rows = [dirs], [flux], []
        for light, spec in zip(p.lights, specs, strict=True):
            d, e = envsh.light_samples(spec, FACE_CENTRE_WORLD)
            all_d.append(d)
            all_e.append(e)
            rows.append({"role": light.role, "kind": spec.kind, "position_world_m": _r(spec.position),
                         "kelvin": round(light.kelvin, 1), "rgb_linear": _r(spec.rgb, 5),
                         "power_w": round(spec.power_w, 6), "radius_m": spec.radius_m, "size_m": list(spec.size_m),
                         "irradiance_rgb": _r(e.sum(axis=0), 6)})
        return np.vstack(all_d), np.vstack(all_e), rows

    def render(self, p: Any, out_path: Path) -> dict[str, Any]:
        if not isinstance(p, NaturalParams):
            return super().render(p, out_path)
        head, specs, env_irr = self.pose_natural(p)
        cam = coords.frontal_camera(p.camera_distance_m)
        dirs_w, e_rgb, light_rows = self.lighting_samples(p, specs)
        dirs_c = dirs_w @ cam[:3, :3]  # world -> camera (rotation only)
        normals = frames.normalize(np.array([[x, y, 1.0] for x in (-0.8, 0.0, 0.8) for y in (-0.8, 0.0, 0.8)]))
        e_front = float(np.mean(envsh.exact_irradiance(dirs_c, e_rgb, normals) @ envsh.LUMA))
        stops = lighting.exposure_stops(e_front, AUTO_EXPOSURE_WHITE) + p.exposure_jitter_stops
        self.rig.set_exposure(stops)
        self.render_image(p, out_path)
        return natural_label(p, self.width, self.height, head, cam, dirs_c, e_rgb, light_rows, stops, env_irr)


def natural_label(p: NaturalParams, width: int, height: int, head: Any, cam: np.ndarray, dirs_c: np.ndarray,
                  e_rgb: np.ndarray, light_rows: list[dict], stops: float, env_irr: float) -> dict[str, Any]:
    rot = coords.head_world_rotation(*p.head_pose_deg)
    head_axes = coords.HEAD_TO_WORLD @ coords.head_pose_matrix(*p.head_pose_deg)
    cam_to_head = head_axes.T @ cam[:3, :3]
    lab = envsh.lighting_label(dirs_c, e_rgb, cam_to_head)
    lms = head.rest_landmarks()
    d = np.asarray(lab["dominant_dir_camera"] or [0.0, 0.0, 1.0])
    az, el = frames.angles_from_direction(d)
    for lr in light_rows:
        lr["position_camera_m"] = _r(coords.world_to_camera(cam, np.asarray(lr["position_world_m"])))
        lr["dir_camera"] = _r(frames.normalize(coords.camera_dir(cam, np.asarray(lr["position_world_m"]))))
    row: dict[str, Any] = {
        **head_fields(p),
        "face_centre_camera_m": _r(coords.world_to_camera(cam, FACE_CENTRE_WORLD)),
        "sh_rgb": _r(lab["sh_rgb"], 6),
        "dominant_dir_camera": None if lab["dominant_dir_camera"] is None else _r(lab["dominant_dir_camera"]),
        "dominant_dir_head": None if lab["dominant_dir_head"] is None else _r(lab["dominant_dir_head"]),
        "ambient_share": round(lab["ambient_share"], 6),
        "ambient_ratio": round(lab["ambient_share"], 6),
        "dominant_rgb": None if lab["dominant_rgb"] is None else _r(lab["dominant_rgb"], 5),
        "dominant_xy": None if lab["dominant_xy"] is None else _r(lab["dominant_xy"], 5),
        "dominant_cct_k": None if lab["dominant_cct_k"] is None else round(lab["dominant_cct_k"], 1),
        "dominant_duv": None if lab["dominant_duv"] is None else round(lab["dominant_duv"], 5),
        "total_xy": _r(lab["total_xy"], 5),
        "total_cct_k": round(lab["total_cct_k"], 1),
        "light_dir_camera": _r(d),
        "light_dir_head": _r(cam_to_head @ d),
        "light_azimuth_deg": round(float(az), 4),
        "light_elevation_deg": round(float(el), 4),
        "light_angle_from_view_deg": round(float(frames.angle_between_deg(d, [0, 0, 1])), 4),
        "lab": p.lab,
        "hdri": p.hdri,
        "hdri_rotation_deg": round(p.hdri_rotation_deg, 4),
        "hdri_scale": round(p.hdri_scale, 6),
        "hdri_tint": _r(p.hdri_tint, 6),
        "hdri_tint_kelvin": round(p.hdri_tint_kelvin, 1),
        "hdri_mean_irradiance": round(env_irr, 6),
        "lights": light_rows,
        "exposure_stops": round(stops, 4),
        **camera_fields(p, width, height, cam, head.rest_vertices() @ rot.T, None if lms is None else lms @ rot.T),
    }
    return row
