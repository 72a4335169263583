"""Features of a rendered dataset, measured with lightest's own observer (never a second copy).

``python -m training features --renders DIR --out FILE [--landmarks mediapipe|dlib] [--light-points NAME]``

Stores the raw light-point measurements (not a fixed feature matrix), so any model card's feature
blocks can be rebuilt later through :func:`lightest.features.feature_vector`, plus the labels and a
hash of the manifest the features came from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import lightest
from blender_gen.manifest import Manifest
from lightest.features import LightPointObservation, feature_vector
from lightest.image_io import load_image
from lightest.observer import LightPointObserver
from lightest.sampling import Samples

#: Manifest label -> (array name, width) stored per image; missing labels become NaN.
LABELS = {
    "light_dir_camera": 3,
    "light_dir_head": 3,
    "light_world_m": 3,
    "light_distance_m": 1,
    "ambient_ratio": 1,
    "camera_to_world": 16,
    # natural preset (blender_gen.envsh.lighting_label) and its split fields (training.natural_split)
    "sh_rgb": 27,
    "dominant_dir_camera": 3,
    "ambient_share": 1,
    "dominant_xy": 2,
    "dominant_cct_k": 1,
    "hdri_rotation_deg": 1,
}
#: Manifest string labels stored per image; missing ones become "".
STRING_LABELS = ("head", "hdri")


@dataclass(frozen=True)
class FeatureSet:
    """Light-point measurements and labels of one dataset (rows = images, in manifest order)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.arrays["found"])

    @property
    def found(self) -> np.ndarray:
        return self.arrays["found"]

    def observation(self, i: int, gray: np.ndarray | None = None) -> LightPointObservation:
        """Row ``i`` as the runtime's observation (optionally with replaced gray values, for augmentation)."""
        a = self.arrays
        samples = Samples(
            gray=a["gray"][i] if gray is None else gray,
            rgb=a["rgb"][i],
            valid=a["valid"][i],
            radius=int(a["radius"][i]),
        )
        normals = a["normals"][i] if self.meta["has_normals"] else None
        return LightPointObservation(
            points=a["points"][i],
            samples=samples,
            normals=normals,
            face_size=float(a["face_size"][i]),
            head_rotation=a["head_rotation"][i] if self.meta["has_normals"] else None,
        )

    def matrix(self, blocks: tuple[str, ...], rows: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix ``(len(rows), F)`` built by the runtime's :func:`feature_vector`."""
        rows = np.flatnonzero(self.found) if rows is None else rows
        return np.stack([feature_vector(self.observation(i), blocks) for i in rows])

    def label(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(self.meta)), **self.arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> FeatureSet:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
        return cls(arrays, meta)


def point_light_distance(row: dict[str, Any]) -> float | None:
    """Distance (m) from the face centre to the one point light of a ``natural`` / ``natural-lab`` label
    (their ``lights`` list), or None when the row has other lights or none: the ``light_distance_m`` label the
    diverse and seed presets write themselves."""
    lights, centre = row.get("lights"), row.get("face_centre_camera_m")
    if not lights or len(lights) != 1 or lights[0].get("kind") != "point" or centre is None:
        return None
    return float(np.linalg.norm(np.subtract(lights[0]["position_camera_m"], centre)))


def identity_key(row: dict[str, Any]) -> str:
    """Which person a render shows: 'lps' or a short hash of the ICT identity weights."""
    weights = row.get("identity_weights")
    if weights is None:
        return str(row.get("head", "unknown"))
    return "ict-" + hashlib.sha1(json.dumps(weights).encode()).hexdigest()[:10]


def extract(renders: Path, landmarks: str, light_points: str) -> FeatureSet:
    """Observe every image of a rendered dataset; prints progress to stderr."""
    manifest = Manifest.existing(renders)
    manifest_bytes = manifest.path.read_bytes()  # hashed as read: a dataset still rendering grows meanwhile
    rows = sorted(manifest.rows(), key=lambda r: int(r["index"]))
    if not rows:
        raise ValueError(f"{manifest.path} has no rows with images")
    k = None
    names = ("gray", "rgb", "valid", "points", "normals", "head_rotation", "radius", "face_size")
    store: dict[str, list[Any]] = {n: [] for n in names}
    found, has_normals = [], True
    t0 = time.perf_counter()
    with LightPointObserver(landmarks=landmarks, light_points=light_points) as observer:
        k = len(observer.points)
        for n, row in enumerate(rows, 1):
            observed = observer.observe(load_image(renders / row["image"]))
            found.append(observed is not None)
            if observed is None:
                obs = None
            else:
                obs = observed[1]
                has_normals = has_normals and obs.normals is not None
            store["gray"].append(np.full(k, np.nan) if obs is None else obs.samples.gray)
            store["rgb"].append(np.full((k, 3), np.nan) if obs is None else obs.samples.rgb)
            store["valid"].append(np.zeros(k, bool) if obs is None else obs.samples.valid)
            store["points"].append(np.zeros((k, 3)) if obs is None else obs.points)
            store["normals"].append(np.zeros((k, 3)) if obs is None or obs.normals is None else obs.normals)
            store["head_rotation"].append(np.eye(3) if obs is None or obs.head_rotation is None else obs.head_rotation)
            store["radius"].append(0 if obs is None else obs.samples.radius)
            store["face_size"].append(0.0 if obs is None else obs.face_size)
            if n % 100 == 0 or n == len(rows):
                rate = n / (time.perf_counter() - t0)
                print(f"\r  {n}/{len(rows)} images, {sum(found)} faces, {rate:.1f} img/s", end="", file=sys.stderr)
    print(file=sys.stderr)
    arrays = {
        name: np.asarray(v, dtype=np.float32 if name not in ("valid", "radius") else None) for name, v in store.items()
    }
    arrays["found"] = np.array(found)
    for row in rows:
        if row.get("light_distance_m") is None and (distance := point_light_distance(row)) is not None:
            row["light_distance_m"] = distance
    for name, width in LABELS.items():
        vals = [row.get(name) for row in rows]
        filled = [np.full(width, np.nan) if v is None else np.ravel(v) for v in vals]
        arrays[name] = np.array(filled, dtype=np.float64).reshape(len(rows), width)
    for name in STRING_LABELS:
        arrays[name] = np.array([str(r.get(name) or "") for r in rows])
    arrays["identity"] = np.array([identity_key(r) for r in rows])
    arrays["image"] = np.array([r["image"] for r in rows])
    meta = {
        "renders": str(renders),
        "dataset_hash": hashlib.sha256(manifest_bytes).hexdigest(),
        "landmarks": landmarks,
        "light_points": light_points,
        "has_normals": bool(has_normals and any(found)),
        "lightest_version": lightest.__version__,
        "images": len(rows),
        "faces_found": int(sum(found)),
    }
    return FeatureSet(arrays, meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training features", description=__doc__)
    parser.add_argument("--renders", type=Path, required=True, help="a blender_gen dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--landmarks", default="mediapipe", choices=("mediapipe", "dlib"))
    parser.add_argument("--light-points", default="mesh-v1", choices=("mesh-v1", "seed79"))
    args = parser.parse_args(argv)
    if args.out.is_dir():  # checked before the work, not after it
        raise ValueError(f"--out {args.out} is a directory; give a file such as data/features/NAME.npz")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=args.out.parent):  # a real write: os.access says yes to /proc as root
            pass
    except OSError as exc:
        raise ValueError(f"--out {args.out}: cannot write into {args.out.parent}: {exc.strerror or exc}") from exc
    fs = extract(args.renders, args.landmarks, args.light_points)
    fs.save(args.out)
    m = fs.meta
    print(f"{args.out}: {m['images']} images, faces found {m['faces_found']}, dataset {m['dataset_hash'][:12]}")
    return 0
