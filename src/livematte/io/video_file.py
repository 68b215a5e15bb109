"""Encoded video files (PyAV): H.264, ProRes, VP9 or FFV1, the source's timing and audio kept.

Written under a temporary name and renamed at the end, so an existing file is never
half-overwritten; an interrupted run is finalised (trailer written, audio up to that point)
and kept, so what was done is a valid, playable file: under the output's name when that
was free, else beside it (``out.partial.mp4``), the earlier file left as it was. A stream
(``-o -``) is written as it goes, in Matroska, which needs no seeking back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

import av
import cv2
import numpy as np

from ..config import OutputConfig
from ..errors import UserError, reason_of
from ..frame import Frame
from .audio import AudioCopier
from .codecs import check_codec_fits, codec_of, refuse_h264_alpha
from .partials import forget_on_abort, keep_aside, remove_on_abort, shown_path
from .sinks import PixelFormat, Sink, check_writable_folder, partial_path

log = logging.getLogger("livematte")

# Bytes PyAV gathers before each Python-level write of an encoded file.
_WRITE_BUFFER = 1 << 18

# AVColorSpace SMPTE170M (BT.601 525, the same matrix as BT.470BG) and AVColorRange MPEG;
# primaries BT.709 (sRGB's too), transfer IEC 61966-2-1 (sRGB), and 'unspecified'.
_BT601, _LIMITED_RANGE, _FULL_RANGE = 6, 1, 2
_BT709, _SRGB, _UNSPECIFIED = 1, 13, 2


# The encoders a sink may use (all video ones, so PyAV's add_stream gives a VideoStream).
VideoCodec = Literal["libx264", "prores_ks", "libvpx-vp9", "ffv1"]


@dataclass
class VideoSettings:
    """What the encoder is asked for, decided from the extension, the background and the
    picture's size."""

    codec: VideoCodec
    pix_fmt: str
    options: dict[str, str]


