"""Live sources: a webcam read on its own thread, and a file played in real time like one.

Both keep only the newest frame (a one-frame mailbox): when the driver is busy, older
frames are overwritten and counted as dropped, so a slow stage never makes the output
fall behind real time. Frames carry ``captured_at`` (``time.perf_counter()`` when the frame
became available) for capture-to-send latency figures.
"""

from __future__ import annotations

import glob
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from ..errors import UserError
from ..frame import Frame, to_rgb8
from .sources import Source, VideoFileSource

log = logging.getLogger("livematte")

# Seconds between attempts to reopen a camera that stopped sending frames.
RETRY_SECONDS = 1.0
# Consecutive failed reads before a camera counts as gone (a single glitch is not).
FAILED_READS_BEFORE_GONE = 3
DEFAULT_CAMERA_FPS = 30.0
_LOG_LEVEL_ERROR = 2  # OpenCV's LOG_LEVEL_ERROR


class FrameSlot:
    """The newest frame and nothing else; a frame overwritten before it was taken is dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self._taken: Frame | None = None
        self.published = 0
        self.overwritten = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.overwritten += 1
            self._frame = frame
            self.published += 1
            self._cond.notify_all()

    def take(self, timeout: float) -> Frame | None:
        """The newest unseen frame, waiting up to ``timeout`` s; None if none came."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(max(0.0, timeout))
            frame, self._frame = self._frame, None
            if frame is not None:
                self._taken = frame
            return frame

    def holds(self, pixels: np.ndarray) -> bool:
        """Whether ``pixels`` are waiting in the slot or belong to the frame last taken."""
        with self._cond:
            return any(f is not None and f.rgb is pixels for f in (self._frame, self._taken))

    def close(self) -> None:
        """No more frames will come (end of file): wake any waiter."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed and self._frame is None


class LiveSource(Source):
    """A source that produces frames on its own thread in real time; the newest one wins."""

    live = True

    def __init__(self) -> None:
        self.slot = FrameSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.late = 0  # frames skipped before publishing (their time had passed)
        self.reconnects = 0
        self.error: BaseException | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._guarded, name=f"livematte-{type(self).__name__}", daemon=True
            )
            self._thread.start()

    def _guarded(self) -> None:
        try:
            self._produce()
        except BaseException as exc:  # noqa: BLE001 - handed to the driver
            self.error = exc
        finally:
            self.slot.close()

    def _produce(self) -> None:
        raise NotImplementedError

    def latest(self, timeout: float) -> Frame | None:
        """The newest frame not yet taken, or None after ``timeout`` seconds."""
        if self.error is not None:
            raise self.error
        return self.slot.take(timeout)

    @property
    def connected(self) -> bool:
        """False while a camera is gone and being retried."""
        return True

    @property
    def paused(self) -> bool:
        """True while the source holds its camera closed on purpose (on demand, nobody
        watching): the driver then sends a still picture instead of waiting for frames."""
        return False

    @property
    def ended(self) -> bool:
        """True once the source will produce nothing more (a file played to its end)."""
        return self.slot.closed

    @property
    def frames_in(self) -> int:
        return self.slot.published + self.late

    @property
    def frames_dropped(self) -> int:
        return self.slot.overwritten + self.late

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        while not self.ended:
            frame = self.latest(0.5)
            if frame is not None:
                yield frame

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)


class RealTimeFileSource(LiveSource):
    """Any file source played at its own frame rate, as if a camera were filming it.

    Frames are decoded ahead of time and published when their timestamp comes due; a
    frame decoded after the next one was already due is skipped and counted as dropped.
    ``loop`` (``--loop``) plays it again from the start each time it ends, as an endless
    camera: index and timestamps go on counting, so nothing downstream sees time run back.
    """

    def __init__(
        self,
        source: Source,
        clock: Callable[[], float] = time.perf_counter,
        *,
        loop: bool = False,
    ) -> None:
        super().__init__()
        self.inner = source
        self.width, self.height = source.width, source.height
        self.fps = source.fps or DEFAULT_CAMERA_FPS
        self.frame_count = source.frame_count
        self.path = source.path
        self.loop = loop
        self.loops = 0  # times the file started again from its first frame
        self._clock = clock

    def _produce(self) -> None:
        period = 1.0 / self.fps
        start: float | None = None
        played = 0.0  # seconds of the file played in the passes before this one
        index = 0
        while True:
            first_time: float | None = None
            offset = 0.0
            for frame in self.inner:
                if self._stop.is_set():
                    return
                offset = frame.time if frame.time is not None else frame.index * period
                if first_time is None:
                    first_time = offset
                if start is None:
                    start = self._clock()
                due = start + played + (offset - first_time)
                if played and frame.time_base is not None and frame.pts is not None:
                    frame.pts += round(played / frame.time_base)
                frame.index, index = index, index + 1
                now = self._clock()
                if now > due + period:
                    self.late += 1
                    continue
                if due > now and self._stop.wait(due - now):
                    return
                frame.captured_at = self._clock()
                self.slot.put(frame)
            if not self.loop or first_time is None or self._stop.is_set():
                return  # played once, or a pass with no frame: nothing to play again
            played += offset - first_time + period
            self.loops += 1
            self._rewind()

    def _rewind(self) -> None:
        """Make the next pass start at the first frame: a video file is demuxed to its
        end, so it is opened again; pictures and folders are read afresh anyway."""
        if isinstance(self.inner, VideoFileSource) and self.inner.path is not None:
            self.inner.close()
            self.inner = VideoFileSource(self.inner.path)

    def close(self) -> None:
        super().close()
        self.inner.close()


class CameraSource(LiveSource):
    """A webcam through OpenCV, read on its own thread, BGR turned into RGB at the edge.

    If the camera stops sending frames (unplugged, driver hiccup), it is released and
    reopened every second; the driver meanwhile keeps its output going, and frames resume
    at the original size when the camera is back. ``mirror`` (``--mirror``) flips each
    picture left to right, as call apps show the user: the model and every output see the
    mirrored picture; it is read per frame, so it can be switched while the camera runs.
    """

    def __init__(
        self,
        spec: str,
        size: str = "",
        fps: float = 0.0,
        fourcc: str = "",
        opener: Callable[[Any], Any] | None = None,
        mirror: bool = False,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.mirror = mirror
        self._unflipped: np.ndarray | None = None
        self._target = int(spec) if spec.isdigit() else spec
        self._size = parse_size(size)
        self._fps_wanted = float(fps or 0.0)
        self._fourcc = fourcc.strip().upper()
        if self._fourcc and len(self._fourcc) != 4:
            raise UserError(f"Camera pixel format '{fourcc}' must be four letters, e.g. MJPG.")
        self._opener = opener or _open_capture
        self._buffers: list[np.ndarray] = []
        self._bgr: np.ndarray | None = None
        self._capture = self._open_first()
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            self._capture.release()
            raise UserError(
                f"Camera {spec} opened but sends no picture; close other apps that use it "
                "(only one program can read a camera) and try again."
            )
        first = self._convert(bgr)
        self.height, self.width = first.shape[:2]
        reported = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = self._fps_wanted or (reported if 1.0 <= reported <= 240.0 else 0.0)
        self.fps = self.fps or DEFAULT_CAMERA_FPS
        self._pending: np.ndarray | None = first
        log.info("camera %s: %dx%d at %.0f fps", spec, self.width, self.height, self.fps)

    def _open_first(self) -> Any:
        # OpenCV would only log a warning for a missing node; check it exists first.
        linux_index = isinstance(self._target, int) and sys.platform.startswith("linux")
        real = self._opener is _open_capture
        if linux_index and real and not glob.glob(f"/dev/video{self._target}"):
            raise UserError(missing_camera_message(self.spec))
        capture = self._open()
        if capture is None:
            raise UserError(missing_camera_message(self.spec))
        return capture

    def _open(self) -> Any | None:
        """Open and configure the camera; None when it cannot be opened."""
        capture = self._opener(self._target)
        if not capture.isOpened():
            capture.release()
            return None
        if self._fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self._fourcc))
        if self._size:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        if self._fps_wanted:
            capture.set(cv2.CAP_PROP_FPS, self._fps_wanted)
        # Keep the driver's own queue short: we want the newest frame, not a backlog.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return capture

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        """BGR (any size) → RGB at the source's size, into one of three reused buffers.

        Three are enough: one waits in the slot, one is held by the driver, one is written.
        """
        if not self._buffers:
            height, width = bgr.shape[:2]
            self._buffers = [np.empty((height, width, 3), np.uint8) for _ in range(3)]
        out = next(b for b in self._buffers if not self.slot.holds(b))
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            bgr = cv2.cvtColor(to_rgb8(bgr), cv2.COLOR_RGB2BGR)
        if bgr.shape[:2] != out.shape[:2]:  # the camera came back at another size
            bgr = cv2.resize(bgr, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
        if not self.mirror:
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=out)
            return out
        if self._unflipped is None or self._unflipped.shape != out.shape:
            self._unflipped = np.empty_like(out)
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=self._unflipped)
        cv2.flip(self._unflipped, 1, dst=out)
        return out

    def _produce(self) -> None:
        index = 0
        time_base = Fraction(1, 1000)
        start = time.perf_counter()
        capture: Any | None = self._capture
        failures = 0
        while not self._stop.is_set():
            if self._pending is not None:
                rgb, self._pending = self._pending, None
            else:
                if capture is None:
                    capture = self._reopen()
                    continue
                try:
                    ok, self._bgr = capture.read(self._bgr)
                except Exception as exc:  # noqa: BLE001 - some drivers raise on unplug
                    log.debug("camera %s: read failed (%s)", self.spec, exc)
                    ok, self._bgr = False, None
                if not ok or self._bgr is None:
                    self._bgr = None
                    failures += 1
                    if failures >= FAILED_READS_BEFORE_GONE:
                        log.warning(
                            "camera %s stopped sending frames; keeping the output going and "
                            "retrying every %g s",
                            self.spec,
                            RETRY_SECONDS,
                        )
                        capture.release()
                        capture = self._capture = None
                    else:
                        self._stop.wait(0.01)
                    continue
                failures = 0
                rgb = self._convert(self._bgr)
            now = time.perf_counter()
            pts = round((now - start) * 1000)
            self.slot.put(Frame(rgb, index, pts=pts, time_base=time_base, captured_at=now))
            index += 1
        if capture is not None:
            capture.release()

    @property
    def connected(self) -> bool:
        return self._capture is not None

    def _reopen(self) -> Any | None:
        if self._stop.wait(RETRY_SECONDS):
            return None
        try:
            capture = self._open()
        except Exception as exc:  # noqa: BLE001 - a half-plugged device can fail any way
            log.debug("camera %s: reopen failed (%s)", self.spec, exc)
            return None
        if capture is not None:
            self.reconnects += 1
            self._capture = capture
            log.warning("camera %s is back", self.spec)
        return capture

    def close(self) -> None:
        super().close()
        if self._thread is None and self._capture is not None:
            self._capture.release()
            self._capture = None


def parse_size(size: str) -> tuple[int, int] | None:
    """Parse "1280x720" into (1280, 720); an empty string means the camera's default."""
    if not size:
        return None
    parts = size.lower().replace("*", "x").split("x")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        width, height = int(parts[0]), int(parts[1])
        if width > 0 and height > 0:
            return width, height
    raise UserError(f"Size '{size}' is not of the form WIDTHxHEIGHT, e.g. 1280x720.")


