"""Per-face light-head outputs and errors on a labelled image set, for calibrating ``confidence``.

One :class:`FaceRecords` row per image: the default light-head graph's raw outputs (direction, its norm,
valid fraction, gray / features at the light-points, head rotation, extras such as ``ambient``), the
landmark scores, the estimator's direction and its angular error against the label. Images where no face
was found have ``found == False`` and NaN signals (they never get a confidence: ``estimate`` returns None).
Cached as ``.npz`` so the fit can be re-run without the estimator.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lightest import Estimator, confidence, frames
from lightest.image_io import load_image, to_bgr
from lightest.landmarks import FaceLandmarks
from lightest.lighthead import LightHeadOutput
from training import yaleb

#: Scalar arrays of a :class:`FaceRecords` (besides the per-point and matrix ones).
_SCALARS = ("error_deg", "direction_norm", "valid_fraction", "mesh_score", "detection_score", "ambient")


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    group: str  # who is in it (Yale B subject, or the render's identity): the unit of cross-fitting
    truth: np.ndarray  # (3,) camera-frame unit direction toward the light


@dataclass(frozen=True)
class FaceRecords:
    """Arrays over N images (NaN where no face was found)."""

    name: str
    model_sha256: str
    paths: np.ndarray  # (N,) str
    groups: np.ndarray  # (N,) str
    truth: np.ndarray  # (N, 3)
    found: np.ndarray  # (N,) bool: a face was found and estimated
    direction: np.ndarray  # (N, 3) the estimate
    error_deg: np.ndarray
    direction_norm: np.ndarray
    valid_fraction: np.ndarray
    mesh_score: np.ndarray
    detection_score: np.ndarray
    ambient: np.ndarray
    confidence_before: np.ndarray  # the uncalibrated heuristic (valid fraction x closeness of the norm to 1)
    signals: np.ndarray  # (N, len(lightest.confidence.SIGNALS)): what the runtime computes confidence from
    gray: np.ndarray  # (N, K)
    valid: np.ndarray  # (N, K) bool
    features: np.ndarray  # (N, K)
    head_rotation: np.ndarray  # (N, 3, 3)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: np.asarray(v) for k, v in self.__dict__.items()})

    @classmethod
    def load(cls, path: Path) -> FaceRecords:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        return cls(**{k: (str(v) if v.ndim == 0 and v.dtype.kind == "U" else v) for k, v in data.items()})

    def subset(self, mask: np.ndarray) -> FaceRecords:
        return FaceRecords(**{k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})


def yaleb_images(posed: bool = False) -> list[LabelledImage]:
    """All 28 frontal Yale B people (``posed``: the 18 of yaleb_posed in 8 head poses)."""
    images = yaleb.list_posed_images(yaleb.DEFAULT_POSED) if posed else yaleb.list_images(yaleb.DEFAULT_YALEB)
    return [LabelledImage(i.path, i.subject, i.direction) for i in images]


def manifest_rows(root: Path, first: int | None = None) -> list[dict]:
    """A ``blender_gen`` dataset folder's finished images (``manifest.jsonl`` rows, by index; a line still being
    written is skipped). ``first``: only indices below it, all of which must be there (a folder still rendering,
    such as ``data/natural``, then gives the same images every time)."""
    rows = []
    for line in (root / "manifest.jsonl").read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    rows.sort(key=lambda r: r["index"])
    if first is not None:
        rows = [r for r in rows if r["index"] < first]
        if len(rows) < first:
            raise ValueError(f"{root}: only {len(rows)} of the first {first} images are rendered yet")
    return rows


def render_images(root: Path, first: int | None = None, label: str = "light_dir_camera") -> list[LabelledImage]:
    """:func:`manifest_rows` as labelled images, grouped by image (each render draws a new head)."""
    return [
        LabelledImage(root / row["image"], f"{root.name}-{row['index']}", np.asarray(row[label], dtype=np.float64))
        for row in manifest_rows(root, first)
    ]


def _run_head(estimator: Estimator, bgr: np.ndarray, landmarks: FaceLandmarks) -> LightHeadOutput:
    """The estimator's light-head graph on one face, with every output read back (``details=True``)."""
    crop = estimator._observer.with_crop(bgr, landmarks).crop
    assert crop is not None and estimator._head is not None
    return estimator._head.run(crop.image, crop.points, crop.to_image, (bgr.shape[1], bgr.shape[0]), details=True)