def choose_video_settings(
    path: Path,
    transparent: bool,
    config: OutputConfig,
    grey: bool = False,
    size: tuple[int, int] | None = None,
) -> VideoSettings:
    """Every codec keeps the exact size: H.264 has no odd sizes in 4:2:0, so an odd-sized
    picture (whose source was 4:4:4 or another codec already) is written in 4:4:4; VP9,
    ProRes and FFV1 code odd sizes as they are."""
    codec = codec_of(path, config, transparent=transparent, grey=grey)
    crf = str(config.crf)
    if transparent:
        refuse_h264_alpha(codec, path, config)
    if codec == "h264":
        odd = size is not None and (size[0] % 2 == 1 or size[1] % 2 == 1)
        options = {"crf": crf, "preset": config.preset}
        return VideoSettings("libx264", "yuv444p" if odd else "yuv420p", options)
    if codec == "prores":
        if transparent:
            return VideoSettings("prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"})
        return VideoSettings("prores_ks", "yuv422p10le", {"profile": "2"})
    if codec == "vp9":
        return VideoSettings(
            "libvpx-vp9",
            "yuva420p" if transparent else "yuv420p",
            {"crf": crf, "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
        )
    if grey:
        return VideoSettings("ffv1", "gray", {})
    return VideoSettings("ffv1", "yuva444p" if transparent else "yuv444p", {})


class VideoFileSink(Sink):
    """Encodes frames with PyAV, keeping the source's timestamps, copying its audio."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        config: OutputConfig,
        transparent: bool = False,
        grey: bool = False,
        audio_from: Path | None = None,
        audio_span: tuple[float, float | None] = (0.0, None),
        pipe: BinaryIO | None = None,
    ) -> None:
        self.path = path
        self.shown = shown_path(path)  # a batch attempt's hidden file named as the user's
        self._stream_out = pipe
        if pipe is None:
            check_writable_folder(path)
        self._tmp = partial_path(path)
        check_codec_fits("Output", path, config, transparent=transparent, grey=grey)
        self.settings = choose_video_settings(
            path, transparent, config, grey=grey, size=(width, height)
        )
        self.width, self.height = width, height
        self.notes: list[str] = []  # lines for the run's summary
        if self.settings.codec == "libx264" and self.settings.pix_fmt == "yuv444p":
            log.warning(
                "%s: %dx%d is kept exactly in H.264 4:4:4 (4:2:0 has no odd sizes), which "
                "browsers and QuickTime do not play; --codec vp9 keeps the size for them too",
                self.shown,
                width,
                height,
            )
        self._layout = "rgba" if transparent else ("grey" if grey else "rgb")
        self._input_format = {"rgba": "rgba", "grey": "gray", "rgb": "rgb24"}[self._layout]
        self._yuv: np.ndarray | None = None  # reused I420 buffer (from_ndarray copies it)
        self._frame_tags: dict[str, int] = {}  # colour tags each frame carries (_tag_colour)
        # FFmpeg's own file writer only reports a failed write (a full disk) when the file
        # is closed, after the whole clip was encoded for nothing; through a Python file
        # every write that fails raises at once.
        try:
            self._file = pipe or open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UserError(
                f"Cannot create {self.shown} ({reason_of(exc)}); check the path and the disk."
            ) from None
        if pipe is None:
            remove_on_abort(self._tmp)
        try:
            self._container = av.open(
                self._file, "w", format=_muxer_for(path), buffer_size=_WRITE_BUFFER
            )
        except (av.FFmpegError, ValueError, OSError) as exc:
            self._discard()
            raise UserError(
                f"Cannot create {self.shown} ({exc}); check the path and the disk."
            ) from None
        try:
            stream = self._container.add_stream(self.settings.codec, rate=rate)
            stream.width, stream.height = width, height
            stream.pix_fmt = self.settings.pix_fmt
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
            stream.options = dict(self.settings.options)
            stream.thread_type = "AUTO"
            self._stream = stream
            self._tag_colour(None)
            self._audio = (
                AudioCopier(audio_from, self._container, path.suffix.lower(), audio_span)
                if audio_from is not None
                else None
            )
        except Exception:
            self._discard()
            raise
        self._time_base = time_base
        self._last_time: float | None = None
        self._frames = 0
        self._closed = False
        self._next_check = 0.0
        audio = f", {self._audio.describe()}" if self._audio and self._audio.streams else ""
        self._said = f"{self.settings.codec}{audio}"
        self.description = f"{'stdout' if self._stream_out else self.path} ({self._said})"

    def accepts(self, fmt: PixelFormat) -> bool:
        """Its own layout (RGB, RGBA or grey); H.264 at the frame's own size also takes the
        decoded 4:2:0 as it is."""
        if fmt.layout == "i420":
            return (
                self._layout == "rgb"
                and self.settings.codec == "libx264"
                and self.settings.pix_fmt == "yuv420p"
                and fmt.colour is not None
            )
        return fmt.layout == self._layout

    def use(self, fmt: PixelFormat) -> None:
        super().use(fmt)
        if fmt.layout == "i420":
            self._input_format = "yuv420p"
        self._tag_colour(fmt)

    def _tag_colour(self, fmt: PixelFormat | None) -> None:
        """Tags that match the pixels, so players and editors do not guess.

        4:2:0 frames passed through keep the source's tags. Frames made from RGB are
        converted with BT.601 in limited range (OpenCV's and swscale's conversion); their
        primaries and transfer are the source video's own (never converted), else sRGB's.
        """
        ctx = self._stream.codec_context
        if not self.settings.pix_fmt.startswith("yuv"):  # grey: a matte, 0 to 255
            ctx.color_range = _FULL_RANGE
            self._frame_tags = {"color_range": _FULL_RANGE}
            return
        colour = fmt.colour if fmt is not None else None
        if fmt is not None and fmt.layout == "i420" and colour is not None:
            ctx.colorspace, ctx.color_range = colour.matrix, colour.range_tag
        else:
            ctx.colorspace, ctx.color_range = _BT601, _LIMITED_RANGE
        if colour is None:  # still images and cameras: sRGB
            ctx.color_primaries, ctx.color_trc = _BT709, _SRGB
        else:
            # A video's own tags; untagged ones are BT.709 video, as players take them.
            ctx.color_primaries = colour.primaries if colour.primaries != _UNSPECIFIED else _BT709
            ctx.color_trc = colour.transfer if colour.transfer != _UNSPECIFIED else _BT709
        # Some encoders (ProRes) write the frame's own tags into the bitstream, which is
        # what decoders and ffprobe read: each frame carries the same ones.
        self._frame_tags = {
            "colorspace": ctx.colorspace,
            "color_range": ctx.color_range,
            "color_primaries": ctx.color_primaries,
            "color_trc": ctx.color_trc,
        }

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self._input_format == "yuv420p":
            # Already packed 4:2:0 (planar path); x264 copies it in during encode().
            vframe = av.VideoFrame.from_numpy_buffer(image, format="yuv420p")
        elif (
            self._input_format == "rgb24"
            and self.settings.pix_fmt == "yuv420p"
            and image.shape[0] % 2 == image.shape[1] % 2 == 0  # OpenCV's I420 is even only
        ):
            # OpenCV's RGB→I420 (same BT.601 limited range) costs ~0.5 ms at 720p against
            # ~7 ms for swscale's rgb24→yuv420p inside the encoder (profiled; Speed engineer).
            # (np.ndarray: OpenCV's stubs leave the dtype open; uint8 in, uint8 out.)
            yuv: np.ndarray = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420, dst=self._yuv)
            self._yuv = yuv
            if self.settings.codec == "libx264":
                # No copy: x264 copies the picture in during encode(), so the buffer is free
                # again for the next frame. from_ndarray's copy held the GIL and faulted in
                # a fresh 1.4 MB AVFrame every frame (profiled: ~0.7 ms/frame with the GIL).
                vframe = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
            else:  # encoders with their own frame threads may keep the frame after encode()
                vframe = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            vframe = av.VideoFrame.from_ndarray(image, format=self._input_format)
        for name, value in self._frame_tags.items():
            setattr(vframe, name, value)
        vframe.pts = frame.pts if frame.pts is not None else self._frames
        vframe.time_base = self._time_base
        try:
            for packet in self._stream.encode(vframe):
                self._container.mux(packet)
            self._frames += 1
            self._last_time = float(vframe.pts * self._time_base)
            if self._audio is not None:
                self._audio.copy_until(self._last_time)
        except (av.FFmpegError, OSError) as exc:
            raise self._failed("Writing", exc) from None
        if self._stream_out is None:
            self._check_still_there()

    def _check_still_there(self) -> None:
        """Notice (about once a second) that the output folder was removed under us.

        Writes to a deleted file still succeed on POSIX, so only its link count tells.
        """
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + 1.0
        if os.fstat(self._file.fileno()).st_nlink == 0:
            raise UserError(
                f"The output {self.shown} was deleted while being written (was its folder "
                "removed?); recreate the folder and run again."
            )

    def close(self, keep: bool = True, complete: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        if not keep or not self._frames:
            self._discard()
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                # A complete run copies all audio; an interrupted one stops with the video.
                self._audio.finish(None if complete else self._end_time())
            self._container.close()
            if self._stream_out is not None:
                self._stream_out.flush()
                return
            self._file.close()
            if not (complete or self.stop_finishes) and self.path.exists():
                self._keep_aside()
            else:
                os.replace(self._tmp, self.path)
        except (av.FFmpegError, OSError) as exc:
            self._discard()
            raise self._failed("Finishing", exc) from None
        forget_on_abort(self._tmp)

    def _failed(self, doing: str, exc: BaseException) -> UserError:
        """The sentence for a failed write: the disk, or the program reading the pipe."""
        if self._stream_out is not None:
            return UserError(
                f"{doing} the video on stdout failed ({reason_of(exc)}); check that the "
                "program reading it is still running."
            )
        return UserError(
            f"{doing} {self.shown} failed ({reason_of(exc)}); check free disk space and that "
            "the output folder still exists."
        )

    def _keep_aside(self) -> None:
        """An interrupted run onto an existing file: that file stays as it was, and what was
        done gets a name of its own beside it, which the summary gives."""
        kept = keep_aside(self._tmp, self.path)
        self.description = f"{kept} ({self._said})"
        self.notes.append(
            f"{self.shown} was left as it was (the run did not finish); the part done is {kept}."
        )

    def _discard(self) -> None:
        """Close without finishing and remove the partial file; never raises."""
        closes = [self._close_container]
        if self._stream_out is None:
            closes.append(self._file.close)
        for close in closes:
            with contextlib.suppress(Exception):  # the file is being thrown away anyway
                close()
        self._tmp.unlink(missing_ok=True)
        forget_on_abort(self._tmp)

    def _close_container(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()

    def _end_time(self) -> float:
        """Where the audio of an interrupted run stops: the end of the last video frame."""
        if self._last_time is None:
            return 0.0
        return self._last_time + float(1 / (self._stream.average_rate or 25))


def _muxer_for(path: Path) -> str | None:
    return {
        ".mkv": "matroska",
        ".webm": "webm",
        ".mov": "mov",
        ".mp4": "mp4",
        ".m4v": "mp4",
        ".avi": "avi",
        ".nut": "nut",
    }.get(path.suffix.lower())
