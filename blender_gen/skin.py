"""Synthesised skin for the ICT heads (the free ICT-FaceKit has no texture).

Albedo = a skin tone from :data:`SKIN_TONES` modulated by smooth blotches (object-space noise, a few
cm) toward a redder/darker variant, plus fine noise driving a bump map for pores. Per-image variation
comes from the tone, the noise offset (``W``) and the redness amount.
"""

from __future__ import annotations

import bpy

from blender_gen import materials

# Monk Skin Tone scale (Google, CC BY 4.0), sRGB hex, lightest (1) to darkest (10).
SKIN_TONES_HEX: tuple[str, ...] = (
    "f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96", "a07e56", "825c43", "604134", "3a312a", "292420",
)
ALBEDO_SCALE = 0.75  # swatches are display colours; real skin albedo peaks around 0.6 linear


def _srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def tone_albedo(index: int) -> tuple[float, float, float]:
    """Linear-RGB albedo of Monk tone ``index`` (0-based)."""
    h = SKIN_TONES_HEX[index]
    return tuple(ALBEDO_SCALE * _srgb_to_linear(int(h[i:i + 2], 16) / 255.0) for i in (0, 2, 4))  # type: ignore[return-value]


class SkinMaterial:
    """One node material whose tone and noise pattern are re-set per image (no recompilation)."""

    def __init__(self) -> None:
        self.material, bsdf = materials.new_material("ICT_Skin")
        nt = self.material.node_tree
        nodes, links = nt.nodes, nt.links
        coord = nodes.new("ShaderNodeTexCoord")
        blotch = nodes.new("ShaderNodeTexNoise")
        blotch.noise_dimensions = "4D"
        blotch.inputs["Scale"].default_value = 25.0  # object space is metres: ~4 cm blotches
        blotch.inputs["Detail"].default_value = 3.0
        pores = nodes.new("ShaderNodeTexNoise")
        pores.noise_dimensions = "4D"
        pores.inputs["Scale"].default_value = 1500.0  # ~0.7 mm
        pores.inputs["Detail"].default_value = 1.0
        self.base = nodes.new("ShaderNodeRGB")
        self.flush = nodes.new("ShaderNodeRGB")  # redder/darker variant the blotches mix toward
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        bump = nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.15
        bump.inputs["Distance"].default_value = 0.0005
        links.new(coord.outputs["Object"], blotch.inputs["Vector"])
        links.new(coord.outputs["Object"], pores.inputs["Vector"])
        links.new(blotch.outputs["Fac"], mix.inputs["Factor"])
        links.new(self.base.outputs["Color"], mix.inputs["A"])
        links.new(self.flush.outputs["Color"], mix.inputs["B"])
        links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
        links.new(pores.outputs["Fac"], bump.inputs["Height"])
        links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
        bsdf.inputs["Roughness"].default_value = 0.45
        bsdf.inputs["Specular IOR Level"].default_value = 0.35
        self.bsdf = bsdf
        self.noises = (blotch, pores)

    def set(self, tone: int, redness: float, pattern: float, roughness: float) -> None:
        """Tone index, redness of the blotches (0-1), noise pattern offset, specular roughness."""
        r, g, b = tone_albedo(tone)
        self.base.outputs["Color"].default_value = (r, g, b, 1.0)
        k = 1.0 - 0.5 * redness
        self.flush.outputs["Color"].default_value = (r, g * k, b * k, 1.0)
        for n in self.noises:
            n.inputs["W"].default_value = pattern
        self.bsdf.inputs["Roughness"].default_value = roughness


IRIS_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.06, 0.03, 0.015), (0.12, 0.06, 0.02), (0.16, 0.12, 0.05), (0.08, 0.13, 0.2), (0.09, 0.12, 0.07),
)  # dark brown, brown, hazel, blue, green (linear RGB)


def part_materials() -> dict[str, bpy.types.Material]:
    """Flat materials for the non-skin parts, keyed by ICT material name (plus ``mouth``, ``iris``)."""
    sclera = materials.plain("Sclera", (0.75, 0.72, 0.68), 0.15)
    iris = materials.plain("Iris", IRIS_COLOURS[0], 0.15)
    return {
        "M_ScleraLeft": sclera,
        "M_ScleraRight": sclera,
        "M_IrisLeft": iris,
        "M_IrisRight": iris,
        "M_Teeth": materials.plain("Teeth", (0.6, 0.57, 0.5), 0.3),
        "M_GumsTongue": materials.plain("Gums", (0.2, 0.04, 0.04), 0.4),
        "M_EyeLashes": materials.see_through(materials.plain("Lashes", (0.015, 0.012, 0.01), 0.6, 0.2), 0.75),
        "pupil": materials.plain("Pupil", (0.005, 0.005, 0.005), 0.1),
        "cornea": materials.clear_coat("Cornea", ior=1.376),
        "mouth": materials.plain("MouthInterior", (0.03, 0.01, 0.01), 0.6, 0.2),
    }
