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


def see_through(mat: bpy.types.Material, transparency: float) -> bpy.types.Material:
    """Mix the material's surface with a Transparent BSDF (thin geometry such as eyelashes)."""
    nt = mat.node_tree
    out = nt.nodes["Material Output"]
    surface = out.inputs["Surface"].links[0].from_socket
    mix = nt.nodes.new("ShaderNodeMixShader")
    mix.inputs["Fac"].default_value = transparency
    nt.links.new(surface, mix.inputs[1])
    nt.links.new(nt.nodes.new("ShaderNodeBsdfTransparent").outputs["BSDF"], mix.inputs[2])
    nt.links.new(mix.outputs["Shader"], out.inputs["Surface"])
    return mat


def clear_coat(name: str, ior: float) -> bpy.types.Material:
    """A clear, glossy shell that only reflects (a cornea over the iris): transparent + specular."""
    mat, bsdf = new_material(name)
    bsdf.inputs["Base Color"].default_value = (0.0, 0.0, 0.0, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.03
    bsdf.inputs["IOR"].default_value = ior
    nt = mat.node_tree
    out = nt.nodes["Material Output"]
    add = nt.nodes.new("ShaderNodeAddShader")
    nt.links.new(bsdf.outputs["BSDF"], add.inputs[0])
    nt.links.new(nt.nodes.new("ShaderNodeBsdfTransparent").outputs["BSDF"], add.inputs[1])
    nt.links.new(add.outputs["Shader"], out.inputs["Surface"])
    return mat
