"""Pictures as outputs: a folder with one PNG per frame, or one image file for a still."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import UserError, reason_of
from ..frame import Frame
from .images import encode_image, write_image, write_png
from .partials import forget_on_abort, keep_aside, remove_on_abort
from .sinks import PixelFormat, Sink, check_writable_folder, partial_path

# Left in every folder of frames livematte writes: a later run may replace such a folder
# whole, while a folder that holds anything else is never touched.
FOLDER_MARK = ".livematte-frames"
_PICTURE_LAYOUTS = ("rgb", "rgba", "grey")


def user_mode(mode: int = 0o777) -> int:
    """``mode`` less the process's umask (mkdtemp makes 0700 folders whatever the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


class ImageFolderSink(Sink):
    """One PNG per frame, named after its source picture (``photo.jpg`` -> ``photo.png``) or
    by frame index (``00000.png`` ...), RGBA when transparent, grey for a matte.

    Written into a hidden sibling folder and moved into place at the end. An existing
    folder is replaced whole when livematte wrote it (it holds ``FOLDER_MARK``), so no
    frame of an older run stays mixed in; one holding anything else is refused.
    """

    def __init__(self, path: Path) -> None:
        check_writable_folder(path.resolve())
        self.path = path
        if path.exists():
            _check_replaceable(path)
        self._tmp = Path(
            tempfile.mkdtemp(prefix=f".{path.name}.livematte-partial-", dir=path.resolve().parent)
        )
        remove_on_abort(self._tmp)
        os.chmod(self._tmp, user_mode())
        (self._tmp / FOLDER_MARK).touch()
        self._count = 0
        self.description = f"{self.path}/ (PNG per frame)"

    def accepts(self, fmt: PixelFormat) -> bool:
        return fmt.layout in _PICTURE_LAYOUTS

    def write(self, frame: Frame, image: np.ndarray) -> None:
        write_png(self._tmp / f"{frame.name or f'{frame.index:05d}'}.png", image)
        self._count += 1

    def close(self, keep: bool = True, complete: bool = True) -> None:
        try:
            if keep and self._count and not (complete or self.stop_finishes) and self.path.exists():
                self._keep_aside()
            elif keep and self._count:
                self._move_into_place()
        except OSError as exc:
            raise UserError(
                f"Finishing {self.path} failed ({reason_of(exc)}); check that the output "
                "folder still exists."
            ) from None
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
            forget_on_abort(self._tmp)

    def _keep_aside(self) -> None:
        """Interrupted onto an existing folder: that folder stays whole, and the frames
        done go to a folder of their own beside it, which the summary names."""
        kept = keep_aside(self._tmp, self.path)
        self.description = f"{kept}/ (PNG per frame)"
        self.notes = [
            f"{self.path}/ was left as it was (the run did not finish); the frames done are "
            f"in {kept}/."
        ]

    def _move_into_place(self) -> None:
        if not self.path.exists():
            os.replace(self._tmp, self.path)
            return
        old = self.path.with_name(f".{self.path.name}.livematte-old-{os.getpid()}")
        os.replace(self.path, old)
        try:
            os.replace(self._tmp, self.path)
        except OSError:
            os.replace(old, self.path)
            raise
        shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(path: Path) -> None:
    """An existing output folder must be empty or one livematte wrote (see FOLDER_MARK)."""
    if not path.is_dir():
        raise UserError(f"Output {path} exists and is not a folder; pick another output name.")
    if (path / FOLDER_MARK).exists():
        return
    entries = sorted(entry.name for entry in path.iterdir())
    if entries:
        raise UserError(
            f"Output folder {path} already holds files livematte did not write (such as "
            f"{entries[0]}); livematte replaces only folders it wrote, so pick a new or empty "
            "folder."
        )


class ImageFileSink(Sink):
    """A single output picture, for a still-image input (``open.open_sinks`` refuses it
    for anything with more than one frame); to ``stream`` (stdout), encoded as ``path``'s
    extension says, when one is given."""

    def __init__(self, path: Path, stream: BinaryIO | None = None) -> None:
        if stream is None:
            check_writable_folder(path)
        self.path = path
        self._stream = stream
        self._image: np.ndarray | None = None
        self.description = "stdout (PNG)" if stream is not None else str(self.path)

    def accepts(self, fmt: PixelFormat) -> bool:
        jpeg = self.path.suffix.lower() in (".jpg", ".jpeg")
        return fmt.layout in _PICTURE_LAYOUTS and not (jpeg and fmt.layout == "rgba")

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self._image = image.copy()

    def close(self, keep: bool = True, complete: bool = True) -> None:
        if not keep or self._image is None:
            return
        if self._stream is not None:
            self._stream.write(encode_image(self.path.suffix, self._image).tobytes())
            self._stream.flush()
            return
        tmp = partial_path(self.path)
        try:
            if self.path.suffix.lower() == ".png":
                write_png(tmp, self._image)
            else:
                write_image(tmp, self._image)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
