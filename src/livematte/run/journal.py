"""The batch journal: which outputs are finished, so a rerun skips them.

One JSON line per finished clip in ``OUTDIR/.livematte-batch.jsonl``, appended by the
driver alone with one ``write`` on an ``O_APPEND`` descriptor and flushed to disk, so a
crash leaves at most a torn last line, which loading ignores. A clip counts as finished
when its entry names the same input, with the same size and modification time, the same
settings hash, and its output file still exists; anything else is redone.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from .manifest import ClipJob

JOURNAL_NAME = ".livematte-batch.jsonl"


class Journal:
    """Finished outputs of earlier runs into one output folder."""

    def __init__(self, outdir: Path) -> None:
        self.path = Path(outdir) / JOURNAL_NAME
        self._entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn line from a crash mid-append
                if isinstance(entry, dict) and "output" in entry:
                    self._entries[str(entry["output"])] = entry

    def finished(self, job: ClipJob) -> dict[str, Any] | None:
        """The journal entry if ``job``'s output is done with today's input and settings."""
        entry = self._entries.get(str(job.output))
        if entry is None or not job.output.exists():
            return None
        if entry.get("input") != str(job.input) or entry.get("settings") != job.settings:
            return None
        return entry if entry.get("source") == _fingerprint(job.input) else None

    def record(self, job: ClipJob, frames: int, seconds: float) -> None:
        """Append ``job`` as finished (one atomic append, synced)."""
        entry = {
            "input": str(job.input),
            "output": str(job.output),
            "source": _fingerprint(job.input),
            "settings": job.settings,
            "frames": frames,
            "seconds": round(seconds, 3),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        line = (json.dumps(entry) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise UserError(
                f"Cannot write the batch journal {self.path} ({exc.strerror}); the output "
                "folder must be writable."
            ) from None
        self._entries[entry["output"]] = entry


def _fingerprint(path: Path) -> list[int] | None:
    """Size and modification time (ns): a replaced or edited input shows as changed."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]
