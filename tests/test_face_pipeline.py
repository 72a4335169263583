"""lightest.face: anchors, decoding, weighted NMS, the rotated crop, tracking, integrity, and agreement with
MediaPipe's own ``solutions.face_mesh``."""

from __future__ import annotations

import itertools
import json
import math
import shutil

import numpy as np
import pytest

from lightest.face import FaceMeshLandmarker
from lightest.face.detector import decode
from lightest.face.landmarker import TILE_SIDE, _tiles
from lightest.face.models import FACE_MODELS_DIR
from lightest.face.nms import iou, weighted_nms
from lightest.face.roi import ROI_SCALE, RotatedRect, roi_from_eyes, roi_from_mesh
from lightest.face.ssd_anchors import DETECTORS, anchor_centres
from lightest.litert import ModelIntegrityError, file_sha256
from tests.conftest import EXAMPLE, YALEB


def test_anchor_counts_and_first_centres():
    short, full = anchor_centres(DETECTORS["short_range"]), anchor_centres(DETECTORS["full_range"])
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # short range: stride 8 (16x16 cells, 2 anchors each) first, then stride 16 (8x8 cells, 6 each)
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(short[512:518], np.repeat(short[512:513], 6, axis=0))
    np.testing.assert_allclose(full[1], [1.5 / 48, 0.5 / 48])


def test_decode_places_boxes_relative_to_their_anchor():
    spec = DETECTORS["short_range"]
    raw = np.zeros((896, 16), np.float32)
    scores = np.full(896, -10.0, np.float32)
    raw[600, :4] = [12.8, -6.4, 25.6, 38.4]  # centre offset (0.1, -0.05), size (0.2, 0.3) of the input
    raw[600, 4:6] = [-12.8, 0.0]  # first keypoint 0.1 left of the anchor
    scores[600] = 3.0
    boxes, keypoints, s = decode(raw, scores, spec)
    anchor = anchor_centres(spec)[600]
    centre, half = anchor + np.array([0.1, -0.05]), np.array([0.1, 0.15])
    np.testing.assert_allclose(boxes[0], np.concatenate([centre - half, centre + half]), atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 0], anchor - np.array([0.1, 0.0]), atol=1e-6)
    assert s[0] == pytest.approx(1 / (1 + math.exp(-3.0)))
    scores[600] = 0.0  # sigmoid 0.5: kept at the short range's 0.5 threshold; -0.1 is not
    assert len(decode(raw, scores, spec)[2]) == 1
    scores[600] = -0.1
    assert len(decode(raw, scores, spec)[2]) == 0


def test_weighted_nms_merges_overlaps_by_score_and_keeps_disjoint_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.zeros((3, 6, 2))
    kps[1] += 3.0
    scores = np.array([0.6, 0.9, 0.7])
    out_boxes, out_kps, out_scores = weighted_nms(boxes, kps, scores, 0.3)
    assert out_scores.tolist() == [0.9, 0.7]
    np.testing.assert_allclose(out_boxes[0], (0.6 * boxes[0] + 0.9 * boxes[1]) / 1.5)
    np.testing.assert_allclose(out_kps[0], 0.9 * 3.0 / 1.5)
    np.testing.assert_allclose(out_boxes[1], boxes[2])
    assert iou(boxes[0], boxes[2:]) == 0.0


def test_crop_maps_to_the_frame_and_back():
    rect = RotatedRect(centre=(300.0, 200.0), side=150.0, angle=0.3)
    a = rect.to_image(192)
    np.testing.assert_allclose(a @ [96, 96, 1], [300, 200])  # crop centre -> rect centre
    np.testing.assert_allclose(np.linalg.norm(a[:, 0]), 150 / 192)  # one crop pixel in frame pixels
    p = np.array([40.0, 150.0])
    back = np.linalg.solve(a[:, :2], a @ [*p, 1] - a[:, 2])
    np.testing.assert_allclose(back, p)


def test_roi_rotation_follows_the_eye_line():
    box = np.array([100.0, 100.0, 200.0, 180.0])
    roi = roi_from_eyes(box, np.array([120.0, 130.0]), np.array([180.0, 130.0 + 60.0 * math.tan(0.2)]))
    assert roi.angle == pytest.approx(0.2)
    assert roi.side == pytest.approx(ROI_SCALE * 100.0) and roi.centre == (150.0, 140.0)
    mesh = np.zeros((468, 3))
    mesh[:, :2] = [[10, 20]] * 468
    mesh[0, :2], mesh[1, :2] = [0, 0], [40, 100]
    mesh[33, :2], mesh[263, :2] = [10, 50], [30, 50]
    roi = roi_from_mesh(mesh)
    assert roi.angle == 0.0 and roi.side == pytest.approx(150.0) and roi.centre == (20.0, 50.0)


