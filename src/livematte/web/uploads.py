"""Backgrounds uploaded through the page: checked and decoded before anything uses them.

An upload is written to a hidden partial file in the uploads folder, opened the way
``-b`` would open it (images through ``read_image``, which refuses pictures that claim
more pixels than it allows; videos by decoding a first frame), and only then renamed
into place and added to the gallery. A refused upload leaves nothing behind.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from ..composite import Background, ImageBackground, VideoBackground
from ..errors import UserError
from ..io.sources import IMAGE_EXTENSIONS, VideoFileSource

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"})
KINDS = frozenset(IMAGE_EXTENSIONS) | VIDEO_EXTENSIONS
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A plain file name from what a browser sent (no folders, no odd characters)."""
    stem = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip("._") or "background"
    return stem[-100:]


# The first bytes of each kind the page takes, for an upload sent without ?name=.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", 0, ".png"),
    (b"\xff\xd8\xff", 0, ".jpg"),
    (b"BM", 0, ".bmp"),
    (b"II*\x00", 0, ".tif"),
    (b"MM\x00*", 0, ".tif"),
    (b"WEBP", 8, ".webp"),
    (b"ftyp", 4, ".mp4"),
    (b"\x1a\x45\xdf\xa3", 0, ".mkv"),
)


def default_name(data: bytes) -> str:
    """A name for an upload that came without one, from what its first bytes are
    ("background.png"); "" when they are none of the kinds the page takes."""
    for magic, offset, suffix in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return f"background{suffix}"
    return ""


def accept_upload(name: str, data: bytes, folder: Path) -> Background:
    """Store ``data`` as a background in ``folder``; UserError saying why it is refused."""
    clean = safe_name(name)
    suffix = Path(clean).suffix.lower()
    if suffix not in KINDS:
        kinds = " ".join(sorted(KINDS))
        raise UserError(f"{clean} is not an image or a video this page takes ({kinds}).")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"{clean} is over {MAX_UPLOAD_BYTES // 2**20} MB; use a smaller file.")
    if not data:
        raise UserError(f"{clean} is empty.")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / clean
    if target.exists():
        target = folder / f"{target.stem}-{secrets.token_hex(3)}{suffix}"
    partial = folder / f".{target.name}.partial{suffix}"
    partial.write_bytes(data)
    try:
        _check(partial, suffix)
        partial.rename(target)
    except UserError as exc:
        # The message names the partial file; the user knows the file by its own name.
        raise UserError(str(exc).replace(str(partial), clean)) from None
    finally:
        partial.unlink(missing_ok=True)
    return open_background(target)


def _check(path: Path, suffix: str) -> None:
    if suffix in IMAGE_EXTENSIONS:
        ImageBackground(path)  # decodes it, with read_image's size limit
        return
    source = VideoFileSource(path)
    try:
        if next(iter(source), None) is None:
            raise UserError(f"{path} holds no video frame livematte can decode.")
    finally:
        source.close()


def open_background(path: Path) -> Background:
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageBackground(path)
    return VideoBackground(path)


def saved_uploads(folder: Path) -> list[Path]:
    """Uploads kept from earlier runs, oldest name first (partial files skipped)."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in KINDS and not p.name.startswith(".")
    )
