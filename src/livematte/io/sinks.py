"""Where frames go: encoded files (PyAV, audio copied), folders of PNGs, single images, null.

Every file sink writes under a temporary name in the destination folder and renames at the
end, so an existing file is never half-overwritten and a failed run leaves nothing under
the output name. An interrupted run is finalised (trailer written, audio up to that point)
and kept, so what was done is a valid, playable file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..config import OutputConfig
from ..errors import UserError
from ..frame import Frame
from ..planar import ColourSpace
from ..run.interrupt import forget_on_abort, remove_on_abort
from .sources import IMAGE_EXTENSIONS

log = logging.getLogger("livematte")

# Bytes PyAV gathers before each Python-level write of an encoded file.
_WRITE_BUFFER = 1 << 18

# AVColorSpace SMPTE170M (BT.601 525, the same matrix as BT.470BG) and AVColorRange MPEG.
_BT601, _LIMITED_RANGE = 6, 1

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"}

# Audio codecs each container can hold as they are; anything else is re-encoded.
_AUDIO_COPYABLE = {
    ".mp4": {"aac", "mp3", "ac3", "eac3", "alac", "flac", "opus"},
    ".m4v": {"aac", "mp3", "ac3", "eac3", "alac"},
    ".mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s16be"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "ac3", "pcm_s16le", "aac"},
}
_AUDIO_FALLBACK = {".webm": "libopus", ".avi": "mp3"}


class Sink:
    """Takes processed frames; ``close(keep)`` finalises (keep=True) or discards them."""

    def write(self, frame: Frame, image: np.ndarray) -> None:
        raise NotImplementedError

    def accept_planar(self, colour: ColourSpace) -> bool:
        """Take packed 4:2:0 frames in ``colour``'s numbers from now on, if this sink can
        (see :mod:`livematte.planar`); False leaves it taking RGB."""
        return False

    def close(self, keep: bool = True, complete: bool = True) -> None:
        """Finish the output; with ``keep=False`` remove what was written.

        ``complete=False`` means the run was interrupted: keep what was done, as a valid file.
        """

    @property
    def description(self) -> str:
        return type(self).__name__


class NullSink(Sink):
    """Discards frames: for benchmarks and for runs that only want ``--alpha-out``."""

    description = "nowhere (null)"

    def write(self, frame: Frame, image: np.ndarray) -> None:
        pass

    def accept_planar(self, colour: ColourSpace) -> bool:
        return True


def close_sinks(sinks: list[Sink | None], keep: bool, complete: bool = True) -> None:
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
    """A hidden sibling of ``final`` with the same extension (so formats are guessed alike)."""
    return final.with_name(f".{final.stem}.livematte-partial{final.suffix}")


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


@dataclass
class VideoSettings:
    """What the encoder is asked for, decided from the extension and the background."""

    codec: str
    pix_fmt: str
    options: dict[str, str]
    even_size: bool  # 4:2:0 codecs need even width and height


def choose_video_settings(path: Path, transparent: bool, config: OutputConfig) -> VideoSettings:
    ext = path.suffix.lower()
    codec = config.codec.lower()
    if not codec:
        codec = {".mov": "prores", ".webm": "vp9"}.get(ext, "h264")
        if transparent and ext == ".mkv":
            codec = "vp9"
    crf = str(config.crf)
    if codec in ("h264", "libx264"):
        if transparent:
            raise UserError(
                f"H.264 ({path.name}) cannot carry transparency; write .mov (ProRes 4444), "
                ".webm (VP9 with alpha) or a folder of PNGs instead."
            )
        return VideoSettings(
            "libx264", "yuv420p", {"crf": crf, "preset": config.preset}, even_size=True
        )
    if codec in ("prores", "prores_ks"):
        if transparent:
            return VideoSettings(
                "prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"}, False
            )
        return VideoSettings("prores_ks", "yuv422p10le", {"profile": "2"}, even_size=True)
    if codec in ("vp9", "libvpx-vp9"):
        return VideoSettings(
            "libvpx-vp9",
            "yuva420p" if transparent else "yuv420p",
            {"crf": crf, "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
            even_size=True,
        )
    if codec == "ffv1":
        return VideoSettings("ffv1", "yuva444p" if transparent else "yuv444p", {}, False)
    raise UserError(f"Unknown output codec '{config.codec}'; use h264, prores, vp9 or ffv1.")


class AudioCopier:
    """Copies the input's audio packets into the output, interleaved with the video.

    Packets are copied byte for byte; only when the container cannot hold the codec (AAC
    in .webm, say) is the audio re-encoded, and the user is told.
    """

    def __init__(self, input_path: Path, output: av.container.OutputContainer, ext: str) -> None:
        self._input = av.open(str(input_path), metadata_errors="ignore")
        self._routes: dict[int, tuple[av.stream.Stream, object | None]] = {}
        for in_stream in self._input.streams.audio:
            codec = in_stream.codec_context.name
            allowed = _AUDIO_COPYABLE.get(ext)
            if allowed is None or codec in allowed:
                out_stream = output.add_stream_from_template(in_stream)
                self._routes[in_stream.index] = (out_stream, None)
            else:
                target = _AUDIO_FALLBACK.get(ext, "aac")
                rate = 48000 if target == "libopus" else in_stream.codec_context.sample_rate
                out_stream = output.add_stream(target, rate=rate)
                out_stream.codec_context.layout = in_stream.codec_context.layout
                resampler = av.AudioResampler(
                    format=out_stream.codec_context.codec.audio_formats[0].name,
                    layout=in_stream.codec_context.layout,
                    rate=rate,
                )
                self._routes[in_stream.index] = (out_stream, resampler)
                log.warning(
                    "audio: %s cannot go into %s as it is; re-encoding it to %s",
                    codec,
                    ext,
                    target.replace("lib", ""),
                )
        self._output = output
        self._pending = None
        self.skipped = 0
        audio = [s for s in self._input.streams.audio if s.index in self._routes]
        self._packets = self._input.demux(audio) if audio else iter(())
        self._done = not audio

    @property
    def streams(self) -> int:
        return len(self._routes)

    def copy_until(self, seconds: float | None) -> None:
        """Mux audio packets that start before ``seconds`` (None = all that remain)."""
        while not self._done:
            packet = self._pending or self._next_packet()
            self._pending = None
            if packet is None:
                self._done = True
                break
            if packet.dts is None and packet.size == 0:
                continue
            start = packet.pts if packet.pts is not None else packet.dts
            late = (
                seconds is not None
                and start is not None
                and packet.time_base is not None
                and float(start * packet.time_base) >= seconds
            )
            if late:
                self._pending = packet
                return
            try:
                self._mux(packet)
            except av.FFmpegError as exc:
                if isinstance(exc, OSError):  # the disk, not the packet: the caller says so
                    raise
                self._skip_damaged(exc)

    def _skip_damaged(self, exc: Exception) -> None:
        """A damaged input audio packet (bad timestamps, say) is dropped, said once."""
        if not self.skipped:
            log.warning("audio: skipping damaged packet(s) of the input (%s)", exc)
        self.skipped += 1

    def _next_packet(self):  # noqa: ANN202 - av.Packet | None
        try:
            return next(self._packets)
        except StopIteration:
            return None
        except av.FFmpegError as exc:
            log.warning("audio: reading stopped early (%s)", exc)
            return None

    def _mux(self, packet) -> None:  # noqa: ANN001 - av.Packet
        out_stream, resampler = self._routes[packet.stream.index]
        if resampler is None:
            if packet.size == 0:
                return
            packet.stream = out_stream
            self._output.mux(packet)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return
        for frame in frames:
            for resampled in resampler.resample(frame):  # type: ignore[attr-defined]
                self._output.mux(out_stream.encode(resampled))

    def finish(self, seconds: float | None) -> None:
        self.copy_until(seconds)
        for out_stream, resampler in self._routes.values():
            if resampler is not None:
                for resampled in resampler.resample(None):  # type: ignore[attr-defined]
                    self._output.mux(out_stream.encode(resampled))
                self._output.mux(out_stream.encode(None))
        self._input.close()


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
    ) -> None:
        check_writable_folder(path)
        self.path = path
        self._tmp = partial_path(path)
        self.settings = choose_video_settings(path, transparent, config)
        if grey and path.suffix.lower() == ".mkv" and not config.codec:
            self.settings = VideoSettings("ffv1", "gray", {}, even_size=False)
        self.width, self.height = width, height
        pad_w = width % 2 if self.settings.even_size else 0
        pad_h = height % 2 if self.settings.even_size else 0
        self._pad = (pad_h, pad_w)
        if pad_w or pad_h:
            log.warning(
                "%s: %s needs an even picture size; %dx%d is padded to %dx%d",
                path.name,
                self.settings.codec,
                width,
                height,
                width + pad_w,
                height + pad_h,
            )
        self._input_format = "rgba" if transparent else ("gray" if grey else "rgb24")
        self._yuv: np.ndarray | None = None  # reused I420 buffer (from_ndarray copies it)
        # FFmpeg's own file writer only reports a failed write (a full disk) when the file
        # is closed, after the whole clip was encoded for nothing; through a Python file
        # every write that fails raises at once.
        try:
            self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UserError(
                f"Cannot create {path} ({_os_reason(exc)}); check the path and the disk."
            ) from None
        remove_on_abort(self._tmp)
        try:
            self._container = av.open(
                self._file, "w", format=_muxer_for(path), buffer_size=_WRITE_BUFFER
            )
        except (av.FFmpegError, ValueError, OSError) as exc:
            self._discard()
            raise UserError(f"Cannot create {path} ({exc}); check the path and the disk.") from None
        try:
            stream = self._container.add_stream(self.settings.codec, rate=rate)
            stream.width, stream.height = width + pad_w, height + pad_h
            stream.pix_fmt = self.settings.pix_fmt
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
            stream.options = dict(self.settings.options)
            stream.thread_type = "AUTO"
            if self.settings.pix_fmt.startswith("yuv"):
                # OpenCV's RGB→I420 and swscale's default both use BT.601 (limited range):
                # say so, or players take untagged HD video for BT.709 and shift its colours.
                stream.codec_context.colorspace = _BT601
                stream.codec_context.color_range = _LIMITED_RANGE
            self._stream = stream
            self._audio = (
                AudioCopier(audio_from, self._container, path.suffix.lower())
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

    def accept_planar(self, colour: ColourSpace) -> bool:
        """H.264-style 4:2:0 output at the frame's own size takes the decoded numbers as
        they are, tagged with the source's colour space instead of BT.601."""
        if self._input_format != "rgb24" or self.settings.pix_fmt != "yuv420p":
            return False
        if self._pad != (0, 0) or self.settings.codec != "libx264":
            return False
        ctx = self._stream.codec_context
        ctx.colorspace = colour.matrix
        ctx.color_range = colour.range_tag
        ctx.color_primaries = colour.primaries
        ctx.color_trc = colour.transfer
        self._input_format = "yuv420p"
        return True

    @property
    def description(self) -> str:
        audio = f", {self._audio.streams} audio stream(s) copied" if self._audio else ""
        return f"{self.path} ({self.settings.codec}{audio})"

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self._pad != (0, 0):
            image = cv2.copyMakeBorder(
                image, 0, self._pad[0], 0, self._pad[1], cv2.BORDER_REPLICATE
            )
        if self._input_format == "yuv420p":
            # Already packed 4:2:0 (planar path); x264 copies it in during encode().
            vframe = av.VideoFrame.from_numpy_buffer(image, format="yuv420p")
        elif self._input_format == "rgb24" and self.settings.pix_fmt == "yuv420p":
            # OpenCV's RGB→I420 (same BT.601 limited range) costs ~0.5 ms at 720p against
            # ~7 ms for swscale's rgb24→yuv420p inside the encoder (profiled; Speed engineer).
            yuv = self._yuv = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420, dst=self._yuv)
            if self.settings.codec == "libx264":
                # No copy: x264 copies the picture in during encode(), so the buffer is free
                # again for the next frame. from_ndarray's copy held the GIL and faulted in
                # a fresh 1.4 MB AVFrame every frame (profiled: ~0.7 ms/frame with the GIL).
                vframe = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
            else:  # encoders with their own frame threads may keep the frame after encode()
                vframe = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            vframe = av.VideoFrame.from_ndarray(image, format=self._input_format)
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
            raise UserError(
                f"Writing {self.path} failed ({_os_reason(exc)}); check free disk space and "
                "that the output folder still exists."
            ) from None
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
                f"The output {self.path} was deleted while being written (was its folder "
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
            self._file.close()
            os.replace(self._tmp, self.path)
        except (av.FFmpegError, OSError) as exc:
            self._discard()
            raise UserError(
                f"Finishing {self.path} failed ({_os_reason(exc)}); check free disk space and "
                "that the output folder still exists."
            ) from None
        forget_on_abort(self._tmp)

    def _discard(self) -> None:
        """Close without finishing and remove the partial file; never raises."""
        for close in (self._close_container, self._file.close):
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
    }.get(path.suffix.lower())


