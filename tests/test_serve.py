"""The try-on server without a browser: head pose fit, lights, upload checks, static files, the CLI."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from lightest import cli, frames
from lightest.headpose import head_rotation
from lightest.image_io import load_image
from lightest.result import LightEstimate
from lightest.serve.upload import MAX_PIXELS, UploadError, decode_image, sniff_image
from lightest.sh import irradiance, sh_from_light, sh_from_shares
from lightest.tryon_pose import HeadPose, canonical_face, fit_head_pose

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lee_perry_smith.png"


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


# ---------- head pose ----------


def test_canonical_face_table() -> None:
    face = canonical_face()
    assert face.vertices.shape == (468, 3)
    assert np.count_nonzero(face.weights) == 33
    # head frame: the subject's right eye corner (33) at image left, the nose (vertices 1, 4) most forward
    assert face.vertices[33, 0] < 0 < face.vertices[263, 0]
    assert int(np.argmax(face.vertices[:, 2])) in (1, 4)


def test_fit_recovers_a_known_pose() -> None:
    from lightest.landmarks import FaceLandmarks

    rng = np.random.default_rng(0)
    rot = _rotation(25.0, -12.0, 8.0)
    cam = 11.0 * canonical_face().vertices @ rot.T + np.array([320.0, -240.0, 5.0])
    cam += rng.normal(0, 0.3, cam.shape)
    pose = fit_head_pose(FaceLandmarks(cam * frames.PIXEL_AXES_IN_CAMERA, "mediapipe468", True))
    assert isinstance(pose, HeadPose)
    assert np.allclose(pose.angles_deg(), (25.0, -12.0, 8.0), atol=0.5)
    assert pose.scale == pytest.approx(11.0, rel=0.01)
    assert pose.rms_cm < 0.1
    assert np.linalg.det(pose.rotation) == pytest.approx(1.0)
    m = np.array(pose.to_dict()["matrix"]).reshape(4, 4).T  # column-major, as three.js reads it
    assert np.allclose(m[:3, :3], pose.scale * pose.rotation, atol=1e-5)


def test_fit_refuses_2d_landmarks() -> None:
    from lightest.landmarks import FaceLandmarks

    assert fit_head_pose(FaceLandmarks(np.zeros((68, 3)), "dlib68", False)) is None
    assert fit_head_pose(FaceLandmarks(np.zeros((468, 3)), "mediapipe468", True)) is None  # degenerate


def test_pose_on_the_example_photo() -> None:
    """The example's head is turned 8 deg toward image right (its sidecar's head_pose_deg[0])."""
    from lightest import Estimator

    with Estimator() as est:
        lm = est.detect_landmarks(load_image(EXAMPLE))
    assert lm is not None
    pose = fit_head_pose(lm)
    assert pose is not None
    truth_yaw = json.loads(EXAMPLE.with_suffix(".json").read_text())["head_pose_deg"][0]
    yaw, _pitch, roll = pose.angles_deg()
    assert yaw == pytest.approx(truth_yaw, abs=3.0)
    assert abs(roll) < 3.0
    # the same orientation as the light head's own axes (four vertices), within a few degrees
    axes = head_rotation(lm)
    assert axes is not None
    for i in range(3):
        assert frames.angle_between_deg(axes[:, i], pose.rotation[:, i]) < 6.0
    # the fitted model lands on the landmarks: mean distance under 0.5 cm of this face
    proj = pose.project(canonical_face().vertices)
    assert np.linalg.norm(proj - lm.points[:, :2], axis=1).mean() / pose.scale < 0.5


# ---------- lights ----------


def test_three_lighting_splits_key_and_ambient() -> None:
    from lightest.serve.lighting import three_lighting

    d = frames.direction_from_angles(-55.0, 35.0)
    est = LightEstimate(direction=tuple(d), confidence=0.9, face_box=(0, 0, 1, 1), landmarks=np.zeros((1, 3)),
                        light_points=np.zeros((1, 2)), sh=sh_from_shares(d, 0.6, 0.25), method="model",
                        intensity=0.6, ambient=0.25)  # fmt: skip
    out = three_lighting(est)
    to_light = np.array(out["light_position"])
    probe = np.array(out["probe_sh"]).reshape(9, 3)
    assert np.allclose(to_light, d, atol=1e-6)
    # facing the light: irradiance pi in all (key + probe), of which the ambient share comes from the probe
    facing = out["light_intensity"] + irradiance(probe, d[None])[0]
    assert np.allclose(facing, np.pi, rtol=1e-4)
    assert np.allclose(irradiance(probe, -d[None])[0] / facing, 0.25, atol=1e-4)
    # probe + key light = the estimate's SH, up to the page's exposure
    rebuilt = probe / np.pi + sh_from_light(d, np.full(3, out["light_intensity"] / np.pi), np.zeros(3))
    assert np.allclose(rebuilt / rebuilt[0, 0], est.sh / est.sh[0, 0], atol=1e-4)


# ---------- uploads ----------


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.parametrize("ext,kind", [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WebP")])
def test_sniff_reads_sizes(ext: str, kind: str) -> None:
    image = np.full((50, 70, 3), 128, np.uint8)
    ok, data = cv2.imencode(ext, image)
    assert ok
    header = sniff_image(data.tobytes())
    assert (header.kind, header.width, header.height) == (kind, 70, 50)
    assert decode_image(data.tobytes()).shape == (50, 70, 3)


@pytest.mark.parametrize("data", [b"", b"hello world, not an image at all", b"%PDF-1.7\n" + b"x" * 100,
                                  b"GIF89a" + b"\0" * 40, _png_header(64, 64)[:20]])  # fmt: skip
def test_non_images_are_400(data: bytes) -> None:
    with pytest.raises(UploadError) as info:
        decode_image(data)
    assert info.value.status == 400
    assert "not an image" in str(info.value)


def test_damaged_and_huge_images() -> None:
    with pytest.raises(UploadError, match="damaged or truncated") as info:
        decode_image(_png_header(64, 64) + b"\0" * 10)
    assert info.value.status == 400
    side = int(np.sqrt(MAX_PIXELS)) + 10
    with pytest.raises(UploadError, match="megapixels") as info:
        sniff_image(_png_header(side, side))  # a bomb: tiny file, huge image; refused before decoding
    assert info.value.status == 413
    with pytest.raises(UploadError, match="at least 32x32") as info:
        decode_image(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    assert info.value.status == 400


# ---------- the running server ----------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """The app under uvicorn on a free loopback port, with a 0.5 MB upload cap."""
    pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn) is not installed")
    import uvicorn

    from lightest.serve.app import create_app

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(max_upload_bytes=500_000), host="127.0.0.1", port=port,
                                        log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    srv.should_exit = True
    thread.join(timeout=10)


def _request(server: tuple[str, int], method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    conn = http.client.HTTPConnection(*server, timeout=60)
    if method == "POST":  # as the page sends its uploads
        headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    try:
        chunked = not isinstance(body, (bytes, type(None)))
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)  # path sent as given
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_page_and_static_files(server: tuple[str, int]) -> None:
    status, headers, body = _request(server, "GET", "/")
    assert status == 200 and b"<canvas" in body
    assert "default-src 'self'" in headers["content-security-policy"]
    for name in ("app.js", "three.module.min.js", "three.LICENSE", "style.css"):
        status, _, body = _request(server, "GET", f"/static/{name}")
        assert status == 200 and body, name
    status, _, _ = _request(server, "GET", "/static/no-such-file.js")
    assert status == 404


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/../server.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
    "/static/%2e%2e%2f%2e%2e%2fcli.py", "/static/..%5capp.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/../lightest/cli.py", "/static/....//app.py", "/static/%252e%252e/app.py",
])  # fmt: skip
def test_nothing_outside_static(server: tuple[str, int], path: str) -> None:
    status, _, body = _request(server, "GET", path)
    assert status in (400, 404), (path, status)
    assert b"import" not in body and b"root:" not in body


def test_estimate_example(server: tuple[str, int]) -> None:
    status, _, body = _request(server, "POST", "/api/estimate", EXAMPLE.read_bytes())
    assert status == 200
    out = json.loads(body)
    assert (out["width"], out["height"]) == (640, 480)
    (face,) = out["faces"]
    truth = json.loads(EXAMPLE.with_suffix(".json").read_text())["light_dir_camera"]
    assert frames.angle_between_deg(np.array(face["estimate"]["direction"]), np.array(truth)) < 15.0
    assert len(face["landmarks"]) == 468 and len(face["pose"]["matrix"]) == 16
    assert np.allclose(face["three"]["light_position"], face["estimate"]["direction"], atol=1e-5)


def test_webcam_frames_are_tracked_and_filtered(server: tuple[str, int]) -> None:
    """Frames with ?stream=&timestamp_ms= go through video mode: the same answers as estimate_for_video."""
    from lightest import Estimator

    image = cv2.imread(str(EXAMPLE))
    frames_ = [np.roll(image, s, axis=1) for s in (0, 2, 1)]
    got = []
    for i, frame in enumerate(frames_):
        data = cv2.imencode(".png", frame)[1].tobytes()
        status, _, body = _request(server, "POST", f"/api/estimate?stream=test1&timestamp_ms={33 * i}", data)
        assert status == 200, body
        (face,) = json.loads(body)["faces"]
        assert len(face["landmarks"]) == 468 and len(face["pose"]["matrix"]) == 16
        got.append(face["estimate"]["direction"])
    with Estimator(running_mode="video") as est:
        want = [est.estimate_for_video(f, 33 * i).direction for i, f in enumerate(frames_)]
    np.testing.assert_allclose(got, want, atol=1e-5)
    # the filter holds the last light over a frame without a face, as video mode does
    blank = cv2.imencode(".png", np.full((480, 640, 3), 90, np.uint8))[1].tobytes()
    status, _, body = _request(server, "POST", "/api/estimate?stream=test1&timestamp_ms=100", blank)
    assert status == 200 and json.loads(body)["faces"][0]["estimate"]["direction"] == pytest.approx(got[-1])
    # a timestamp that does not increase is refused; a new stream id starts again
    data = cv2.imencode(".png", image)[1].tobytes()
    status, _, body = _request(server, "POST", "/api/estimate?stream=test1&timestamp_ms=50", data)
    error = json.loads(body)["error"]
    assert status == 400 and "increase monotonically" in error and "new stream id" in error and "reset()" not in error
    status, _, body = _request(server, "POST", "/api/estimate?stream=test2&timestamp_ms=0", data)
    assert status == 200 and len(json.loads(body)["faces"]) == 1
    for query, message in (("stream=test2", "needs ?timestamp_ms="), ("timestamp_ms=5", "needs ?stream="),
                           ("stream=a%20b&timestamp_ms=5", "needs ?stream="),
                           ("stream=test2&timestamp_ms=nan", "finite number"),
                           ("stream=test2&timestamp_ms=1e300", "at most 2**53")):  # fmt: skip
        status, _, body = _request(server, "POST", f"/api/estimate?{query}", data)
        assert status == 400 and message in json.loads(body)["error"], query
    # none of those touched stream test2, and stream test1 is still its own (two tabs do not reset each other)
    status, _, body = _request(server, "POST", "/api/estimate?stream=test2&timestamp_ms=-1", data)
    assert status == 400 and "after 0.0" in json.loads(body)["error"]
    status, _, body = _request(server, "POST", "/api/estimate?stream=test1&timestamp_ms=120", blank)
    assert status == 200 and json.loads(body)["faces"][0]["estimate"]["held"] is True


def test_only_raw_image_uploads_are_taken(server: tuple[str, int]) -> None:
    """A form, text/plain or no Content-Type (what another site's page may POST without a CORS preflight) is
    refused before any work; other errors are JSON too."""
    data = EXAMPLE.read_bytes()
    for kind, message in ((None, "got no Content-Type"), ("text/plain", "got Content-Type text/plain"),
                          ("multipart/form-data; boundary=x", "(not a form upload)"),
                          ("application/x-www-form-urlencoded", "(not a form upload)")):  # fmt: skip
        status, _, body = _request(server, "POST", "/api/estimate", data, headers={"Content-Type": kind or ""})
        assert status == 415 and message in json.loads(body)["error"], kind
    assert _request(server, "POST", "/api/estimate", data, headers={"Content-Type": "image/png"})[0] == 200
    status, headers, body = _request(server, "GET", "/api/nothing-here")
    assert status == 404 and headers["content-type"] == "application/json" and "error" in json.loads(body)
    assert _request(server, "HEAD", "/")[0] == 200


def test_no_face(server: tuple[str, int]) -> None:
    data = cv2.imencode(".png", np.full((120, 160, 3), 90, np.uint8))[1].tobytes()
    status, _, body = _request(server, "POST", "/api/estimate", data)
    assert status == 200 and json.loads(body)["faces"] == []


def test_upload_rejections(server: tuple[str, int]) -> None:
    status, _, body = _request(server, "POST", "/api/estimate", b"just some text, not a photo")
    assert status == 400 and "not an image" in json.loads(body)["error"]
    status, _, body = _request(server, "POST", "/api/estimate", b"")
    assert status == 400 and "empty upload" in json.loads(body)["error"]
    big = b"\xff\xd8" + b"\0" * 600_000
    status, _, body = _request(server, "POST", "/api/estimate", big)
    assert status == 413 and "limit is 0.5 MB" in json.loads(body)["error"]
    # no Content-Length (chunked): counted while reading, refused past the cap
    status, _, body = _request(server, "POST", "/api/estimate", iter([big[:300_000], big[300_000:]]))
    assert status == 413 and "limit of 0.5 MB" in json.loads(body)["error"]


def test_foreign_host_refused(server: tuple[str, int]) -> None:
    """A page on another site that rebinds its name to 127.0.0.1 sends its own Host: refused."""
    status, _, _ = _request(server, "GET", "/", headers={"Host": "evil.example.com"})
    assert status == 400


# ---------- command line ----------


def test_cli_serve_without_web_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    assert cli.main(["serve", "--port", "0"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert 'pip install "lightest[web]"' in err and err.count("\n") == 1


def test_cli_serve_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn) is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert cli.main(["serve", "--port", str(s.getsockname()[1])]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "cannot listen on 127.0.0.1" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--max-upload-mb", "0"], "--max-upload-mb must be above 0"), (["--max-upload-mb", "inf"], "at most 1000"),
     (["--port", "70000"], "--port must be 0-65535")],
)  # fmt: skip
def test_cli_serve_bad_options(capsys: pytest.CaptureFixture[str], option: list[str], message: str) -> None:
    assert cli.main(["serve", *option]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_big_photos_small_face_is_found_as_by_estimate() -> None:
    """The page's photo path is Estimator.estimate (window search included): a 300 px face in 6000x4000 was
    'no face' on the page while the command line found it."""
    pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn) is not installed")
    from lightest import Estimator
    from lightest.serve.app import _faces
    from mobile_bench.bigphoto import make_scene

    scene = make_scene((6000, 4000), 300, seed=3, at=(0.25, 0.3))
    data = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    with Estimator() as est:
        answer = _faces(est, data)
        (face,) = answer["faces"]
        x, y, w, h = face["estimate"]["face_box"]
        assert abs(x + w / 2 - scene.centre[0]) < 100 and abs(y + h / 2 - scene.centre[1]) < 100
