"""What an abort (a second Ctrl-C) must clean up before the process vanishes: the hidden
partial outputs being written, and hooks such as a terminal left in single-key mode."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
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


def attempt_path(final: Path) -> Path:
    """A hidden sibling of ``final``, unique to one attempt at it (a batch clip), with the
    same extension; :func:`shown_path` gives ``final`` back, for messages."""
    return final.with_name(f".{final.stem}.livematte-attempt-{uuid.uuid4().hex[:12]}{final.suffix}")


_ATTEMPT = re.compile(r"^\.(?P<stem>.*)\.livematte-attempt-[0-9a-f]{12}(?P<suffix>.*)$")


def shown_path(path: Path) -> Path:
    """The name the user gave: an attempt's hidden file named as its final output."""
    match = _ATTEMPT.match(path.name)
    return path.with_name(match["stem"] + match["suffix"]) if match else path


def keep_aside(done: Path, final: Path) -> Path:
    """Move what an interrupted run did (``done``, a file or a folder) to a name of its own
    beside ``final``, which exists and stays as it was: ``out.partial.mp4``, else
    ``out.partial-2.mp4`` and on; never over an existing file. Returns the new name."""
    stem, suffix = (final.name, "") if done.is_dir() else (final.stem, final.suffix)
    for number in range(1, 1000):
        tag = "partial" if number == 1 else f"partial-{number}"
        target = final.with_name(f"{stem}.{tag}{suffix}")
        if target.exists() or target.is_symlink():
            continue
        try:
            if done.is_dir():
                os.rename(done, target)
            else:
                os.link(done, target)  # fails if the name was taken meanwhile
                done.unlink()
        except FileExistsError:
            continue
        return target
    raise FileExistsError(f"no free name beside {final} for the partial output")
