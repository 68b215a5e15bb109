"""Ctrl-C and SIGTERM as a polite request: finish the frame, close the file, keep it.

The first signal sets a flag the drivers poll between frames; the second aborts at once,
removing the hidden partial outputs first (an unfinished MP4 has no index and would not
play, and a hidden file nobody asked for is clutter). Handlers are only installed from the
main thread (Python allows no other), and the previous handlers come back when the run ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType

# Hidden partial outputs being written now; an abort removes them (see remove_on_abort).
# No lock: the signal handler runs on the main thread and must never wait on one; single
# set operations are atomic under the GIL.
_PARTIALS: set[Path] = set()


def remove_on_abort(path: Path) -> None:
    """Register a partial output (file or folder) to delete if the user aborts."""
    _PARTIALS.add(path)


def forget_on_abort(path: Path) -> None:
    """The partial output was renamed or removed; an abort must not touch it any more."""
    _PARTIALS.discard(path)


# Other things an abort must undo before the process vanishes (a terminal left in
# single-key mode, say). Bound methods hash by (object, function), so the owner can
# withdraw the same hook it added.
_ABORT_HOOKS: set[Callable[[], None]] = set()


def add_abort_hook(hook: Callable[[], None]) -> None:
    """Run ``hook`` if the user aborts with a second Ctrl-C (it must not block)."""
    _ABORT_HOOKS.add(hook)


def remove_abort_hook(hook: Callable[[], None]) -> None:
    _ABORT_HOOKS.discard(hook)


def _run_abort_hooks() -> None:
    for hook in list(_ABORT_HOOKS):
        # We are exiting: one failed hook must not stop the rest.
        with contextlib.suppress(Exception):
            hook()
    _ABORT_HOOKS.clear()


def remove_partials() -> None:
    """Delete every registered partial output (called on abort, just before exiting)."""
    paths = list(_PARTIALS)
    _PARTIALS.clear()
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


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
            _run_abort_hooks()
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
