"""Targets of the natural-light model in the head frame, and back: dominant direction, ambient share, the
9 SH luminance coefficients normalised by the DC term, and the dominant light's chromaticity.

The light-points are fixed on the face, so (as product-v5 does for the direction) the model learns the
lighting in the head frame (:mod:`lightest.headpose`) and the runtime rotates it back with the face's pose.
SH coefficients rotate with :func:`sh_in_frame` (band by band; solved once on a fixed set of directions).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from lightest.sh import luminance, sh_basis, sphere_directions

#: Model outputs in order (head frame): direction, ambient share, SH luminance 1..8 over coefficient 0,
#: chromaticity of the dominant light minus D65's, times :data:`XY_SCALE`.
OUTPUTS = ("dir_x", "dir_y", "dir_z", "ambient", *(f"sh{j}" for j in range(1, 9)), "colour_x", "colour_y")
GROUPS = {"direction": slice(0, 3), "ambient": slice(3, 4), "sh": slice(4, 12), "colour": slice(12, 14)}
WHITE_XY = np.array([0.31271, 0.32902])  # D65
XY_SCALE = 10.0
#: SH coefficients that change sign when the face is mirrored left-right (odd in x: x, xy, xz).
SH_ODD_IN_X = np.array([3, 4, 7])


@cache
def _fit_directions() -> tuple[np.ndarray, np.ndarray]:
    d = sphere_directions(64)
    return d, np.linalg.pinv(sh_basis(d))


def sh_in_frame(sh: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Coefficients ``(n, 9)`` of ``g(d) = f(rotation @ d)`` for SH ``f`` given as ``(n, 9)`` with per-row
    ``rotation`` ``(n, 3, 3)``. Head frame from camera frame: ``rotation`` = the head rotation (its columns
    the head axes in the camera frame); back to the camera frame: its transpose. Exact for order 2."""
    d, pinv = _fit_directions()
    rotated = np.einsum("nij,kj->nki", np.asarray(rotation, float), d)  # (n, k, 3): rotation @ d_k
    return np.einsum("jk,nkl,nl->nj", pinv, sh_basis(rotated), np.asarray(sh, float))


def head_targets(
    dir_camera: np.ndarray, ambient: np.ndarray, sh_rgb: np.ndarray, xy: np.ndarray, head_rotation: np.ndarray
) -> np.ndarray:
    """Target rows ``(n, 14)`` (:data:`OUTPUTS`) from camera-frame labels and the faces' head rotations."""
    d = np.einsum("nji,nj->ni", head_rotation, dir_camera)  # R^T d
    s = sh_in_frame(luminance(sh_rgb), head_rotation)
    s = s[:, 1:] / s[:, :1]
    colour = (xy - WHITE_XY) * XY_SCALE
    return np.concatenate([d, ambient.reshape(-1, 1), s, colour], axis=1)


def mirror_targets(y: np.ndarray) -> np.ndarray:
    """Targets of the left-right mirrored face: head-frame x flips, and so do the SH terms odd in x."""
    y = y.copy()
    y[:, 0] *= -1.0
    y[:, GROUPS["sh"].start + SH_ODD_IN_X - 1] *= -1.0
    return y


def camera_outputs(y: np.ndarray, head_rotation: np.ndarray) -> dict[str, np.ndarray]:
    """Model outputs ``(n, 14)`` back in the camera frame: unit ``direction`` ``(n, 3)``, ``ambient`` (clipped
    to [0, 1]), gray ``sh`` ``(n, 9, 3)`` (luminance in every channel, DC = 1), chromaticity ``xy``."""
    d = np.einsum("nij,nj->ni", head_rotation, y[:, :3])
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    s_head = np.concatenate([np.ones((len(y), 1)), y[:, GROUPS["sh"]]], axis=1)
    s_cam = sh_in_frame(s_head, np.transpose(head_rotation, (0, 2, 1)))
    return {
        "direction": d,
        "ambient": np.clip(y[:, 3], 0.0, 1.0),
        "sh": np.repeat(s_cam[:, :, None], 3, axis=2),
        "xy": y[:, GROUPS["colour"]] / XY_SCALE + WHITE_XY,
    }
