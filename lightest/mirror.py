"""Left-right mirroring of a measured face, for mirror augmentation (training) and mirror averaging (runtime).

A face photo flipped left-right is another valid face lit by the light reflected in the image's x axis.
A model trained on both halves of that symmetry can be asked twice, once per view; averaging the two
answers (with the mirrored answer's x flipped back) cancels part of its left-right error for ~1 extra
invoke. The card field ``mirror_average`` turns this on for a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lightest.features import POINTWISE_BLOCKS, LightPointObservation, feature_vector
from lightest.lightpoints import get_light_point_set
from lightest.sampling import Samples

__all__ = ["MIRROR", "X_OUTPUTS", "MirroredFeatures", "feature_permutation", "merge_mirrored", "mirrored"]

#: Camera-frame (and head-frame) reflection of a left-right flipped image.
MIRROR = np.diag([-1.0, 1.0, 1.0])
#: Outputs that change sign under the mirror (the x of a direction); all others are mirror-invariant.
X_OUTPUTS = frozenset({"dir_x", "head_dir_x"})


def mirrored(obs: LightPointObservation, index: np.ndarray) -> LightPointObservation:
    """The observation of the left-right mirrored face: points swap sides (``index``: each light-point's
    mirror partner, :attr:`lightest.lightpoints.LightPointSet.mirror_index`), x flips, head axes reflect."""
    samples = Samples(
        gray=obs.samples.gray[index],
        rgb=obs.samples.rgb[index],
        valid=obs.samples.valid[index],
        radius=obs.samples.radius,
    )
    return LightPointObservation(
        points=obs.points[index] * [-1.0, 1.0, 1.0],
        samples=samples,
        normals=None if obs.normals is None else obs.normals[index] @ MIRROR,
        face_size=obs.face_size,
        head_rotation=None if obs.head_rotation is None else MIRROR @ obs.head_rotation @ MIRROR,
    )


def feature_permutation(blocks: Sequence[str], index: np.ndarray) -> np.ndarray | None:
    """Index that turns a face's feature vector into its mirror image's (``x[perm]``), when every block is
    in :data:`lightest.features.POINTWISE_BLOCKS`; None otherwise (then build the vector from
    :func:`mirrored`). Saves rebuilding the observation and its features on every frame."""
    if not set(blocks) <= POINTWISE_BLOCKS:
        return None
    k = len(index)
    return np.concatenate([i * k + index for i in range(len(blocks))])


class MirroredFeatures:
    """The feature vector of a face's mirror image, for one light-point set and list of feature blocks:
    a permutation of the face's own vector where the blocks allow, else rebuilt from :func:`mirrored`."""

    def __init__(self, light_points: str, blocks: Sequence[str]) -> None:
        self.blocks = tuple(blocks)
        self.index = get_light_point_set(light_points).mirror_index
        self._perm = feature_permutation(self.blocks, self.index)

    def __call__(self, obs: LightPointObservation, x: np.ndarray) -> np.ndarray:
        """``x`` is ``feature_vector(obs, blocks)``, already computed for the face itself."""
        return x[self._perm] if self._perm is not None else feature_vector(mirrored(obs, self.index), self.blocks)


def merge_mirrored(outputs: np.ndarray, mirrored_outputs: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Average a model's outputs on a face and on its mirror image (last axis = ``names``), flipping the
    mirrored direction's x back. Directions are averaged unnormalised, so two disagreeing answers give a
    shorter vector (the runtime's confidence reads its length)."""
    if outputs.shape != mirrored_outputs.shape or outputs.shape[-1] != len(names):
        raise ValueError(f"outputs {outputs.shape} / {mirrored_outputs.shape} do not match names {list(names)}")
    if not any(n in X_OUTPUTS for n in names):
        raise ValueError(f"mirror averaging needs a direction output ({sorted(X_OUTPUTS)}), got {list(names)}")
    sign = np.array([-1.0 if n in X_OUTPUTS else 1.0 for n in names])
    return 0.5 * (outputs + sign * mirrored_outputs)
