"""One live run per output: a run holds a lock on each final path it writes.

The lock is ``flock`` on a hidden file beside the output (``.NAME.livematte-lock``), held
for the run's life; the kernel drops it when the process ends however it ends (a crash,
``kill -9``), so no lock outlives its run. A second run that finds the lock held refuses
in one sentence before any work. The holder removes the lock file when it is done; a
run that locked a file another run was removing at that moment sees the path no longer
names its file and locks again. Holding the lock also makes it safe to delete the hidden
partial files that crashed runs left for the same output.

Where ``fcntl`` does not exist (Windows) outputs are not locked.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.livematte-lock")


class OutputLocks:
    """Exclusive locks on a run's final output paths (a context manager; see module)."""

    def __init__(self) -> None:
        self._held: list[tuple[Path, int]] = []

    def claim(self, final: Path, what: str = "") -> None:
        """Lock ``final`` for this run, or refuse: another live run is writing it."""
        if fcntl is None or not final.parent.is_dir():
            return
        path = lock_path(final)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return  # a folder we cannot write in: the output checks say so
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (process {holder})" if holder else ""
                raise UserError(
                    f"Another livematte run{who} is writing {what or final} now; wait for it "
                    "to finish, or choose another output name."
                ) from None
            if _still_named(fd, path):
                break
            os.close(fd)  # the holder removed this file as we locked it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held.append((path, fd))

    def release(self) -> None:
        for path, fd in reversed(self._held):
            with contextlib.suppress(OSError):
                path.unlink()  # while still locked: a waiting run then locks a new file
            os.close(fd)
        self._held.clear()

    close = release  # beside the other things a run opens and closes

    def __enter__(self) -> OutputLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim_outputs(finals: Iterable[tuple[str, Path]]) -> OutputLocks:
    """Lock each (name in the sentence, final path); on a refusal none stays locked."""
    locks = OutputLocks()
    try:
        for what, final in finals:
            locks.claim(final, what)
            remove_stale_partials(final)
    except BaseException:
        locks.release()
        raise
    return locks


def remove_stale_partials(final: Path) -> None:
    """Delete hidden partial files of ``final`` that dead runs left (we hold its lock, so
    no live run is writing one); only files named exactly as partial_path names them."""
    name = re.compile(
        rf"\.{re.escape(final.stem)}\.livematte-partial-[0-9a-f]{{12}}{re.escape(final.suffix)}"
    )
    for stale in final.parent.glob(f".{final.stem}.livematte-partial-*"):
        if name.fullmatch(stale.name) and stale.is_file():
            with contextlib.suppress(OSError):
                stale.unlink()


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return os.pread(fd, 32, 0).decode().strip()
    return ""


def _still_named(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False