def make_cropped(src: Path, dst: Path, first: int | None = None, seed: int = 0) -> Path:
    """Copies of a ``blender_gen`` dataset's images cut so that part of the face leaves the frame.

    Each image loses a random side's strip that removes 10-45 % of the head's box (``head_bbox_px``). Cropping
    moves no camera axis, so the camera-frame light labels hold unchanged. This is how the calibration sees
    light-points outside the frame (the ``outside`` signal), which uncropped renders never show.
    """
    import cv2

    rng = np.random.default_rng(seed)
    (dst / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for row in manifest_rows(src, first):
        image = cv2.imread(str(src / row["image"]), cv2.IMREAD_COLOR)
        if image is None or "head_bbox_px" not in row:
            continue
        h, w = image.shape[:2]
        x0, y0, x1, y1 = row["head_bbox_px"]
        cut = rng.uniform(0.10, 0.45)
        side = rng.integers(4)
        if side == 0:
            image = image[:, round(x0 + cut * (x1 - x0)):]
        elif side == 1:
            image = image[:, : round(x1 - cut * (x1 - x0))]
        elif side == 2:
            image = image[round(y0 + cut * (y1 - y0)):]
        else:
            image = image[: round(y1 - cut * (y1 - y0))]
        if min(image.shape[:2]) < 64:  # the head's box reached past the frame: too little left to be a photo
            continue
        name = f"images/{Path(row['image']).stem}.png"
        cv2.imwrite(str(dst / name), image)
        lines.append(json.dumps({**row, "image": name, "cropped_from": row["image"], "crop_cut": round(cut, 3),
                                 "crop_side": ["left", "right", "top", "bottom"][side], "size_px": [w, h]}))
    (dst / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return dst


def collect(name: str, images: list[LabelledImage], estimator: Estimator) -> FaceRecords:
    """Run the estimator's light-head graph on every image and keep its raw outputs (see module doc)."""
    head = estimator._head  # the light-head graph; its raw outputs are what confidence is calibrated on
    if head is None:
        raise ValueError("confidence is calibrated for a light-head model (the default); this estimator has none")
    n, k = len(images), 0
    rows: dict[str, list] = {key: [] for key in (*_SCALARS, "found", "direction", "confidence_before", "gray",
                                               "valid", "features", "head_rotation", "signals")}
    for i, img in enumerate(images):
        bgr = to_bgr(load_image(img.path))
        landmarks = estimator.detect_landmarks(bgr)
        out = None if landmarks is None else _run_head(estimator, bgr, landmarks)
        result = None if out is None else estimator._head_estimate(bgr, landmarks, out)
        ok = result is not None
        rows["found"].append(ok)
        if ok:
            direction = np.asarray(result.direction)
            rows["direction"].append(direction)
            rows["error_deg"].append(frames.angle_between_deg(direction, img.truth))
            rows["direction_norm"].append(out.direction_norm)
            rows["valid_fraction"].append(out.valid_fraction)
            rows["mesh_score"].append(np.nan if landmarks.score is None else landmarks.score)
            rows["detection_score"].append(np.nan if landmarks.detection_score is None else landmarks.detection_score)
            rows["ambient"].append(out.extras.get("ambient", np.nan))
            # the heuristic the estimator used before calibration: in-frame share x closeness of the norm to 1
            rows["confidence_before"].append(out.valid_fraction * float(np.clip(1 - abs(1 - out.direction_norm), 0, 1)))
            rows["gray"].append(out.gray.astype(np.float32))
            rows["valid"].append(out.valid)
            rows["features"].append(out.features.astype(np.float32))
            rows["head_rotation"].append(out.head_rotation)
            sig = confidence.signals(out.contrast, out.direction, out.direction_norm, out.valid_fraction,
                                     out.extras.get("ambient"))
            rows["signals"].append([sig[name] for name in confidence.SIGNALS])
            k = len(out.gray)
        else:
            for key in rows:
                if key != "found":
                    rows[key].append(None)
        if (i + 1) % 100 == 0:
            print(f"  {name}: {i + 1}/{n} images", file=sys.stderr, flush=True)
    k = k or 1
    blanks = {"direction": np.full(3, np.nan), "gray": np.full(k, np.nan, np.float32), "valid": np.zeros(k, bool),
              "features": np.full(k, np.nan, np.float32), "head_rotation": np.full((3, 3), np.nan),
              "signals": np.full(len(confidence.SIGNALS), np.nan)}
    arrays = {key: np.array([blanks.get(key, np.nan) if v is None else v for v in vals])
              for key, vals in rows.items() if key != "found"}
    return FaceRecords(
        name=name,
        model_sha256=head.card.sha256,
        paths=np.array([str(i.path) for i in images]),
        groups=np.array([i.group for i in images]),
        truth=np.array([i.truth for i in images]),
        found=np.array(rows["found"], dtype=bool),
        **arrays,
    )
