"""Ctrl-C and SIGTERM as a polite request: finish the frame, close the file, keep it.

The first signal sets a flag the drivers poll between frames; the second aborts at once,
removing the hidden partial outputs first (an unfinished MP4 has no index and would not
play, and a hidden file nobody asked for is clutter). Handlers are only installed from the
main thread (Python allows no other), and the previous handlers come back when the run ends.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType

from ..io.partials import remove_partials, run_abort_hooks


class StopRequest:
    """A flag set by SIGINT/SIGTERM (or by code, e.g. the 'q' key)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def set(self, reason: str = "") -> None:
        self.signal_name = self.signal_name or reason
        self._event.set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            run_abort_hooks()
            remove_partials()
            sys.stderr.write("\nlivematte: aborted; the unfinished output was removed.\n")
            os._exit(130)
        self.set(signal.Signals(signum).name)
        sys.stderr.write(
            "\nlivematte: stopping after the current frame (press Ctrl-C again to abort)...\n"
        )

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()
