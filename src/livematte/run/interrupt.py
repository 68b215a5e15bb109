"""Ctrl-C and SIGTERM as a polite request: finish the frame, close the file, keep it.

The first signal sets a flag the drivers poll between frames. A second Ctrl-C aborts at
once, removing the hidden partial outputs first (an unfinished MP4 has no index and would
not play, and a hidden file nobody asked for is clutter), but only when it comes at least
``SECOND_PRESS_S`` after the first: ``timeout -s INT`` and a terminal both deliver one
SIGINT to the process and again to its group, milliseconds apart, and that echo is not a
person pressing twice. SIGTERM (systemd, ``kill``) only ever asks for the clean stop.
Handlers are only installed from the main thread (Python allows no other), and the
previous handlers come back when the run ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType, TracebackType

from ..io.partials import remove_partials, run_abort_hooks

# A second SIGINT sooner than this after the first is the same press delivered twice.
SECOND_PRESS_S = 0.5


def _abort() -> None:
    """Undo what must not outlive the process, remove the partial outputs, exit 130."""
    run_abort_hooks()
    remove_partials()
    say_from_a_signal_handler("\nlivematte: aborted; the unfinished output was removed.\n")
    os._exit(130)


class StopRequest:
    """A flag set by SIGINT/SIGTERM (or by code, e.g. the 'q' key)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""
        self._first_sigint: float | None = None  # monotonic time of the first SIGINT
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
        now = time.monotonic()
        if signum == signal.SIGINT:
            if self._first_sigint is not None:
                if now - self._first_sigint >= SECOND_PRESS_S:
                    _abort()
                return  # the same press, echoed to the process group
            self._first_sigint = now
        if self._event.is_set():
            return
        self.set(signal.Signals(signum).name)
        if signum == signal.SIGINT:
            message = "stopping after the current frame (press Ctrl-C again to abort)..."
        else:
            message = "terminated: stopping after the current frame and keeping the output..."
        say_from_a_signal_handler(f"\nlivematte: {message}\n")

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


def say_from_a_signal_handler(text: str) -> None:
    """Write ``text`` to stderr from a signal handler. The handler runs between two bytecodes
    of the main thread, which may be inside a print to stderr: writing through sys.stderr
    then raises "reentrant call" (Python 3.13 and later), so the bytes go straight to the
    file descriptor, as a single write."""
    try:
        os.write(sys.stderr.fileno(), text.encode("utf-8", "replace"))
    except (OSError, ValueError):  # stderr closed or not a real file (captured in tests)
        # The reentrant case there: the message is dropped, the stop holds.
        with contextlib.suppress(RuntimeError):
            sys.stderr.write(text)