def test_tiles_cover_a_large_frame_only():
    assert _tiles(640, 480, TILE_SIDE) == []
    tiles = _tiles(1920, 1080, TILE_SIDE)
    assert len(tiles) == 8
    xs, ys = sorted({x for x, _ in tiles}), sorted({y for _, y in tiles})
    assert xs[0] == 0 and xs[-1] == 1920 - TILE_SIDE and ys == [0, 1080 - TILE_SIDE]
    assert all(b - a <= TILE_SIDE * 3 // 4 for a, b in itertools.pairwise(xs))


def test_example_face_end_to_end(example_image):
    with_faces = FaceMeshLandmarker().detect(example_image)
    assert len(with_faces) == 1
    face = with_faces[0]
    assert face.points.shape == (468, 3) and face.crop.shape == (192, 192, 3) and face.crop.dtype == np.uint8
    assert face.presence > 0.9 and face.detection_score is not None
    h, w = example_image.shape[:2]
    assert (face.points[:, 0] > 0).all() and (face.points[:, 0] < w).all() and (face.points[:, 1] < h).all()
    # the crop points map onto the frame points
    uv = face.crop_points[:, :2].astype(np.float64) @ face.crop_to_image[:, :2].T + face.crop_to_image[:, 2]
    np.testing.assert_allclose(uv, face.points[:, :2], atol=1e-3)


def test_a_weak_short_range_detection_asks_full_range_too(example_image):
    """The example face in the top-left corner of a black 1280x720 frame (~15 % of its width, the edge of short
    range): short range alone scored it 0.56 with its eye keypoints off, and the mesh came out stretched (light
    elevation 47 deg against the truth's 35); with full range asked as well the light is right."""
    from lightest import Estimator, frames

    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:480, :640] = example_image
    truth = np.asarray(json.loads(EXAMPLE.with_suffix(".json").read_text())["light_dir_camera"])
    with Estimator() as est:
        result = est.estimate(frame)
    assert result is not None and frames.angle_between_deg(np.asarray(result.direction), truth) < 5.0


def test_a_box_inside_a_face_is_the_same_face():
    """A mesh fitted to part of a face (its box inside the face's, IoU only 0.34) is not a second face."""
    from lightest.face.landmarker import _same_face

    face, part = np.array([552.0, 362, 694, 531]), np.array([575.0, 427, 664, 519])
    assert iou(face, part[None])[0] < 0.5 and _same_face(face, part) and _same_face(part, face)
    assert not _same_face(face, np.array([680.0, 362, 822, 531]))  # a neighbour overlapping at the edge
    assert _same_face(face, face + 5.0)


def test_video_mode_tracks_without_detecting_again(example_image):
    landmarker = FaceMeshLandmarker(video=True)
    first = landmarker.detect(example_image)[0]
    for shift in (1, 2, 3):
        frame = np.roll(example_image, shift, axis=1)
        face = landmarker.detect(frame)[0]
        assert face.detection_score is None  # tracked, not detected
        # tracking follows the shift (the mesh of a crop placed from the last frame lags it by under a pixel)
        assert np.median(face.points[:, 0] - first.points[:, 0]) == pytest.approx(shift, abs=1.0)
    assert landmarker.detector_runs == 1
    landmarker.reset()
    assert landmarker.detect(example_image)[0].detection_score is not None
    assert landmarker.detector_runs == 2


def test_no_face_and_a_flipped_byte(tmp_path):
    assert FaceMeshLandmarker().detect(np.full((240, 320, 3), 128, np.uint8)) == []
    for f in FACE_MODELS_DIR.iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    landmark = tmp_path / "face_landmark.tflite"
    data = bytearray(landmark.read_bytes())
    data[1000] ^= 0x04
    landmark.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"face_landmark\.tflite"):
        FaceMeshLandmarker(model_dir=tmp_path)


def test_shipped_table_matches_the_files():
    table = json.loads((FACE_MODELS_DIR / "face_models.json").read_text())["models"]
    assert set(table) == {p.name for p in FACE_MODELS_DIR.glob("*.tflite")}
    for name, entry in table.items():
        assert entry["sha256"] == file_sha256(FACE_MODELS_DIR / name)
        assert entry["source"]["package"] == "mediapipe" and entry["source"]["licence"] == "Apache-2.0"
    assert (FACE_MODELS_DIR / "LICENSE").is_file() and (FACE_MODELS_DIR / "NOTICE").is_file()


def _yaleb_sample() -> list:
    if not YALEB.is_dir():
        pytest.skip(f"Yale B not found at {YALEB} (../shared is absent)")
    from training.yaleb import list_images

    return list_images(YALEB)[::16]  # 111 faces, all 28 people, lights from every side


def test_landmarks_agree_with_mediapipe_face_mesh_on_yale_b(example_image):
    """With ``robust=False`` our detector + mesh is MediaPipe's ``solutions.face_mesh``: same decisions, same
    landmarks to a hundredth of a pixel (on Yale B and the example render)."""
    pytest.importorskip("mediapipe", reason="the reference extra (mediapipe) is not installed")
    from lightest.image_io import load_image
    from mobile_bench.reference import BareFaceMesh

    ours = FaceMeshLandmarker(robust=False)
    distances, agree, found = [], 0, 0
    images = [example_image] + [load_image(item.path) for item in _yaleb_sample()]
    with BareFaceMesh() as reference:
        for image in images:
            theirs, mine = reference.points(image), ours.detect(image)
            agree += (theirs is None) == (not mine)
            if theirs is not None and mine:
                found += 1
                distances.append(np.linalg.norm(mine[0].points[:, :2] - theirs[:, :2], axis=1).mean())
    assert agree == len(images)
    assert found > 30
    assert np.mean(distances) < 0.05 and np.max(distances) < 0.5  # measured: 0.011 / 0.06 px


def test_robust_detection_finds_more_yale_b_faces():
    from lightest.image_io import load_image

    images = [load_image(i.path) for i in _yaleb_sample()]
    plain, robust = FaceMeshLandmarker(robust=False), FaceMeshLandmarker()
    n_plain = sum(bool(plain.detect(im)) for im in images)
    n_robust = sum(bool(robust.detect(im)) for im in images)
    assert n_robust >= 0.97 * len(images) and n_robust > n_plain
