"""The Lee Perry-Smith head scan (CC BY 3.0): glb mesh with colour, specular and normal maps.

The glb is in arbitrary units, +z up, facing -y. We scale it to metres (:data:`LPS_SCALE`) and move
its face centre to the world origin so that it is interchangeable with the ICT heads.
"""

from __future__ import annotations

import bpy
import numpy as np

from blender_gen import materials
from blender_gen.paths import Assets
from blender_gen.scene import silenced_stdout

CREDIT = ("Infinite, 3D Head Scan by Lee Perry-Smith, based on a work at triplegangers.com, "
          "licensed under CC BY 3.0")
LPS_SCALE = 0.058  # glb units -> metres: outer eye corners 8.9 cm apart, as in ICT-FaceKit (MediaPipe-measured)
# Face centre in glb units: nose tip (-0.088, -2.590, 1.097) moved back along +y and down by the
# offset of ICT's mean-of-68-landmarks from its nose tip (3.6 cm back, 0.7 cm down), in glb units.
LPS_FACE_CENTRE = np.array([-0.088, -2.590 + 0.036 / LPS_SCALE, 1.097 - 0.007 / LPS_SCALE])


def _skin_material(assets: Assets, subsurface: float) -> bpy.types.Material:
    mat, bsdf = materials.new_material("LPS_Skin")
    links = mat.node_tree.links
    col = materials.image_node(mat, assets.lps_color, non_color=False)
    spec = materials.image_node(mat, assets.lps_specular, non_color=True)
    nrm = materials.image_node(mat, assets.lps_normal, non_color=True)
    nmap = mat.node_tree.nodes.new("ShaderNodeNormalMap")
    links.new(col.outputs["Color"], bsdf.inputs["Base Color"])
    links.new(spec.outputs["Color"], bsdf.inputs["Specular IOR Level"])
    links.new(nrm.outputs["Color"], nmap.inputs["Color"])
    links.new(nmap.outputs["Normal"], bsdf.inputs["Normal"])
    bsdf.inputs["Roughness"].default_value = 0.5
    if subsurface > 0:
        bsdf.inputs["Subsurface Weight"].default_value = subsurface
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.004
    return mat


def load_lps(assets: Assets, scene: bpy.types.Scene, subsurface: float = 0.0) -> bpy.types.Object:
    """Import the scan into ``scene``: metric scale, face centre at the origin, facing -y."""
    before = set(bpy.data.objects)
    with silenced_stdout():
        bpy.ops.import_scene.gltf(filepath=str(assets.lps_glb))
    new = [o for o in bpy.data.objects if o not in before]
    head = next(o for o in new if o.type == "MESH")
    for o in new:
        if o is not head:
            bpy.data.objects.remove(o, do_unlink=True)
    head.name = "Head_LPS"
    head.data.materials.clear()
    head.data.materials.append(_skin_material(assets, subsurface))
    # Bake scale and centring into the mesh so the object transform is the pure head pose.
    me = head.data
    co = np.empty(len(me.vertices) * 3)
    me.vertices.foreach_get("co", co)
    co = (co.reshape(-1, 3) - LPS_FACE_CENTRE) * LPS_SCALE
    me.vertices.foreach_set("co", co.ravel())
    # The maps use the image-top-left UV origin while Blender's importer flips v for glTF images:
    # flip v back so the lips of the colour map land on the lips of the mesh.
    uv = np.empty(len(me.loops) * 2)
    me.uv_layers.active.data.foreach_get("uv", uv)
    uv[1::2] = 1.0 - uv[1::2]
    me.uv_layers.active.data.foreach_set("uv", uv)
    me.update()
    head.matrix_world = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))
    if head.name not in scene.objects:  # the importer links into the active collection
        scene.collection.objects.link(head)
    return head
