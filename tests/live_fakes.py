"""Stand-ins for the devices the live path talks to: a scripted webcam, a virtual camera
backend registered with pyvirtualcam (tests only), a window toolkit, a key source."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pyvirtualcam

from livematte.matting import Matte
from livematte.matting.base import Matter

FAKE_BACKEND = "livematte-test"


class ScriptedCapture:
    """A cv2.VideoCapture look-alike that returns ``frames`` BGR pictures, then fails."""

    def __init__(self, frames: int, colour: tuple[int, int, int], size=(64, 48), fps=30.0):
        self.remaining = frames
        self.colour = colour
        self.size = size
        self.fps = fps
        self.settings: dict[int, float] = {}
        self.released = False
        self._next_due = 0.0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def get(self, prop: int) -> float:
        import cv2

        return self.fps if prop == cv2.CAP_PROP_FPS else self.settings.get(prop, 0.0)

    def read(self, image: np.ndarray | None = None):
        if self.remaining <= 0:
            time.sleep(0.002)
            return False, None
        # Deliver at the camera's rate, as a real camera blocks until the next exposure.
        now = time.perf_counter()
        if self._next_due > now:
            time.sleep(self._next_due - now)
        self._next_due = max(now, self._next_due) + 1.0 / self.fps
        self.remaining -= 1
        width, height = self.size
        bgr = np.empty((height, width, 3), np.uint8)
        bgr[:] = self.colour
        return True, bgr

    def release(self) -> None:
        self.released = True


class ClosedCapture(ScriptedCapture):
    def __init__(self) -> None:
        super().__init__(0, (0, 0, 0))

    def isOpened(self) -> bool:  # noqa: N802
        return False


class CameraScript:
    """Hands out captures in turn from a list (the opener given to CameraSource)."""

    def __init__(self, captures: list[ScriptedCapture]) -> None:
        self.captures = list(captures)
        self.opened: list[ScriptedCapture] = []

    def __call__(self, target) -> ScriptedCapture:
        capture = self.captures.pop(0) if self.captures else ClosedCapture()
        self.opened.append(capture)
        return capture


class HalfMatter(Matter):
    """A model that puts the person on the left half; optionally slow, to load the CPU."""

    name = "half"
    device = "cpu"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0

    def infer(self, rgb: np.ndarray) -> Matte:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        alpha = np.zeros((18, 32), np.float32)
        alpha[:, :16] = 1.0
        return Matte(alpha)

    def reset(self) -> None:
        pass


class FakeVirtualCamera:
    """A pyvirtualcam backend that records what it was given."""

    instances: list[FakeVirtualCamera] = []
    fail_after: int | None = None  # raise on send after this many frames (device vanished)
    refuse_opens = 0  # fail this many opens after a failure (device still gone)

    def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
        cls = type(self)
        if cls.refuse_opens > 0 and cls.instances:
            cls.refuse_opens -= 1
            raise RuntimeError("Device busy")
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.device_name = device or "/dev/video-fake"
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.closed = False
        cls.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        cls = type(self)
        if cls.fail_after is not None and len(self.frames) >= cls.fail_after:
            cls.fail_after = None
            raise RuntimeError("No such device")
        self.frames.append(frame.copy())
        self.times.append(time.perf_counter())

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return self.device_name

    def native_fourcc(self):
        return None

    @classmethod
    def install(cls) -> None:
        cls.instances = []
        cls.fail_after = None
        cls.refuse_opens = 0
        pyvirtualcam.register_backend(FAKE_BACKEND, cls)

    @staticmethod
    def uninstall() -> None:
        """Unregister, so later tests (and a real device) never fall back to the fake."""
        from pyvirtualcam.camera import BACKENDS

        BACKENDS.pop(FAKE_BACKEND, None)


class FakeGui:
    """The part of cv2's highgui the preview uses, with scripted key presses."""

    def __init__(self, keys: Iterator[int] | None = None, close_after: int | None = None):
        self.shown: list[np.ndarray] = []
        self.keys = keys or iter(())
        self.close_after = close_after
        self.destroyed = False

    def namedWindow(self, name, flags) -> None:  # noqa: N802
        pass

    def imshow(self, name, image) -> None:
        self.shown.append(image.copy())

    def waitKey(self, delay) -> int:  # noqa: N802
        return next(self.keys, -1)

    def getWindowProperty(self, name, prop) -> float:  # noqa: N802
        if self.close_after is not None and len(self.shown) > self.close_after:
            return 0.0
        return 1.0

    def destroyWindow(self, name) -> None:  # noqa: N802
        self.destroyed = True


