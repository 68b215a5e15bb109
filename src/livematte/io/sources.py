"""Where frames come from: video files (PyAV), still images, folders of images.

Every source yields :class:`~livematte.frame.Frame` objects in RGB uint8 and knows its size
and rate up front, so sinks can be opened before the first frame is processed. Cameras
live in ``camera.py``; ``open.open_source`` picks the right one from what the user typed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import av
import cv2
from av.sidedata.sidedata import Type as SideDataType

from ..errors import UserError, reason_of
from ..frame import Frame, cover_resize
from ..planar import PLANAR_FORMATS, ColourSpace, I420Picture
from ..scene import thumbnail
from .images import IMAGE_EXTENSIONS, image_size, read_image
from .orientation import (
    UPRIGHT,
    Turn,
    describe,
    display_turn,
    rotate_tag_turn,
    turned_size,
    upright,
)

log = logging.getLogger("livematte")
T = TypeVar("T")


class Source:
    """A finite or endless run of frames with a known size and nominal rate."""

    width: int
    height: int
    fps: float
    frame_count: int | None = None
    path: Path | None = None
    has_audio: bool = False
    live: bool = False
    # Each frame is a picture of its own (a folder of photos): nothing carries over
    # from one frame to the next.
    pictures: bool = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release files or devices; safe to call twice."""


# The longest side livematte mattes, as a multiple of the shortest: the model's input and
# the refiner's work picture keep at least a few pixels across up to this (a 4001x63 strip).
MAX_ASPECT = 64


def check_proportions(width: int, height: int, name: object) -> None:
    """Refuse, in one sentence, a picture too thin to matte (a 4001x3 strip)."""
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise UserError(
            f"{name} is {width}x{height}, more than {MAX_ASPECT} times as long as it is wide, "
            "too thin a strip to find anything in; crop it, or pad it towards a rectangle, first."
        )


class ImageSource(Source):
    """One still image, processed as a one-frame clip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rgb = read_image(path)
        self.height, self.width = self._rgb.shape[:2]
        check_proportions(self.width, self.height, path)
        self.fps = 25.0
        self.frame_count = 1

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(self._rgb, 0, pts=0, time_base=Fraction(1, 25))


class ImageFolderSource(Source):
    """A folder of images sorted by name: the frames of one clip, or a set of pictures.

    ``folder_as`` says which: "clip" (frames of one video at a nominal rate, smoothed
    across), "pictures" (:attr:`pictures`: each matted on its own) or "auto", which
    decides from what the folder holds (see :func:`looks_like_clip`) and says so in one
    log line. Each frame carries its picture's name. With ``same_size`` (a video output,
    which has one size) pictures of another size than the first are scaled to cover it;
    without it (pictures out) each keeps its own size.
    """

    def __init__(
        self, path: Path, fps: float = 25.0, same_size: bool = True, folder_as: str = "auto"
    ) -> None:
        self.path = path
        self.files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
        if not self.files:
            raise UserError(
                f"Folder {path} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
                "point livematte at a folder of frames or at a video file."
            )
        for file in self.files:
            check_proportions(*image_size(file), file)
        first = read_image(self.files[0])
        self.height, self.width = first.shape[:2]
        self.fps = fps
        self.frame_count = len(self.files)
        self.same_size = same_size
        self.names = _output_names(self.files)
        if folder_as == "auto":
            clip, why = looks_like_clip(self.files)
            self.pictures = not clip
            log.info(
                "%s: %d images %s, so %s (--folder-as %s says otherwise)",
                path,
                len(self.files),
                why,
                "a clip: smoothed from frame to frame" if clip else "each matted on its own",
                "pictures" if clip else "clip",
            )
        else:
            self.pictures = folder_as == "pictures"

    def __iter__(self) -> Iterator[Frame]:
        time_base = Fraction(1, round(self.fps)) if self.fps else Fraction(1, 25)
        for index, file in enumerate(self.files):
            rgb = read_image(file)
            if self.same_size and rgb.shape[:2] != (self.height, self.width):
                rgb = cover_resize(rgb, self.width, self.height)
            yield Frame(rgb, index, pts=index, time_base=time_base, name=self.names[index])


_NUMBERED = re.compile(r"^(.*?)(\d+)$")
# Mean grey difference (of full scale) under which two pictures look like neighbouring
# frames of one shot: DAVIS's fastest motion reaches 0.053 (see scene.py), while two
# product photos of one shoot differ where the products do.
SAME_SHOT = 0.06
_LOOKED_AT = 4  # the first pictures compared, pairwise


def looks_like_clip(files: list[Path]) -> tuple[bool, str]:
    """Whether a folder's images are the frames of one video, and why in a few words.

    Only when everything says so: the names are one prefix and consecutive numbers
    (``frame_0001``, ``frame_0002`` ...), the pictures have one size, and the first few
    follow each other like frames of one shot. Anything else is a set of pictures, the
    safe side: a clip taken for pictures only loses its smoothing, while photos taken for
    a clip would pass one photo's matte on to the next.
    """
    matches = [_NUMBERED.match(file.stem) for file in files]
    if len(files) < 2 or not all(matches):
        return False, "whose names are not a numbered sequence"
    numbers = [int(match.group(2)) for match in matches if match]
    prefixes = {match.group(1) for match in matches if match}
    if len(prefixes) > 1 or any(b - a != 1 for a, b in _pairs(numbers)):
        return False, "whose names are not one run of consecutive numbers"
    sizes = {image_size(file) for file in files}
    if len(sizes) > 1:
        return False, f"of {len(sizes)} different sizes"
    greys = [cv2.cvtColor(read_image(file), cv2.COLOR_RGB2GRAY) for file in files[:_LOOKED_AT]]
    thumbs = [thumbnail(grey) for grey in greys]
    change = max(float(cv2.absdiff(a, b).mean()) / 255.0 for a, b in _pairs(thumbs))
    if change >= SAME_SHOT:
        return False, f"numbered in sequence but as unlike as separate shots ({change:.2f})"
    return True, "numbered in sequence, of one size, like frames of one shot"


def _pairs(items: list[T]) -> list[tuple[T, T]]:
    """Each item with the next one."""
    return list(zip(items[:-1], items[1:], strict=True))


def _output_names(files: list[Path]) -> list[str]:
    """Each picture's stem, or its whole name where two share a stem (a.jpg and a.png)."""
    stems = [file.stem for file in files]
    return [file.name if stems.count(file.stem) > 1 else file.stem for file in files]


