"""Errors a user can act on.

Every failure that the user can fix (a missing file, a bad option, no camera) is raised as
a :class:`UserError` carrying one sentence that says what is wrong and how to fix it. The
CLI prints that sentence and exits with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; ``str(error)`` is the one sentence shown to them."""

    exit_code = 2


def exit_status(signal_name: str) -> int:
    """The shell's status for a run stopped by a signal: 128 + its number (130 or 143)."""
    return 143 if signal_name == "SIGTERM" else 130


class Interrupted(UserError):
    """The run was stopped by SIGINT or SIGTERM after a clean shutdown.

    A UserError so the CLI prints its one sentence, but with the shell's status for the
    signal (130 for Ctrl-C, 143 for SIGTERM).
    """

    exit_code = 130

    def __init__(self, message: str, signal_name: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_status(signal_name)


def reason_of(error: BaseException) -> str:
    """The one-line reason inside an exception, for a sentence the user reads.

    An OS error's own words ("No space left on device") rather than its repr; the first
    line of multi-line messages (onnxruntime's run to many lines); the type's name when
    there is no message at all.
    """
    text = str(getattr(error, "strerror", None) or error).strip()
    lines = text.splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__
