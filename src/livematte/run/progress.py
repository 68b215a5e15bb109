"""A one-line progress bar with fps and ETA, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws at most a few times a second so it never costs measurable time.

    The rate (and so the time left) is counted from the first frame that came out, not
    from the start: a slow model's load and first frames (MODNet on a CPU: a second or
    more) would otherwise make a 5 fps run read 4 and overstate what is left.
    """

    def __init__(self, total: int | None, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = enabled and self.stream.isatty()
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self.count = 0
        self._first: tuple[float, int] | None = None  # (time, count) at the first update

    def update(self, count: int) -> None:
        self.count = count
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._first is None and count > 0:
            self._first = (now, count)
        if now - self._last_draw < 0.25:
            return
        self._last_draw = now
        self.stream.write("\r" + self.line(now))
        self.stream.flush()

    def line(self, now: float | None = None) -> str:
        now = now or time.perf_counter()
        elapsed = max(1e-9, now - self.start)
        # One frame gives no rate: it carried the start-up.
        fps = self.count / elapsed if self.count > 1 else 0.0
        if self._first is not None and self.count > self._first[1] and now > self._first[0]:
            fps = (self.count - self._first[1]) / (now - self._first[0])
        if self.total:
            fraction = min(1.0, self.count / self.total)
            filled = int(fraction * 30)
            eta = _clock((self.total - self.count) / fps) if fps > 0 else "-:--:--"
            return (
                f"[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} "
                f"{fps:5.1f} fps  ETA {eta}  "
            )
        return f"{self.count} frames {fps:5.1f} fps  {_clock(elapsed)}  "

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line() + "\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