class ScriptedKeys:
    """A terminal-key stand-in: hands out each key once a given number of frames was sent."""

    def __init__(self, plan: list[tuple[int, str]], counter) -> None:
        self.plan = sorted(plan)
        self.counter = counter

    def poll(self) -> list[str]:
        sent = self.counter()
        ready = [key for at, key in self.plan if at <= sent]
        self.plan = [(at, key) for at, key in self.plan if at > sent]
        return ready


def stop_when(stop, condition, limit: float = 5.0) -> threading.Thread:
    """Set ``stop`` from a thread once ``condition()`` holds, or after ``limit`` seconds."""

    def watch() -> None:
        deadline = time.perf_counter() + limit
        while not condition() and time.perf_counter() < deadline:
            time.sleep(0.005)
        stop.set("test")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def wait_for(condition, limit: float = 8.0):
    """Poll ``condition()`` until it gives a true value (returned) or ``limit`` s pass."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    return condition()


# --- a moving subject with known ground truth ---------------------------------------------

SQUARE = 40  # side of the moving square, pixels
STEP = 3  # pixels it moves right per frame


def square_at(index: int) -> int:
    """Left edge of the square in frame ``index`` (it moves STEP pixels a frame)."""
    return 8 + STEP * index


def moving_square_frames(frames: int, width: int = 160, height: int = 96) -> Iterator[np.ndarray]:
    """A bright textured square gliding right over a dark textured room (RGB uint8).

    Both carry a fixed random texture, so optical flow can follow the square; the square is
    bright (160..255) and the room dark (0..90), so its truth survives lossy coding."""
    import cv2

    rng = np.random.default_rng(7)
    room = cv2.GaussianBlur(rng.integers(0, 90, (height, width, 3), dtype=np.uint8), (0, 0), 1.5)
    room = cv2.normalize(room, None, 0, 90, cv2.NORM_MINMAX)
    skin = cv2.GaussianBlur(
        rng.integers(160, 255, (SQUARE, SQUARE, 3), dtype=np.uint8), (0, 0), 1.5
    )
    skin = cv2.normalize(skin, None, 160, 255, cv2.NORM_MINMAX)
    top = (height - SQUARE) // 2
    for index in range(frames):
        rgb = room.copy()
        left = square_at(index)
        rgb[top : top + SQUARE, left : left + SQUARE] = skin
        yield rgb


def square_truth(index: int, width: int = 160, height: int = 96) -> np.ndarray:
    """The square's mask in frame ``index`` (bool)."""
    truth = np.zeros((height, width), bool)
    top, left = (height - SQUARE) // 2, square_at(index)
    truth[top : top + SQUARE, left : left + SQUARE] = True
    return truth


def write_square_clip(path, frames: int = 24, fps: int = 30):  # noqa: ANN001, ANN201
    """The moving square as a near-lossless H.264 clip."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv444p"
        stream.options = {"crf": "4", "preset": "ultrafast"}
        for rgb in moving_square_frames(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class BrightMatter(Matter):
    """Finds the bright square exactly (grey above 128) on the frame it is given, and takes
    ``lag`` camera frames to do it: it waits, by the source's count of frames delivered,
    until that many newer frames have come (so each matte is made stale on purpose)."""

    name = "bright"
    device = "cpu"

    def __init__(self, frames_in=None, lag: int = 4) -> None:  # noqa: ANN001
        self.frames_in = frames_in  # () -> frames the source has delivered
        self.lag = lag
        self.calls = 0
        self.stop = threading.Event()  # set to let a waiting call go at once

    def infer(self, rgb: np.ndarray) -> Matte:
        self.calls += 1
        if self.frames_in is not None and self.calls > 1:  # the warm-up goes at once
            due = self.frames_in() + self.lag
            deadline = time.perf_counter() + 5.0  # guards against a hang only
            while self.frames_in() < due and time.perf_counter() < deadline:
                if self.stop.wait(0.002):
                    break
        grey = rgb.mean(axis=2)
        return Matte((grey > 128).astype(np.float32))

    def reset(self) -> None:
        pass


class GateMatter(HalfMatter):
    """HalfMatter whose calls after the warm-up block until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def infer(self, rgb: np.ndarray) -> Matte:
        if self.calls >= 1:
            self.entered.set()
            self.release.wait(10.0)  # guards against a hang only
        return super().infer(rgb)
