"""The try-on page end to end in a real headless browser (Debian's Chromium driven by Playwright).

``lightest serve`` runs as a subprocess; the page gets the example photo and its JSON sidecar through its
file input, and the test reads back the WebGL layer (hat only: glasses hidden, shadows are translucent) to
check with pixels that the hat's lit side faces the light: the estimated one, the sidecar's true one, and, as
the negative control, the estimate mirrored left-right through the page's manual light (``?light=manual``).
Set ``TRYON_SCREENSHOT=docs/tryon.png`` to write the README's screenshot.

Skips, saying why, without Chromium (``apt-get install chromium``), Playwright (``pip install playwright``; never
``playwright install``: the test drives the system browser) or the web extra.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lee_perry_smith.png"
SIDECAR = EXAMPLE.with_suffix(".json")
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # fmt: skip
#: The lit half of the hat must be this much brighter than the other half (mean sRGB luminance ratio).
LIT_RATIO = 1.1


def _skip_reason() -> str | None:
    if CHROMIUM is None:
        return "no Chromium at /usr/bin/chromium (Debian: apt-get install -y chromium)"
    for module, hint in (("playwright", "pip install playwright"), ("fastapi", 'pip install "lightest[web]"'),
                         ("uvicorn", 'pip install "lightest[web]"')):  # fmt: skip
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed ({hint})"
    return None


_REASON = _skip_reason()
if _REASON is not None:
    print(f"test_tryon_browser: skipped: {_REASON}", file=sys.stderr)
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """``lightest serve`` on a free port, as a user starts it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lightest.cli", "serve", "--port", str(port)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"lightest serve exited: {proc.stderr.read() if proc.stderr else ''}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "lightest serve did not start listening"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _load(browser: object, url: str, query: str = "") -> object:
    """A page at ``url + query`` with the example and its sidecar chosen, once the hat is drawn."""
    page = browser.new_page(viewport={"width": 1200, "height": 720})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(url) or r.url.startswith(("blob:", "data:"))
            else errors.append(f"request outside the server: {r.url}"))  # fmt: skip
    page.goto(url + query)
    page.set_input_files("#file", [str(EXAMPLE), str(SIDECAR)])
    page.wait_for_selector("body[data-state=ready], body[data-state=error], body[data-state=noface]",
                           state="attached", timeout=90_000)  # fmt: skip
    state = page.evaluate("() => [window.tryon.state, window.tryon.error, window.tryon.renders]")
    assert state[0] == "ready", f"page state {state}"
    assert state[2] >= 1
    assert not errors, errors
    return page


def _hat_sides(page: object) -> tuple[float, float]:
    """Mean sRGB luminance of the hat's left and right halves, from the WebGL layer alone (glasses hidden)."""
    page.uncheck("#show-glasses")  # type: ignore[attr-defined]
    data_url, box = page.evaluate("() => [window.tryon.canvasPNG(), window.tryon.hatBox]")  # type: ignore[attr-defined]
    png = base64.b64decode(data_url.split(",", 1)[1])
    layer = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert layer is not None and layer.shape[2] == 4
    x0, y0, x1, y1 = (int(v) for v in box)
    mask = layer[:, :, 3] > 230  # the hat is opaque; face shadows are at most 32 % opaque
    mask[:, : max(x0, 0)] = False
    mask[:, max(x1, 0) :] = False
    mask[: max(y0, 0)] = False
    mask[max(y1, 0) :] = False
    assert mask.sum() > 5000, f"only {mask.sum()} hat pixels drawn"
    gray = cv2.cvtColor(layer[:, :, :3], cv2.COLOR_BGR2GRAY).astype(np.float64)
    ys, xs = np.nonzero(mask)
    middle = xs.mean()
    left, right = gray[ys[xs < middle], xs[xs < middle]].mean(), gray[ys[xs >= middle], xs[xs >= middle]].mean()
    return float(left), float(right)


def _estimate(page: object) -> dict:
    return page.evaluate("() => window.tryon.result.faces[0].estimate")  # type: ignore[attr-defined]


def test_hat_lit_from_the_estimated_side(browser: object, url: str) -> None:
    page = _load(browser, url)
    est = _estimate(page)
    shot = os.environ.get("TRYON_SCREENSHOT")
    if shot:
        page.screenshot(path=str(ROOT / shot))  # type: ignore[attr-defined]
    left, right = _hat_sides(page)
    print(f"estimate azimuth {est['azimuth_deg']:+.1f}: hat left {left:.1f}, right {right:.1f}")
    assert abs(est["direction"][0]) > 0.3, "the example's light is to one side"
    lit, dark = (left, right) if est["direction"][0] < 0 else (right, left)
    assert lit > LIT_RATIO * dark, (left, right)


def test_mirrored_light_flips_the_lit_side(browser: object, url: str) -> None:
    """Negative control: the same page with the estimate's azimuth mirrored lights the other side."""
    page = _load(browser, url)
    est = _estimate(page)
    page.close()  # type: ignore[attr-defined]
    az, el = -round(est["azimuth_deg"]), round(est["elevation_deg"])
    page = _load(browser, url, f"?light=manual&az={az}&el={el}")
    assert page.evaluate("() => window.tryon.mode") == "manual"  # type: ignore[attr-defined]
    left, right = _hat_sides(page)
    print(f"manual azimuth {az:+d}: hat left {left:.1f}, right {right:.1f}")
    lit, dark = (left, right) if az < 0 else (right, left)
    assert lit > LIT_RATIO * dark, (left, right)


def test_true_light_from_the_sidecar(browser: object, url: str) -> None:
    page = _load(browser, url)
    page.check("input[name=mode][value=truth]")  # type: ignore[attr-defined]
    assert page.evaluate("() => window.tryon.mode") == "truth"  # type: ignore[attr-defined]
    truth = json.loads(SIDECAR.read_text())["light_dir_camera"]
    left, right = _hat_sides(page)
    print(f"true light x {truth[0]:+.2f}: hat left {left:.1f}, right {right:.1f}")
    lit, dark = (left, right) if truth[0] < 0 else (right, left)
    assert lit > LIT_RATIO * dark, (left, right)
    text = page.inner_text("#readout")  # type: ignore[attr-defined]
    assert "true light" in text and "error" in text


def test_webcam_frames_reach_the_server(browser: object, url: str) -> None:
    """Chromium's fake camera (a test pattern, no face): frames go to the server and come back as "no face"."""
    context = browser.new_context(viewport={"width": 1200, "height": 720}, permissions=["camera"])  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(url)
    page.click("#webcam")
    page.wait_for_selector("body[data-state=noface], body[data-state=error], body[data-state=ready]",
                           state="attached", timeout=90_000)  # fmt: skip
    state = page.evaluate("() => [window.tryon.state, window.tryon.error, window.tryon.result.width]")
    assert state[0] == "noface" and state[2] > 0, state
    assert "No face found in view" in page.inner_text("#status")
    page.click("#webcam")  # stops the camera
    assert page.inner_text("#webcam") == "Use webcam"
    context.close()


def test_neutral_light_lights_both_sides_alike(browser: object, url: str) -> None:
    """The neutral switch (light from the camera, a little above): no side of the hat is favoured."""
    page = _load(browser, url)
    page.check("input[name=mode][value=neutral]")  # type: ignore[attr-defined]
    left, right = _hat_sides(page)
    print(f"neutral light: hat left {left:.1f}, right {right:.1f}")
    assert abs(left - right) < 0.05 * max(left, right), (left, right)
