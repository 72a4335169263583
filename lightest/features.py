"""Model inputs from sampled light-points: the single code path shared by the runtime and training.

A model card lists feature blocks by name; :func:`feature_vector` concatenates them in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lightest.physics import fit_lambertian, srgb_to_linear
from lightest.sampling import Samples

#: Added to linear intensity before the log in ``gray_logz`` (about 1/255 in sRGB: sensor noise floor).
LOG_FLOOR = 1e-3

__all__ = ["FEATURE_BLOCKS", "NEEDS_NORMALS", "POINTWISE_BLOCKS", "LightPointObservation", "feature_vector"]


@dataclass(frozen=True)
class LightPointObservation:
    """Everything measured at the light-points of one face."""

    points: np.ndarray = field(repr=False)  # (K, 3) pixels (u, v, depth toward camera)
    samples: Samples
    normals: np.ndarray | None = field(repr=False)  # (K, 3) camera-frame unit normals, or None (2D landmarks)
    face_size: float
    head_rotation: np.ndarray | None = field(default=None, repr=False)  # (3, 3), lightest.headpose


def _gray_raw(obs: LightPointObservation) -> np.ndarray:
    """The seed's input: mean gray 0-255 per point (0 where the disc left the image)."""
    return np.nan_to_num(obs.samples.gray, nan=0.0)


def _gray_norm(obs: LightPointObservation) -> np.ndarray:
    """Linear intensity over its mean across the face: exposure- and albedo-scale invariant."""
    lin = srgb_to_linear(np.nan_to_num(obs.samples.gray, nan=0.0))
    mean = lin[obs.samples.valid].mean() if obs.samples.valid.any() else 0.0
    return lin / mean if mean > 1e-6 else np.zeros_like(lin)


def _gray_rank(obs: LightPointObservation) -> np.ndarray:
    """Each point's brightness rank among the valid points, 0 (darkest) to 1: unchanged by any monotone
    tone curve, so the photo's unknown camera response (linear, sRGB, a phone's contrast curve) drops out.
    Points whose disc left the image read 0."""
    out = np.zeros(len(obs.samples.gray))
    valid = obs.samples.valid
    n = int(valid.sum())
    if n > 1:
        order = np.argsort(np.argsort(obs.samples.gray[valid], kind="stable"), kind="stable")
        out[valid] = order / (n - 1)
    return out


def _gray_logz(obs: LightPointObservation) -> np.ndarray:
    """Log linear intensity, standardised over the valid points: unchanged by exposure and by any power-law
    tone curve (gamma), keeping relative contrast that ranks discard. Invalid points read 0."""
    gray, valid = obs.samples.gray, obs.samples.valid
    out = np.zeros(len(gray))
    log = np.log(srgb_to_linear(gray[valid]) + LOG_FLOOR)
    if len(log) > 1:
        # The standard deviation written out: np.std's overhead dominates at a few hundred points.
        centred = log - log.mean()
        sd = np.sqrt(centred @ centred / len(log))
        if sd > 1e-6:
            out[valid] = centred / sd
    return out


def _normals(obs: LightPointObservation) -> np.ndarray:
    """Camera-frame normals (x, y, z per point): tells the model the head pose."""
    if obs.normals is None:
        raise ValueError("feature 'normals' needs landmarks with depth (landmarks='mediapipe')")
    return obs.normals.reshape(-1)


def _positions(obs: LightPointObservation) -> np.ndarray:
    """Point positions relative to their centroid over face size (u right, v up), 2 per point."""
    uv = obs.points[:, :2] - obs.points[:, :2].mean(axis=0)
    return (uv * np.array([1.0, -1.0]) / obs.face_size).reshape(-1)


def _pose(obs: LightPointObservation) -> np.ndarray:
    """The head rotation (9 numbers, row-major): head axes in the camera frame."""
    if obs.head_rotation is None:
        raise ValueError("feature 'pose' needs landmarks with depth (landmarks='mediapipe')")
    return obs.head_rotation.reshape(-1)


def _physics(obs: LightPointObservation) -> np.ndarray:
    """The physics estimator's answer as 5 inputs: its direction (head frame when the pose is known),
    its fit quality R^2 and its ambient share; zeros when it cannot fit."""
    if obs.normals is None:
        raise ValueError("feature 'physics' needs mesh normals (landmarks='mediapipe', light_points='mesh-v1')")
    fit = fit_lambertian(srgb_to_linear(np.nan_to_num(obs.samples.gray, nan=0.0)), obs.normals)
    if fit is None:
        return np.zeros(5)
    d = fit.direction if obs.head_rotation is None else obs.head_rotation.T @ fit.direction
    return np.array([*d, fit.r_squared, fit.ambient / (fit.ambient + fit.directional)])


#: Blocks that need mesh normals at the light-points.
NEEDS_NORMALS = frozenset({"normals", "physics"})
#: Blocks with one value per light-point that see the samples only through a permutation-invariant
#: normalisation: permuting the light-points permutes the block the same way (see lightest.mirror).
POINTWISE_BLOCKS = frozenset({"gray_raw", "gray_norm", "gray_rank", "gray_logz"})

FEATURE_BLOCKS: dict[str, Callable[[LightPointObservation], np.ndarray]] = {
    "gray_raw": _gray_raw,
    "gray_norm": _gray_norm,
    "gray_rank": _gray_rank,
    "gray_logz": _gray_logz,
    "normals": _normals,
    "positions": _positions,
    "pose": _pose,
    "physics": _physics,
}


def feature_vector(obs: LightPointObservation, blocks: tuple[str, ...] | list[str]) -> np.ndarray:
    """Concatenate the named feature blocks into one float32 vector."""
    unknown = [b for b in blocks if b not in FEATURE_BLOCKS]
    if unknown:
        raise ValueError(f"unknown feature blocks {unknown}; known: {sorted(FEATURE_BLOCKS)}")
    return np.concatenate([FEATURE_BLOCKS[b](obs) for b in blocks]).astype(np.float32)
