"""``--on-demand``: the webcam runs only while some app has the virtual camera open.

Every second the /proc/PID/fd links are scanned for the virtual camera's device node
(livematte's own descriptors excluded). While nobody holds it, the webcam is closed (its
light goes off) and the driver sends a still "paused" picture once a second, so the CPU
stays near idle. When an app opens the virtual camera, the webcam is opened on a thread
(some take seconds), and its frames flow again. Linux only: other systems have no /proc.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..io.camera import LiveSource

log = logging.getLogger("livematte")

POLL_SECONDS = 1.0


def require_linux(platform: str | None = None) -> None:
    if not (platform or sys.platform).startswith("linux"):
        raise UserError(
            "--on-demand works on Linux only (it watches who opens the v4l2loopback device); "
            "run without it here."
        )


def holders(device: str, proc_root: Path = Path("/proc"), exclude: int | None = None) -> list[int]:
    """Process ids that have ``device`` open, from the /proc/PID/fd symlinks.

    Processes whose descriptors cannot be read (other users') are skipped: a user's own
    video call runs as the user, so it is always seen.
    """
    exclude = os.getpid() if exclude is None else exclude
    wanted = {device, os.path.realpath(device)}
    found = []
    try:
        entries = list(os.scandir(proc_root))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            links = os.scandir(os.path.join(entry.path, "fd"))
        except OSError:
            continue
        with links:
            for link in links:
                try:
                    if os.readlink(link.path) in wanted:
                        found.append(int(entry.name))
                        break
                except OSError:
                    continue
    return sorted(found)


def paused_picture(width: int, height: int) -> np.ndarray:
    """A dark still saying why there is no picture (made once at start)."""
    image = np.full((height, width, 3), 32, np.uint8)
    scale = max(0.4, width / 1280.0)
    lines = ("livematte is paused", "the camera starts when an app opens this camera")
    for row, text in enumerate(lines):
        size = 1.4 * scale if row == 0 else 0.8 * scale
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 2)
        y = height // 2 + int(row * 60 * scale) - int(10 * scale)
        cv2.putText(
            image,
            text,
            ((width - w) // 2, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            size,
            (220, 220, 220),
            2,
            cv2.LINE_AA,
        )
    return image


class OnDemandSource(LiveSource):
    """Relays a camera's frames while the virtual camera is held; ``paused`` otherwise."""

    def __init__(
        self,
        open_camera: Callable[[], LiveSource],
        width: int,
        height: int,
        fps: float,
        *,
        proc_root: Path = Path("/proc"),
        poll: float = POLL_SECONDS,
        own_pid: int | None = None,
    ) -> None:
        super().__init__()
        self._open_camera = open_camera
        self.width, self.height, self.fps = width, height, fps
        self.path = None
        self.proc_root = proc_root
        self.poll = poll
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self.device = ""
        self.opens = 0
        self._camera: LiveSource | None = None
        self._opening: threading.Thread | None = None
        self._wanted = False
        self._lock = threading.Lock()
        self._dropped_before = 0

    def watch(self, device: str) -> None:
        """The virtual camera's node, known once the output is open."""
        self.device = device

    @property
    def paused(self) -> bool:
        return self._camera is None

    def _camera_drops(self) -> int:
        """Frames the cameras dropped before the relay took them."""
        camera = self._camera
        return self._dropped_before + (camera.frames_dropped if camera is not None else 0)

    @property
    def frames_dropped(self) -> int:
        return super().frames_dropped + self._camera_drops()

    @property
    def frames_in(self) -> int:
        return super().frames_in + self._camera_drops()

    def _produce(self) -> None:
        next_check = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_check and self.device:
                next_check = now + self.poll
                self._follow(bool(holders(self.device, self.proc_root, self.own_pid)))
            camera = self._camera
            if camera is None:
                self._stop.wait(0.1)
                continue
            frame = camera.latest(0.1)
            if frame is not None:
                self.slot.put(frame)

    def _follow(self, wanted: bool) -> None:
        if wanted == self._wanted:
            return
        self._wanted = wanted
        if wanted:
            log.info("on demand: %s is in use; starting the camera", self.device)
            if self._opening is None or not self._opening.is_alive():
                self._opening = threading.Thread(
                    target=self._open, name="livematte-camera-open", daemon=True
                )
                self._opening.start()
        else:
            log.info("on demand: nobody uses %s; camera off", self.device)
            self._release()

    def _open(self) -> None:
        """On its own thread: a camera that takes seconds to open stalls nothing."""
        try:
            camera = self._open_camera()
            camera.start()
        except Exception as exc:  # noqa: BLE001 - retried at the next check
            log.warning("on demand: the camera does not open (%s); retrying", exc)
            self._wanted = False
            return
        with self._lock:
            if not self._wanted or self._stop.is_set():
                camera.close()
                return
            self._camera = camera
            self.opens += 1
            self.reconnects += 1  # the driver starts the model's state afresh

    def _release(self) -> None:
        with self._lock:
            camera, self._camera = self._camera, None
        if camera is not None:
            self._dropped_before += camera.frames_dropped
            threading.Thread(target=camera.close, name="livematte-camera-close").start()

    def close(self) -> None:
        super().close()
        self._wanted = False
        self._release()
        if self._opening is not None:
            self._opening.join(timeout=5.0)