# PyAV before 19 raises on container metadata that is not UTF-8 unless told to ignore it;
# 19 removed that argument and decodes such bytes itself, so it is passed only before 19.
_READ_OPTIONS: dict[str, Any] = (
    {"metadata_errors": "ignore"} if int(av.__version__.split(".")[0]) < 19 else {}
)


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, whatever bytes its metadata holds."""
    return av.open(str(path), **_READ_OPTIONS)


class NothingInTrim(UserError):
    """A readable video with no frame between the start and end asked for."""


class VideoFileSource(Source):
    """Any video FFmpeg can read, decoded with PyAV into RGB frames with their timestamps.

    Frames come upright, as a player shows them: a display matrix (a phone clip's
    ``rotate``) is applied as they are decoded, so the first frame is decoded when the
    file is opened, to know the picture's size. ``start`` and ``end`` (seconds) trim the
    clip: frames before ``start`` or from ``end`` on are dropped, and those kept are
    timed from the first of them (:attr:`offset` says where that was in the file, for
    the audio). Damaged packets are skipped and counted rather than ending the job, so the
    readable part of a broken file is still processed.
    """

    def __init__(self, path: Path, start: float = 0.0, end: float | None = None) -> None:
        self.path = path
        try:
            self._container = open_input(path)
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            if mp4_index_missing(path):
                raise UserError(
                    f"{path} was cut short before its index (the MP4 'moov' box, which "
                    "cameras and recorders write last), so none of its frames can be found; "
                    "copy the complete file again, or rebuild the index from a good file of "
                    "the same camera with a repair tool such as untrunc."
                ) from None
            raise UserError(
                f"{path} cannot be read as a video ({reason_of(exc)}); "
                "check that the file is complete and is a video FFmpeg can decode."
            ) from None
        streams = self._container.streams
        if not streams.video:
            self._container.close()
            raise UserError(
                f"{path} has no video stream; livematte needs a video, an image or a folder "
                "of images."
            )
        self._stream = streams.video[0]
        ctx = self._stream.codec_context
        if ctx is None:  # FFmpeg knows no decoder for it (an exotic codec or a damaged header)
            self._container.close()
            raise UserError(
                f"{path} uses a video codec FFmpeg cannot decode, or its header is damaged; "
                "convert it first (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)."
            )
        self._stream.thread_type = "AUTO"
        self.stored_size = (int(ctx.width), int(ctx.height))
        if self.stored_size[0] <= 0 or self.stored_size[1] <= 0:
            self._container.close()
            raise UserError(f"{path} has a video stream with no picture size; the file is damaged.")
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self.fps = float(rate)
        self.rate = Fraction(rate)
        self.time_base = self._stream.time_base or Fraction(1, 90000)
        self.start, self.end = start, end
        self.trimmed = bool(start) or end is not None
        # The container's own count (from its index), when it has one: a truncated file
        # shows up as fewer decoded frames than this.
        self.indexed_frames = 0 if self.trimmed else int(self._stream.frames)
        self.frame_count = self.indexed_frames or self._estimate_frames()
        self.has_audio = bool(streams.audio)
        self.lost_packets = 0
        self.lost_frames = 0
        self.colour = ColourSpace.of_stream(
            int(ctx.colorspace or 2),
            int(ctx.color_range or 0),
            int(ctx.color_primaries or 2),
            int(ctx.color_trc or 2),
            str(ctx.pix_fmt or ""),
            self.stored_size[1],
        )
        # Set by the pipeline when the frames may stay 4:2:0 (see livematte.planar).
        self.planar = False
        self._decoded = self._decode()
        self._iterated = False
        try:
            self._first = next(self._decoded, None)
        except BaseException:
            self._container.close()
            raise
        self.turn = self._turn_of(self._first)
        self.width, self.height = turned_size(*self.stored_size, self.turn)
        try:
            check_proportions(self.width, self.height, path)
        except UserError:
            self._container.close()
            raise
        # Kept frames are timed from the first one (a trimmed clip starts at 0).
        self._offset_pts = self._first[1] if self.trimmed and self._first is not None else 0
        self.offset = float(self._offset_pts * self.time_base)
        if self.trimmed and self._first is None:
            self._container.close()
            raise NothingInTrim(
                f"{path} has no frame between the --start and --end given "
                f"({start:g} s to {'its end' if end is None else f'{end:g} s'}); check the "
                "times against the clip's length."
            )

    def _turn_of(self, first: tuple[av.VideoFrame, int] | None) -> Turn:
        """The display matrix's turn, read from the first frame (FFmpeg attaches the
        stream's matrix to each decoded frame)."""
        if first is None:
            return UPRIGHT
        try:
            matrix = first[0].side_data[SideDataType.DISPLAYMATRIX]
        except (KeyError, IndexError, TypeError):
            matrix = None
        if matrix is None:  # FFmpeg before 7 said it in the stream's "rotate" tag instead
            turn = rotate_tag_turn(self._stream.metadata.get("rotate"))
        else:
            turn = display_turn(bytes(matrix))
        if turn is None:
            log.warning(
                "%s: its display matrix turns the picture by an angle that is not a multiple "
                "of 90°; it is processed as stored",
                self.path,
            )
            return UPRIGHT
        if turn != UPRIGHT:
            log.info("%s: %s, as players show it", self.path, describe(turn))
        return turn

    @property
    def can_be_planar(self) -> bool:
        """Decodes to 4:2:0 at an even size: frames can go through without RGB (turned
        upright plane by plane)."""
        ctx = self._stream.codec_context
        even = self.width % 2 == 0 and self.height % 2 == 0
        return even and str(ctx.pix_fmt or "") in PLANAR_FORMATS

    def _estimate_frames(self) -> int | None:
        duration = self._stream.duration
        seconds = None
        if duration is not None and self._stream.time_base:
            seconds = float(duration * self._stream.time_base)
        elif self._container.duration:
            seconds = self._container.duration / av.time_base
        if seconds is None:
            return None
        if self.end is not None:
            seconds = min(seconds, self.end)
        return max(1, round((seconds - self.start) * self.fps))

    def __iter__(self) -> Iterator[Frame]:
        """The frames, from the first one kept; iterating again starts again (a loop)."""
        index = 0
        if self._first is not None:
            first, self._first = self._first, None
            yield self._frame(first[0], index, first[1] - self._offset_pts)
            index += 1
        elif self._iterated:
            self._decoded = self._decode(rewind=True)
        self._iterated = True
        for vframe, pts in self._decoded:
            yield self._frame(vframe, index, pts - self._offset_pts)
            index += 1

    def _decode(self, rewind: bool = False) -> Iterator[tuple[av.VideoFrame, int]]:
        """Decoded frames from ``start`` to ``end`` with their timestamps mended (none
        missing, none going back); ``rewind`` seeks back to ``start`` first."""
        decoded = 0
        last_pts: int | None = None
        default_step = max(1, round(1 / (self.fps * self.time_base))) if self.fps else 1
        first_kept = self.start - 1e-6
        finished = False
        try:
            if self.start or rewind:
                self._seek(self.start)
            packets = self._container.demux(self._stream)
            while not finished:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.FFmpegError as exc:
                    log.warning("%s: reading stopped early (%s)", self.path, reason_of(exc))
                    break
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    self.lost_packets += 1
                    continue
                for vframe in frames:
                    pts = vframe.pts
                    if pts is None or (last_pts is not None and pts <= last_pts):
                        pts = (last_pts + default_step) if last_pts is not None else 0
                    last_pts = pts
                    seconds = float(pts * self.time_base)
                    if seconds < first_kept:
                        continue  # decoded from the key frame before --start
                    if self.end is not None and seconds >= self.end - 1e-6:
                        finished = True
                        break
                    decoded += 1
                    yield vframe, pts
            finished = True
        finally:
            if finished:
                self._report_losses(decoded)

    def _seek(self, seconds: float) -> None:
        """To the key frame at or before ``seconds`` (frames before it are then dropped)."""
        try:
            self._container.seek(int(seconds / self.time_base), stream=self._stream, backward=True)
        except av.FFmpegError as exc:  # a file that cannot seek is read from its start
            log.debug("%s: cannot seek (%s); reading from the start", self.path, exc)

    def _frame(self, vframe: av.VideoFrame, index: int, pts: int) -> Frame:
        if not self.planar:
            rgb = upright(vframe.to_ndarray(format="rgb24"), self.turn)
            return Frame(rgb, index, pts=pts, time_base=self.time_base)
        if (
            vframe.format.name not in PLANAR_FORMATS
            or (
                vframe.width,
                vframe.height,
            )
            != self.stored_size
        ):  # a mid-stream change of format or size: brought back
            vframe = vframe.reformat(*self.stored_size, format="yuv420p")
        picture = I420Picture.from_frame(vframe, self.colour)
        if self.turn != UPRIGHT:  # each plane turned alike (4:2:0 halves both sides)
            y, u, v = (upright(plane, self.turn) for plane in (picture.y, picture.u, picture.v))
            picture = I420Picture(y, u, v, self.colour)
        return Frame(None, index, pts=pts, time_base=self.time_base, yuv=picture)

    def _report_losses(self, decoded: int) -> None:
        """Say how many frames a damaged or truncated file lost (its index knows the total)."""
        expected = self.indexed_frames
        self.lost_frames = max(0, expected - decoded) if expected else self.lost_packets
        if self.lost_frames:
            total = f" of {expected}" if expected else ""
            log.warning(
                "%s: %d frame(s) lost to damaged or missing data (%d%s decoded); the output "
                "holds the frames that could be decoded",
                self.path,
                self.lost_frames,
                decoded,
                total,
            )
        elif self.lost_packets:
            log.warning(
                "%s: %d damaged packet(s) could not be decoded and were skipped",
                self.path,
                self.lost_packets,
            )

    def close(self) -> None:
        self._container.close()


def mp4_index_missing(path: Path) -> bool:
    """Whether ``path`` is an MP4/MOV whose top-level boxes hold no 'moov' (its index).

    Such a file (a recording cut off, a copy stopped half way) cannot be decoded at all:
    the index is what says where each frame is.
    """
    try:
        with open(path, "rb") as file:
            size_of_file = os.fstat(file.fileno()).st_size
            offset = 0
            kinds: list[bytes] = []
            while offset + 8 <= size_of_file and len(kinds) < 64:
                file.seek(offset)
                header = file.read(16)
                size, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if size == 1 and len(header) == 16:
                    size = int.from_bytes(header[8:16], "big")
                elif size == 0:
                    size = size_of_file - offset
                kinds.append(kind)
                if size < 8:
                    break
                offset += size
    except OSError:
        return False
    return bool(kinds) and kinds[0] == b"ftyp" and b"moov" not in kinds