def _open_capture(target: Any) -> Any:
    """cv2.VideoCapture without OpenCV's own warnings on a missing device."""
    # OpenCV 4.14 keeps the log level under cv2.utils.logging only (cv2.getLogLevel is gone).
    logging_api: Any = getattr(cv2.utils, "logging", cv2)
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(_LOG_LEVEL_ERROR)
    try:
        if sys.platform.startswith("linux"):
            return cv2.VideoCapture(target, cv2.CAP_V4L2)
        return cv2.VideoCapture(target)
    finally:
        logging_api.setLogLevel(previous)


def available_cameras(probe: Callable[[Any], Any] | None = None) -> list[str]:
    """Cameras that exist: /dev/video* nodes on Linux, else indices 0-9 that open."""
    if sys.platform.startswith("linux") and probe is None:
        nodes = glob.glob("/dev/video[0-9]*")
        return sorted(nodes, key=lambda p: int(p.removeprefix("/dev/video") or 0))
    found = []
    opener = probe or _open_capture
    for index in range(10):
        capture = opener(index)
        try:
            if capture.isOpened():
                found.append(str(index))
        finally:
            capture.release()
    return found


def missing_camera_message(spec: str) -> str:
    cameras = available_cameras()
    if cameras:
        return (
            f"Camera {spec} cannot be opened; the cameras found are {', '.join(cameras)} "
            "(pick one with livematte run N or livematte run /dev/videoN)."
        )
    return (
        f"Camera {spec} cannot be opened and no camera was found; plug one in (on Linux, "
        "check that your user is in the 'video' group), or play a file with --live."
    )
