"""How well the dlib seed model's confidence ranks its own errors on Yale B (research use only).

``python -m training.dlib_confidence [--subjects yaleB01 yaleB05 yaleB11 yaleB20]``

Per face found by ``--landmarks dlib``: the angle error of the shipped seed reproduction, its confidence
(in-image share of light-points times :func:`lightest.estimator.input_typicality`), and the in-image share
alone (the confidence before the typicality term). Prints the Spearman correlation of each with the error
(negative: higher confidence, smaller error) and the median error above and below the median confidence.
"""

from __future__ import annotations

import argparse

import numpy as np

from lightest import Estimator, frames
from lightest.image_io import load_image
from training.yaleb import DEFAULT_YALEB, list_images

SUBJECTS = ["yaleB01", "yaleB05", "yaleB11", "yaleB20"]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = (np.argsort(np.argsort(v)).astype(np.float64) for v in (a, b))  # no ties in continuous values
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.dlib_confidence", description=__doc__)
    parser.add_argument("--subjects", nargs="+", default=SUBJECTS)
    args = parser.parse_args(argv)
    errors, confidence, in_image = [], [], []
    with Estimator(landmarks="dlib") as est:
        for img in list_images(DEFAULT_YALEB, args.subjects):
            pixels = load_image(img.path)
            observed = est.observe(pixels)
            if observed is None:
                continue
            landmarks, obs = observed
            r = est.estimate_with_landmarks(pixels, landmarks)
            if r is None:
                continue
            errors.append(frames.angle_between_deg(np.array(r.direction), img.direction))
            confidence.append(r.confidence)
            in_image.append(float(obs.samples.valid.mean()))
    e, c = np.array(errors), np.array(confidence)
    hi = c >= np.median(c)
    print(f"Yale B {' '.join(args.subjects)}: {len(e)} faces, seed model on dlib landmarks")
    print(f"median angle error {np.median(e):.1f} deg; median confidence {np.median(c):.2f}")
    print(f"Spearman with angle error: confidence {_spearman(c, e):+.3f}, in-image share alone "
          f"{_spearman(np.array(in_image), e):+.3f}")  # fmt: skip
    print(f"median error: confidence above its median {np.median(e[hi]):.1f} deg, below {np.median(e[~hi]):.1f} deg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
