"""Where frames go: the one ``Sink`` protocol every output implements.

Files (``video_file``, ``image_files``), the virtual camera (``vcam``), the preview window
(``preview``), the control page's stream and null all take frames the same way, so a
driver holds a list of sinks and nothing else; ``open.open_sinks`` makes them from what
the user typed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frame import Frame
from ..planar import ColourSpace


@dataclass(frozen=True)
class PixelFormat:
    """What a sink is handed: packed RGB, RGBA or grey, or decoded 4:2:0 (``i420``).

    ``colour`` is the source's colour space where it has one: the numbers of ``i420``
    pictures, and for RGB the primaries and transfer its pixels are in (passed through to
    the output's tags, never converted).
    """

    layout: str
    colour: ColourSpace | None = None

    @property
    def channels(self) -> int:
        return {"rgb": 3, "rgba": 4, "grey": 1}.get(self.layout, 0)


class Sink:
    """Takes processed frames.

    A driver opens its sinks, asks each whether it :meth:`accepts` a format (a question
    that changes nothing), tells all of them the one format chosen with :meth:`use`, then
    calls :meth:`write` for every frame and :meth:`close` once at the end, keeping or
    discarding what was written. ``keepalive`` sinks (a virtual camera, a window, a
    stream) must not go quiet: during gaps in the input they get the last picture again
    through :meth:`repeat`.
    """

    description = "an output"
    keepalive = False
    format = PixelFormat("rgb")
    # Lines for the run's summary: what the output did that the user did not ask for.
    notes: Sequence[str] = ()
    # A recording of a camera, which has no end of its own: stopping the run finishes it
    # (else a stopped run is a part, kept beside an earlier output of the same name).
    stop_finishes = False

    def accepts(self, fmt: PixelFormat) -> bool:
        """Whether this sink can take frames in ``fmt``; no side effects."""
        return fmt.layout == "rgb"

    def use(self, fmt: PixelFormat) -> None:
        """Take frames in ``fmt`` (one it accepts) from the first write on."""
        self.format = fmt

    def write(self, frame: Frame, image: np.ndarray) -> None:
        """One processed frame; ``frame`` carries its index, timestamps and name."""
        raise NotImplementedError

    def repeat(self, image: np.ndarray) -> None:
        """The last picture again, to fill a gap (only called on ``keepalive`` sinks)."""

    def pressed(self) -> list[str]:
        """Keys typed into this output since the last call (a preview window's)."""
        return []

    def close(self, keep: bool = True, complete: bool = True) -> None:
        """Finish the output; with ``keep=False`` remove what was written.

        ``complete=False`` means the run was interrupted: keep what was done, as a valid file.
        """


class NullSink(Sink):
    """Discards frames: for benchmarks and for runs that only want ``--alpha-out``."""

    description = "nowhere (null)"

    def accepts(self, fmt: PixelFormat) -> bool:
        return True

    def write(self, frame: Frame, image: np.ndarray) -> None:
        pass


def close_sinks(sinks: Sequence[Sink | None], keep: bool, complete: bool = True) -> None:
    """Close every sink even when one fails (so none leaves a partial file), then re-raise."""
    error: BaseException | None = None
    for sink in sinks:
        if sink is None:
            continue
        try:
            sink.close(keep=keep, complete=complete)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
            error = error or exc
    if error is not None:
        raise error


def partial_path(final: Path) -> Path:
    """A hidden sibling of ``final``, unique to this writer, with the same extension (so
    formats are guessed alike): two runs never write into one partial file."""
    token = uuid.uuid4().hex[:12]
    return final.with_name(f".{final.stem}.livematte-partial-{token}{final.suffix}")


def check_writable_folder(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise UserError(
            f"Output folder {folder} is a file, not a folder; pick another output path."
        )
    if not folder.is_dir():
        raise UserError(f"Output folder {folder} does not exist; create it or pick another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"Output folder {folder} is not writable; pick another output path.")
