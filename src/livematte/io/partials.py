"""What an abort (a second Ctrl-C) must clean up before the process vanishes: the hidden
partial outputs being written, and hooks such as a terminal left in single-key mode."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

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


def run_abort_hooks() -> None:
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
