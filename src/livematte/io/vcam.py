"""The virtual camera sink: frames to Zoom, Meet, Teams or OBS through pyvirtualcam.

On Linux the device is a v4l2loopback node, on Windows and macOS the OBS Virtual Camera.
A missing device is a one-sentence fix for the user. A device that vanishes or is busy
mid-stream never stops the run: the failure is logged once, frames are discarded, and the
device is reopened every second until it is back.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any

import numpy as np

from ..errors import UserError
from ..frame import Frame
from .sinks import Sink

log = logging.getLogger("livematte")

MODPROBE_FIX = "sudo modprobe v4l2loopback exclusive_caps=1 card_label=livematte"
REOPEN_SECONDS = 1.0


def no_device_message(device: str, reason: str) -> str:
    """The one sentence that tells the user how to get a virtual camera."""
    if sys.platform.startswith("linux"):
        which = f"Virtual camera {device} is not available" if device else "No virtual camera"
        return (
            f"{which} ({reason}); create one with: {MODPROBE_FIX} "
            "(Chrome-based apps such as Meet in Chrome, Teams and Discord only list it with "
            "exclusive_caps=1), then pass --vcam-device /dev/videoN if it is not the first."
        )
    return (
        f"No virtual camera ({reason}); install OBS Studio (26 or later) and click "
        "'Start Virtual Camera' once, then run livematte again."
    )


class VirtualCameraSink(Sink):
    """RGB frames to a pyvirtualcam camera at a steady rate.

    A keep-alive sink: a call app must never see its camera stop, so gaps in the input
    are filled with the last picture. ``pace`` holds the output at ``fps`` with
    ``sleep_until_next_frame`` (only wanted when frames come faster than that).
    """

    description = "virtual camera"
    keepalive = True

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        device: str = "",
        backend: str | None = None,
        pace: bool = False,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.pace = pace
        self.device = device
        self.backend = backend
        self.errors = 0
        self.reopens = 0
        self._failed_at: float | None = None
        self._camera: Any = None
        try:
            self._camera = self._open()
        except RuntimeError as exc:
            raise UserError(no_device_message(device, _short_reason(exc))) from None
        self.description = f"virtual camera {self._camera.device} ({self._camera.backend})"

    def _open(self) -> Any:
        import pyvirtualcam

        return pyvirtualcam.Camera(
            self.width,
            self.height,
            self.fps,
            fmt=pyvirtualcam.PixelFormat.RGB,
            device=self.device or None,
            backend=self.backend,
        )

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.send(image, pace=self.pace)

    def repeat(self, image: np.ndarray) -> None:
        self.send(image)

    def send(self, image: np.ndarray, pace: bool = False) -> bool:
        """Send one RGB frame; False when the device is gone (it is retried, never raised).

        ``pace`` waits with ``sleep_until_next_frame`` after sending, which holds the
        output at ``fps`` when frames come faster than that.
        """
        if self._camera is None and not self._try_reopen():
            return False
        try:
            self._camera.send(image)
        except Exception as exc:  # noqa: BLE001 - a vanished device fails in backend-specific ways
            self._lost(exc)
            return False
        if pace:
            self._camera.sleep_until_next_frame()
        return True

    def _lost(self, exc: BaseException) -> None:
        self.errors += 1
        if self._failed_at is None:
            log.warning(
                "virtual camera %s failed (%s); still running, retrying every %.0f s",
                self.device or self._camera_name(),
                _short_reason(exc),
                REOPEN_SECONDS,
            )
        self._failed_at = time.monotonic()
        self._close_camera()

    def _try_reopen(self) -> bool:
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < REOPEN_SECONDS:
            return False
        try:
            self._camera = self._open()
        except Exception:  # noqa: BLE001 - still gone or busy; try again later
            self._failed_at = now
            return False
        self.reopens += 1
        self._failed_at = None
        log.warning("virtual camera %s is back", self._camera.device)
        return True

    @property
    def opened_device(self) -> str:
        """The device node in use (e.g. /dev/video4), "" while it is gone."""
        return str(getattr(self._camera, "device", "") or self.device)

    def _camera_name(self) -> str:
        return self.description.removeprefix("virtual camera ")

    def _close_camera(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            # Closing a vanished device may fail too; it is gone either way.
            with contextlib.suppress(Exception):
                camera.close()

    def close(self, keep: bool = True, complete: bool = True) -> None:
        self._close_camera()


def _short_reason(exc: BaseException) -> str:
    """pyvirtualcam's message without its backend prefix and its own advice."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("'") and "' backend: " in text:
        text = text.split("' backend: ", 1)[1]
    return text.split(". Did you", 1)[0].rstrip(".")
