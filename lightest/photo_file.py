"""Estimate from an image file of any size: detect on a reduced copy, estimate on pixels fine enough for the face.

What ``Estimator.estimate_path`` does, here as one function of the estimator's ``estimate`` so that the
estimator keeps a single pipeline:

1. decode the file, a big JPEG reduced (:func:`lightest.image_io.read_image`: an 8000x6000 photo as 2000x1500),
   and estimate on the whole frame;
2. if no face is found in a big photo (longer side over :data:`BIG_SIDE` full-resolution pixels), search four
   overlapping windows, each 60 % of the frame's width and height: the detectors letterbox their input to 128 or
   192 pixels, so a face of 300 px in 8000x6000 is ~7 px there but ~12 px in a window;
3. if the face is smaller than :data:`lightest.image_io.FACE_MIN_PX` in the decoded copy, or was found in a
   window, decode again as finely as the face needs and estimate on a square window :data:`WINDOW_FACES` face
   sizes wide around it (the face then fills the detectors' input as in a portrait);
4. map landmarks, light-points and the face box to the file's full-resolution pixels.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from lightest.image_io import MIN_SIDE, DecodedImage, read_image
from lightest.result import LightEstimate

__all__ = ["BIG_SIDE", "SEARCH_WINDOWS", "WINDOW_FACES", "estimate_file", "estimate_image", "shifted"]

#: Photos whose longer side exceeds this (full-resolution pixels) get the window search when the whole frame
#: shows no face.
BIG_SIDE = 3000
#: The searched windows: (x0, y0) as fractions of the frame; each is 60 % of its width and height.
SEARCH_WINDOWS = ((0.0, 0.0), (0.4, 0.0), (0.0, 0.4), (0.4, 0.4))
SEARCH_SIZE = 0.6
#: Side of the window the face is estimated in after a finer decode, in face sizes.
WINDOW_FACES = 3.0

Estimate = Callable[[np.ndarray], "LightEstimate | None"]


def shifted(result: LightEstimate, dx: int, dy: int) -> LightEstimate:
    """``result`` found in a window whose top-left corner is ``(dx, dy)`` of the frame, in frame pixels."""
    if dx == 0 and dy == 0:
        return result
    x, y, w, h = result.face_box
    shift = np.array([dx, dy], dtype=np.float64)
    landmarks = np.array(result.landmarks)
    landmarks[:, :2] += shift
    box = (x + dx, y + dy, w, h)
    return replace(result, face_box=box, landmarks=landmarks, light_points=result.light_points + shift)


def in_full_pixels(result: LightEstimate, decoded: DecodedImage) -> LightEstimate:
    """``result`` found on ``decoded``, with its pixel positions in the file's full resolution."""
    if decoded.reduction == 1:
        return result
    r, (w, h) = decoded.reduction, decoded.full_size
    x, y, bw, bh = result.face_box
    x0, y0 = x * r, y * r
    box = (x0, y0, min(w, (x + bw) * r) - x0, min(h, (y + bh) * r) - y0)
    landmarks, light_points = decoded.to_full(result.landmarks), decoded.to_full(result.light_points)
    return replace(result, face_box=box, landmarks=landmarks, light_points=light_points)


def _in_window(estimate: Estimate, image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> LightEstimate | None:
    if min(x1 - x0, y1 - y0) < MIN_SIDE:  # a thin image's window: too small to hold a face (and to_bgr says so)
        return None
    result = estimate(image[y0:y1, x0:x1])
    return None if result is None else shifted(result, x0, y0)


def _search(estimate: Estimate, image: np.ndarray) -> LightEstimate | None:
    """The largest face found in the :data:`SEARCH_WINDOWS` of ``image``, in its pixels."""
    h, w = image.shape[:2]
    ww, wh = round(SEARCH_SIZE * w), round(SEARCH_SIZE * h)
    found = []
    for fx, fy in SEARCH_WINDOWS:
        x0, y0 = round(fx * w), round(fy * h)
        result = _in_window(estimate, image, x0, y0, min(w, x0 + ww), min(h, y0 + wh))
        if result is not None:
            found.append(result)
    return max(found, key=lambda r: max(r.face_box[2:]), default=None)


def _around(estimate: Estimate, image: np.ndarray, box: tuple[float, float, float, float]) -> LightEstimate | None:
    """Estimate in a square window :data:`WINDOW_FACES` face sizes wide centred on ``box`` (x, y, w, h)."""
    h, w = image.shape[:2]
    x, y, bw, bh = box
    half = WINDOW_FACES * max(bw, bh) / 2
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    return _in_window(estimate, image, x0, y0, x1, y1)


def estimate_image(estimate: Estimate, image: np.ndarray) -> LightEstimate | None:
    """The light of the largest face in a decoded image of any size (steps 2 and 3 without a decode).

    ``estimate`` on the whole image; if it finds no face and the image is big (longer side over
    :data:`BIG_SIDE`), the :data:`SEARCH_WINDOWS`, then the square window around what they found, at the
    image's own resolution. A face found in the whole image is returned as found: its crop is already made
    from full-resolution pixels."""
    result = estimate(image)
    if result is not None or max(image.shape[:2]) <= BIG_SIDE:
        return result
    found = _search(estimate, image)
    if found is None:
        return None
    again = _around(estimate, image, found.face_box)
    return found if again is None else again


def estimate_file(estimate: Estimate, path: str | os.PathLike[str], adaptive: bool = True) -> LightEstimate | None:
    """The light of the largest face in an image file (module docstring), in full-resolution pixels.

    ``adaptive=False`` decodes at full size and estimates once on the whole frame: for video mode, where
    every call is the next frame of one stream and windows or a second decode would upset the tracking."""
    if not adaptive:
        return estimate(read_image(path, reduction=1).image)
    decoded = read_image(path)
    result = estimate(decoded.image)
    windowed = False
    if result is None and max(decoded.full_size) > BIG_SIDE:
        result, windowed = _search(estimate, decoded.image), True
    if result is None:
        return None
    finer = decoded.reduction_for_face(max(result.face_box[2:]))
    if finer < decoded.reduction or windowed:
        fine = decoded if finer == decoded.reduction else read_image(path, reduction=finer)
        k = decoded.reduction / finer
        x, y, bw, bh = result.face_box
        again = _around(estimate, fine.image, (x * k, y * k, bw * k, bh * k))
        if again is not None:
            return in_full_pixels(again, fine)
    return in_full_pixels(result, decoded)
