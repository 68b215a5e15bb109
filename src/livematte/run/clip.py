"""One clip of a batch, as a worker runs it: complete under its final name, or absent.

``process_video`` already writes under a hidden name and renames at the end, but that name
is fixed per output: two attempts at the same clip (a task retried while a node thought
lost still runs it) would write one file together. So each attempt writes its own hidden
file, named with a random token, and renames it to the final name only when the clip is
whole. A stopped clip is thrown away (the batch redoes it on the next run); a failed one
leaves nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..io.open import claim_run_outputs
from ..io.partials import attempt_path
from .interrupt import StopRequest
from .manifest import ClipJob

DONE, FAILED, STOPPED = "done", "failed", "stopped"
# Not processed in this run: finished by an earlier run (the journal says so), or a file
# in an input folder that is not a video.
ALREADY_DONE, NOT_A_VIDEO = "already done", "not a video"

# Failures of the machine rather than of the clip: worth another attempt elsewhere.
SYSTEM_ERRORS: tuple[type[BaseException], ...] = (MemoryError, ConnectionError)


@dataclass
class ClipResult:
    """What became of one clip (one entry of the batch report)."""

    input: str
    output: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "error": self.error or None,
        }


def remove_stale_attempts(final: Path) -> None:
    """Delete hidden files left by attempts at ``final`` that died with their worker."""
    mark = f"{final.stem}.livematte-attempt-"
    for stale in final.parent.glob(f"*{mark}*"):
        if stale.name.lstrip(".").startswith(mark):  # the attempt or its own partial file
            with contextlib.suppress(OSError):
                stale.unlink()


def run_clip(job: ClipJob, stop: StopRequest | None = None) -> ClipResult:
    """Process one clip into ``job.output``; failures of the clip come back as a result.

    Errors in :data:`SYSTEM_ERRORS` are raised, for the executor to retry elsewhere.
    """
    from .offline import process_video  # the model stack loads in workers only

    result = ClipResult(job.name, str(job.output), FAILED)
    started = time.perf_counter()
    attempt = attempt_path(job.output)
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        with claim_run_outputs(str(job.output)):  # no other live run writes this clip
            report = process_video(job.input, attempt, config=job.config, stop=stop)
            if report.interrupted:
                result.status = STOPPED
            else:
                os.replace(attempt, job.output)
                result.status, result.frames = DONE, report.frames
    except SYSTEM_ERRORS:
        raise
    except UserError as exc:
        result.status = STOPPED if stop is not None and stop.requested else FAILED
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one broken clip must not end the batch
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        with contextlib.suppress(OSError):
            attempt.unlink()
    result.seconds = time.perf_counter() - started
    return result
