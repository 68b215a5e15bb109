"""The preview window: the output as the call will see it, with fps and stage times on it.

The window is OpenCV's (BGR), so the RGB frame is converted into a buffer reused from frame
to frame and the figures are drawn on that copy, never on the frame that is sent. Keys
typed in the window go to the same controls as the terminal's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ..errors import UserError
from ..frame import Frame
from .sinks import Sink

WINDOW = "livematte preview"
_ESC = 27
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def display_available() -> bool:
    """Whether a window can be opened (OpenCV's Qt aborts the process without a display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class PreviewWindow:
    """Shows frames with an overlay; ``show`` returns the key pressed, if any."""

    description = "preview window"

    def __init__(self, gui: Any = None) -> None:
        if gui is None and not display_available():
            raise UserError(
                "No display to open the preview window on; run livematte from a desktop "
                "session, or use -o vcam or -o null."
            )
        self._gui = gui or cv2
        self._gui.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        self._bgr: np.ndarray | None = None
        self.closed = False

    def show(self, rgb: np.ndarray, lines: list[str]) -> str | None:
        """Draw ``rgb`` with ``lines`` of text; the key pressed (as a character) or None."""
        if self._bgr is None or self._bgr.shape != rgb.shape:
            self._bgr = np.empty_like(rgb)
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=self._bgr)
        draw_lines(self._bgr, lines)
        self._gui.imshow(WINDOW, self._bgr)
        return self.poll()

    def poll(self) -> str | None:
        """Pump the window's events; a closed window counts as 'q'."""
        code = self._gui.waitKey(1)
        try:
            visible = self._gui.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE)
        except cv2.error:
            visible = 0
        if visible < 1:
            self.closed = True
            return "q"
        if code is None or code < 0:
            return None
        code &= 0xFF
        return "q" if code == _ESC else chr(code)

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            self._gui.destroyWindow(WINDOW)


def draw_lines(image: np.ndarray, lines: list[str]) -> None:
    """Text in the top-left corner, white on a dark outline so it reads on any picture."""
    scale = max(0.45, image.shape[0] / 1100.0)
    step = int(28 * scale / 0.65)
    for row, text in enumerate(lines):
        origin = (10, step * (row + 1))
        cv2.putText(image, text, origin, _FONT, scale, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(image, text, origin, _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


class PreviewSink(Sink):
    """The preview window as an output: each picture shown with the run's overlay lines,
    and the keys typed into the window handed to the driver."""

    keepalive = True

    def __init__(self, window: PreviewWindow, overlay: Callable[[], list[str]]) -> None:
        self.window = window
        self.overlay = overlay
        self.description = window.description
        self._keys: list[str] = []

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.repeat(image)

    def repeat(self, image: np.ndarray) -> None:
        key = self.window.show(image, self.overlay())
        if key:
            self._keys.append(key)

    def pressed(self) -> list[str]:
        pressed, self._keys = self._keys, []
        return pressed

    def close(self, keep: bool = True, complete: bool = True) -> None:
        self.window.close()
