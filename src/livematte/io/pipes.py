"""``-`` as the input or the output: pictures and videos through stdin and stdout.

``livematte run - -o - < photo.jpg > cutout.png`` works as rembg's does, and a video piped
in comes out as Matroska, which is written as it goes (no seeking back, so a pipe can take
it). What comes through stdin is first copied into a temporary file: a picture is decoded
whole anyway, and a video container (an MP4 keeps its index at the end) and its audio
(read beside the video) can then be read as from any file. So a video through stdin is
processed once its sender has finished, not while it streams.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO, TextIO

from ..errors import UserError

STDIO = "-"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StdinInput:
    """What came through stdin, kept in a temporary file (removed when livematte exits)."""

    path: Path
    picture: bool  # a still image (else a video, or bytes no decoder will take)


@cache
def read_stdin() -> StdinInput:
    """Copy stdin into a temporary file once per process, and say whether it is a picture."""
    stdin = _piped(
        sys.stdin,
        "Input - reads a picture or a video from stdin, and stdin is a terminal; pipe one "
        "in (livematte run - -o - < photo.jpg > cutout.png).",
    )
    folder = Path(tempfile.mkdtemp(prefix="livematte-stdin-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "stdin"
    with open(path, "wb") as copy:
        shutil.copyfileobj(stdin, copy, _CHUNK)
    if path.stat().st_size == 0:
        raise UserError("Input - (stdin) is empty; pipe a picture or a video into livematte.")
    return StdinInput(path, _is_picture(path))


def _is_picture(path: Path) -> bool:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # read_image applies livematte's own limit
    try:
        with Image.open(path):
            return True
    except Exception:  # noqa: BLE001 - not a picture Pillow knows: try it as a video
        return False


def stdout_stream() -> BinaryIO:
    """stdout for an output's bytes, refused when it is a terminal (bytes would garble it)."""
    return _piped(
        sys.stdout,
        "-o - writes the output to stdout, and stdout is a terminal; redirect it to a file or "
        "a program (> cutout.png, | ffplay -).",
    )


def _piped(stream: TextIO | None, refusal: str) -> BinaryIO:
    """The bytes under a standard stream, or ``refusal`` when it is a terminal (or closed)."""
    raw = getattr(stream, "buffer", None)
    if raw is None or raw.isatty():
        raise UserError(refusal)
    return raw