class ImageFolderSink(Sink):
    """One PNG per frame named by frame index (00000.png ...), RGBA when transparent.

    Written into a hidden sibling folder and moved into place at the end.
    """

    def __init__(self, path: Path) -> None:
        check_writable_folder(path.resolve())
        self.path = path
        self._tmp = Path(
            tempfile.mkdtemp(prefix=f".{path.name}.livematte-partial-", dir=path.resolve().parent)
        )
        remove_on_abort(self._tmp)
        self._count = 0

    @property
    def description(self) -> str:
        return f"{self.path}/ (PNG per frame)"

    def write(self, frame: Frame, image: np.ndarray) -> None:
        _write_png(self._tmp / f"{frame.index:05d}.png", image)
        self._count += 1

    def close(self, keep: bool = True, complete: bool = True) -> None:
        try:
            if keep and self._count:
                self._move_into_place()
        except OSError as exc:
            raise UserError(
                f"Finishing {self.path} failed ({_os_reason(exc)}); check that the output "
                "folder still exists."
            ) from None
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
            forget_on_abort(self._tmp)

    def _move_into_place(self) -> None:
        if not self.path.exists():
            os.replace(self._tmp, self.path)
            return
        for file in sorted(self._tmp.iterdir()):
            os.replace(file, self.path / file.name)


