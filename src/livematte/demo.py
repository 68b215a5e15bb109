"""``livematte demo``: the whole pipeline on a real person, with no camera and no download.

The clip is made from NASA's astronaut portrait (shipped in the package), moved the way
a hand-held webcam moves (slow pan, zoom, slight shake) with sensor noise added, so the
temporal stage has real work to do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from fractions import Fraction
from importlib.resources import files
from pathlib import Path

import cv2
import numpy as np

from .config import Config
from .errors import UserError
from .frame import Frame
from .io.open import open_outputs
from .io.sinks import partial_path
from .io.sources import Source
from .run.flag_scope import RunFacts
from .run.interrupt import StopRequest
from .run.offline import run_offline
from .run.report import RunReport
from .run.request import API, Request, check_request
from .stages import Stages

DEMO_VIDEO = "livematte-demo.mp4"
DEMO_PICTURE = "livematte-demo.png"
DEMO_FRAMES = 90  # three seconds at 30 fps


ASTRONAUT = "astronaut.jpg"


def astronaut() -> np.ndarray:
    """NASA's portrait of Eileen Collins (public domain; scikit-image's ``astronaut``), RGB
    uint8 512x512, from the package's own copy: no download, no image library beyond OpenCV."""
    path = Path(str(files("livematte") / "assets" / ASTRONAUT))
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(
            f"The demo picture {path} is missing or unreadable; reinstall livematte: "
            "pip install --force-reinstall livematte."
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class SimulatedWebcam(Source):
    """A still portrait filmed by an imaginary hand-held webcam."""

    def __init__(
        self,
        image: np.ndarray | None = None,
        width: int = 640,
        height: int = 360,
        fps: float = 30.0,
        frames: int = 90,
        seed: int = 0,
    ) -> None:
        self.image = astronaut() if image is None else image
        self.width, self.height, self.fps = width, height, fps
        self.frame_count = frames
        self.seed = seed

    def __iter__(self) -> Iterator[Frame]:
        rng = np.random.default_rng(self.seed)
        src_h, src_w = self.image.shape[:2]
        noise = np.empty((self.height, self.width, 3), np.int16)
        time_base = Fraction(1, round(self.fps))
        for index in range(self.frame_count or 0):
            t = index / max(1, (self.frame_count or 1) - 1)
            zoom = 1.0 + 0.15 * t  # slow zoom in
            # Crop a 16:9 window from the square portrait, panning left to right.
            scale = self.width / (src_w / zoom)
            pan_x = (0.5 - 0.08 * math.cos(math.pi * t)) * src_w
            shake = rng.normal(0.0, 1.2, size=2)
            centre = (pan_x + shake[0], 0.30 * src_h + shake[1])
            matrix = np.array(
                [
                    [scale, 0.0, self.width / 2 - scale * centre[0]],
                    [0.0, scale, self.height / 2 - scale * centre[1]],
                ]
            )
            frame = cv2.warpAffine(
                self.image,
                matrix,
                (self.width, self.height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            # (OpenCV's stubs take no scalar mean and deviation; its bindings do.)
            cv2.randn(noise, 0, 3)  # type: ignore[call-overload]  # sensor noise
            noisy = cv2.add(frame, noise, dtype=cv2.CV_8U)
            yield Frame(noisy, index, pts=index, time_base=time_base)


def demo_background(width: int, height: int) -> np.ndarray:
    """A synthetic evening sky with hills, made here so the demo needs no image file."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    top, bottom = np.array([38, 52, 120], np.float32), np.array([250, 170, 110], np.float32)
    sky = top + (bottom - top) * y[:, :, None]
    image = np.broadcast_to(sky, (height, width, 3)).astype(np.uint8).copy()
    xs = np.arange(width)
    for amplitude, base, colour in ((0.06, 0.70, (60, 90, 70)), (0.04, 0.82, (35, 60, 45))):
        ridge = (base + amplitude * np.sin(xs / width * 6.0 + base * 9)) * height
        rows = np.arange(height)[:, None]
        image[rows >= ridge[None, :]] = colour
    cv2.circle(image, (int(width * 0.78), int(height * 0.3)), height // 10, (255, 220, 150), -1)
    return image


def run_demo(
    out_dir: Path = Path("."), config: Config | None = None, frames: int = DEMO_FRAMES
) -> tuple[RunReport, Path, Path]:
    """Make the clip, replace its background, write the video and the side-by-side picture."""
    config = config or Config()
    source = SimulatedWebcam(frames=frames)
    video_path = out_dir / DEMO_VIDEO
    picture_path = out_dir / DEMO_PICTURE
    background_path = partial_path(out_dir / "livematte-demo-background.png")
    cv2.imwrite(
        str(background_path),
        cv2.cvtColor(demo_background(source.width, source.height), cv2.COLOR_RGB2BGR),
    )
    try:
        config.background.specs = [str(background_path)]
        stages = Stages(config)
    finally:
        background_path.unlink(missing_ok=True)
    try:
        with StopRequest() as stop:
            outputs = open_outputs(
                "", str(video_path), source, config, transparent=stages.transparent
            )
            report = run_offline(source, stages, outputs, config, stop, show_progress=True)
        write_side_by_side(source, stages, picture_path)
    finally:
        stages.close()
    return report, video_path, picture_path


def write_side_by_side(source: SimulatedWebcam, stages: Stages, path: Path) -> None:
    """input | alpha | output for one frame from the middle of the clip."""
    stages.reset()
    middle = (source.frame_count or 1) // 2
    for frame in source:
        matte = stages.matte(frame.image)
        if frame.index == middle:
            out = stages.composite(frame.image, matte, np.empty_like(frame.image))
            alpha = cv2.cvtColor(matte.alpha, cv2.COLOR_GRAY2RGB)
            panel = np.hstack([frame.image, alpha, out])
            tmp = partial_path(path)
            cv2.imwrite(str(tmp), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
            tmp.replace(path)
            return


def main_demo(config: Config, request: Request = API) -> int:
    """The ``demo`` command: the built-in clip through the pipeline into this folder."""
    check_request(request, config, RunFacts(output=DEMO_VIDEO), [], DEMO_VIDEO)
    start = time.perf_counter()
    report, video, picture = run_demo(config=config, frames=DEMO_FRAMES)
    elapsed = time.perf_counter() - start
    if config.quiet:
        return 0
    print(
        f"livematte demo: wrote {video} ({report.frames} frames, {report.fps:.1f} fps "
        f"through the pipeline) and {picture} (input | alpha | output) in {elapsed:.1f} s."
    )
    model = report.stages.get("model", {}).get("median_ms", 0.0)
    print(f"model: {report.model} on {report.provider}, {model:.1f} ms per frame (median)")
    return 0
