"""The control page in a real browser (the system's headless Chromium, driven by Playwright):
clicking a thumbnail and moving the blur slider change the frames the live run sends.

    python tests/test_web_browser.py assets/control-page.png   # the docs' screenshot
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from live_fakes import CameraScript, HalfMatter, ScriptedCapture, wait_for  # noqa: E402

from livematte.config import Config  # noqa: E402
from livematte.io.camera import CameraSource  # noqa: E402
from livematte.run.interrupt import StopRequest  # noqa: E402
from livematte.run.live import run_live  # noqa: E402
from livematte.stages import Stages  # noqa: E402

pytestmark = pytest.mark.slow  # a real browser, Ray cluster or fuzzing: the full lane only

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install -y chromium (Debian's package; the test never downloads a browser)"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class PictureCapture(ScriptedCapture):
    """A scripted camera that films one fixed BGR picture."""

    def __init__(self, picture: np.ndarray, frames: int = 100000, fps: float = 30.0) -> None:
        super().__init__(frames, (0, 0, 0), size=picture.shape[1::-1], fps=fps)
        self.picture = picture

    def read(self, image=None):
        ok, _ = super().read()
        return ok, (self.picture.copy() if ok else None)


def checkerboard(width: int = 320, height: int = 180, cell: int = 8) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    board = (((x // cell) + (y // cell)) % 2 * 255).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


class LiveRun:
    """``run_live`` on a scripted camera in a thread, with its control page on a free port."""

    def __init__(self, config: Config, stages: Stages, picture: np.ndarray) -> None:
        config.live.control = "0"
        self.stop = StopRequest()
        self.server = None
        ready = threading.Event()
        source = CameraSource("0", opener=CameraScript([PictureCapture(picture)]))

        def on_control(server) -> None:
            self.server = server
            ready.set()

        self.thread = threading.Thread(
            target=run_live,
            args=("0", "null", config, self.stop),
            kwargs={"source": source, "stages": stages, "on_control": on_control},
            daemon=True,
        )
        self.thread.start()
        assert ready.wait(60), "the control page did not start"

    def snapshot(self) -> np.ndarray:
        server = self.server
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/snapshot.jpg",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data = np.frombuffer(response.read(), np.uint8)
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.stop.set("test")
        self.thread.join(timeout=10)


def browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


def solid_png(path: Path, rgb: tuple[int, int, int]) -> Path:
    image = np.empty((90, 160, 3), np.uint8)
    image[:] = rgb[::-1]
    cv2.imwrite(str(path), image)
    return path


def test_page_buttons_and_slider_change_the_output(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed; {INSTALL}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    config = Config()
    config.background.specs = [
        str(solid_png(tmp_path / "yellow.png", (255, 255, 0))),
        str(solid_png(tmp_path / "cyan.png", (0, 255, 255))),
    ]
    config.refine.enabled = config.temporal.enabled = False
    run = LiveRun(config, Stages(config, matter=HalfMatter()), checkerboard())
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = browser(playwright)
            page = chromium.new_page(viewport={"width": 1200, "height": 760})
            page.goto(run.server.url)
            page.wait_for_selector("#gallery img[data-index='1']")
            assert wait_for(lambda: run.snapshot()[60, 250].tolist() == [255, 255, 0] or None)

            page.click("#gallery img[data-index='1']")
            right = wait_for(lambda: _near(run.snapshot()[60, 250], (0, 255, 255)))
            assert right, "clicking the second thumbnail did not show it"
            assert page.locator("#gallery img.on").get_attribute("data-index") == "1"

            page.locator("#blur").fill("2")
            assert wait_for(lambda: run.server.controls.mode == "blur")
            sharp = wait_for(lambda: _texture(run.snapshot()) > 60 and _texture(run.snapshot()))
            page.locator("#blur").fill("150")
            soft = wait_for(lambda: (t := _texture(run.snapshot())) < sharp / 3 and t)
            assert sharp and soft, (sharp, soft)
            assert page.locator("#blur-value").inner_text() == "150"
            page.wait_for_function("document.getElementById('fps').textContent !== ''")
            page.screenshot(path=str(tmp_path / "control-page.png"))
            chromium.close()
    finally:
        run.close()
    assert (tmp_path / "control-page.png").stat().st_size > 10000


def _near(pixel: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - rgb) <= tolerance))


def _texture(image: np.ndarray) -> float:
    """How much the checkerboard shows in the background (right) half."""
    height, width = image.shape[:2]
    return float(image[10 : height - 10, width // 2 + 20 : width - 10].std())


def readme_screenshot(target: Path) -> None:
    """The docs' picture: the demo portrait, the default model, a beach-like gradient."""
    from playwright.sync_api import sync_playwright

    from livematte.demo import SimulatedWebcam

    frame = next(iter(SimulatedWebcam(width=1280, height=720, frames=2))).rgb
    folder = target.parent / ".shot"
    folder.mkdir(exist_ok=True)
    sky = np.linspace([90, 160, 235], [250, 225, 170], 720).astype(np.uint8)
    scene = np.repeat(sky[:, None, :], 1280, axis=1)
    cv2.imwrite(str(folder / "sunset.png"), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    config = Config()
    config.background.specs = [str(folder / "sunset.png"), "#2b5797", "blur"]
    run = LiveRun(config, Stages(config), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    try:
        with sync_playwright() as playwright:
            chromium = browser(playwright)
            page = chromium.new_page(viewport={"width": 1200, "height": 700})
            page.goto(run.server.url)
            page.wait_for_selector("#gallery img[data-index='2']")
            time.sleep(4)  # a few seconds of the chart
            page.screenshot(path=str(target))
            chromium.close()
    finally:
        run.close()
        shutil.rmtree(folder)


if __name__ == "__main__":
    readme_screenshot(Path(sys.argv[1]))