class ImageFileSink(Sink):
    """A single output picture (for still-image inputs): the last frame written."""

    def __init__(self, path: Path) -> None:
        check_writable_folder(path)
        self.path = path
        self._image: np.ndarray | None = None

    @property
    def description(self) -> str:
        return str(self.path)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self._image = image.copy()

    def close(self, keep: bool = True, complete: bool = True) -> None:
        if not keep or self._image is None:
            return
        tmp = partial_path(self.path)
        try:
            if self.path.suffix.lower() == ".png":
                _write_png(tmp, self._image)
            else:
                _write_image(tmp, self._image)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return cv2.cvtColor(image, code)


def _write_png(path: Path, image: np.ndarray) -> None:
    # Level 1: PNGs stay lossless and are written several times faster than the default.
    _write_image(path, image, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def _write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    ok, data = cv2.imencode(path.suffix or ".png", _to_bgr(image), params or [])
    if not ok:
        raise UserError(f"Cannot encode {path.name}; use a .png or .jpg name.")
    try:
        data.tofile(str(path))
    except OSError as exc:
        raise UserError(
            f"Writing {path} failed ({_os_reason(exc)}); check free disk space and that the "
            "output folder still exists."
        ) from None


def _os_reason(exc: Exception) -> str:
    """'No space left on device' rather than a repr, whatever raised it."""
    return str(getattr(exc, "strerror", None) or exc).rstrip(".")


def open_file_sink(
    target: str,
    *,
    width: int,
    height: int,
    rate: Fraction,
    time_base: Fraction,
    config: OutputConfig,
    transparent: bool = False,
    grey: bool = False,
    audio_from: Path | None = None,
) -> Sink:
    """Pick the sink from the output name: null, a video file, an image file or a folder."""
    if target == "null":
        return NullSink()
    path = Path(target)
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VideoFileSink(
            path,
            width,
            height,
            rate,
            time_base,
            config,
            transparent=transparent,
            grey=grey,
            audio_from=audio_from,
        )
    if ext in IMAGE_EXTENSIONS:
        if ext in (".jpg", ".jpeg") and transparent:
            raise UserError(f"JPEG ({path.name}) cannot carry transparency; write a .png.")
        return ImageFileSink(path)
    if ext and not path.is_dir():
        raise UserError(
            f"Output {target} has an extension livematte does not write ({ext}); use "
            f"{', '.join(sorted(VIDEO_EXTENSIONS))}, .png, a folder name, or null."
        )
    return ImageFolderSink(path)
