"""The live output as MJPEG for the control page, encoded on its own thread.

While nobody watches, :meth:`MjpegSink.write` returns at once (no copy, no encode). While a
client watches, the driver's frame is copied into a spare buffer at most 15 times a second
and only when the encoder is ready for a new one; the shrink to preview size and the JPEG
encode happen on the encoder's thread (OpenCV releases the GIL), so the live loop pays for
one copy at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from ..frame import Frame
from ..io.sinks import Sink
from .thumbs import encode_jpeg

PREVIEW_WIDTH = 640
JPEG_QUALITY = 75
# A preview needs no more; fewer frames also mean fewer turns of the page's threads
# competing with the live loop for the interpreter.
STREAM_FPS = 15.0


class MjpegSink(Sink):
    """A live output (keepalive, like the virtual camera) that serves JPEGs to watchers."""

    keepalive = True
    description = "control page stream"

    def __init__(
        self, width: int = PREVIEW_WIDTH, quality: int = JPEG_QUALITY, fps: float = STREAM_FPS
    ) -> None:
        self.width = width
        self.quality = quality
        self.period = 1.0 / fps
        self._taken_at = 0.0
        self.jpeg: bytes = b""
        self.sequence = 0  # bumps with every new JPEG
        self.encoded = 0
        self._watchers = 0
        self._cond = threading.Condition()
        self._buffer: np.ndarray | None = None
        self._pending = False
        self._closed = False
        self._thread: threading.Thread | None = None
        # Called on the encoder's thread after each new JPEG (the server wakes its streams).
        self.listeners: list[Callable[[], None]] = []

    # --- the live loop's side ------------------------------------------------------------

    def write(self, frame: Frame | None, image: np.ndarray) -> None:
        """Hand over the newest output picture (RGB); copied only when someone watches."""
        if not self._watchers or self._pending:
            return
        now = time.perf_counter()
        if now - self._taken_at < self.period:
            return
        self._taken_at = now
        with self._cond:
            if self._buffer is None or self._buffer.shape != image.shape:
                self._buffer = np.empty_like(image)
            np.copyto(self._buffer, image)
            self._pending = True
            self._cond.notify_all()

    def repeat(self, image: np.ndarray) -> None:
        self.write(None, image)

    def close(self, keep: bool = True, complete: bool = True) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    # --- the page's side -----------------------------------------------------------------

    @property
    def watchers(self) -> int:
        return self._watchers

    def watch(self) -> None:
        """A client starts watching; the encoder thread starts with the first one."""
        with self._cond:
            self._watchers += 1
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._encode_loop, name="livematte-mjpeg", daemon=True
                )
                self._thread.start()

    def unwatch(self) -> None:
        with self._cond:
            self._watchers = max(0, self._watchers - 1)

    def next_jpeg(self, after: int, timeout: float) -> tuple[int, bytes]:
        """The first JPEG newer than sequence ``after`` (waits up to ``timeout`` s)."""
        with self._cond:
            self._cond.wait_for(lambda: self.sequence > after or self._closed, timeout)
            return self.sequence, self.jpeg

    def _encode_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                rgb = self._buffer
            assert rgb is not None
            jpeg = self._encode(rgb)
            with self._cond:
                self.jpeg = jpeg
                self.sequence += 1
                self.encoded += 1
                self._pending = False
                self._cond.notify_all()
            for listener in self.listeners:
                listener()

    def _encode(self, rgb: np.ndarray) -> bytes:
        height, width = rgb.shape[:2]
        if width > self.width:
            size = (self.width, max(2, round(height * self.width / width)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        return encode_jpeg(rgb, self.quality)
