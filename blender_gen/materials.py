"""Small node-building helpers shared by the head materials."""

from __future__ import annotations

from pathlib import Path

import bpy


def new_material(name: str) -> tuple[bpy.types.Material, bpy.types.Node]:
    """A material with a Principled BSDF wired to the output; returns (material, bsdf)."""
    mat = bpy.data.materials.new(name)
    nodes = mat.node_tree.nodes
    bsdf = nodes.get("Principled BSDF") or nodes.new("ShaderNodeBsdfPrincipled")
    out = nodes.get("Material Output") or nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat, bsdf


def image_node(mat: bpy.types.Material, path: Path, non_color: bool) -> bpy.types.Node:
    """An Image Texture node reading ``path`` (loaded once per process)."""
    img = bpy.data.images.load(str(path), check_existing=True)
    if non_color:
        img.colorspace_settings.name = "Non-Color"
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    return node


def plain(name: str, rgb: tuple[float, float, float], roughness: float, specular: float = 0.5) -> bpy.types.Material:
    """A flat-coloured Principled material (eyes, teeth, mouth, lashes)."""
    mat, bsdf = new_material(name)
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Specular IOR Level"].default_value = specular
    return mat
