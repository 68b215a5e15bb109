"""Copying a clip's audio into its re-encode, interleaved with the video, packet for packet."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Literal

import av
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream

from .sources import open_input

log = logging.getLogger("livematte")

# Audio codecs each container can hold as they are; anything else is re-encoded.
_AUDIO_COPYABLE = {
    ".mp4": {"aac", "mp3", "ac3", "eac3", "alac", "flac", "opus"},
    ".m4v": {"aac", "mp3", "ac3", "eac3", "alac"},
    ".mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s16be"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "ac3", "pcm_s16le", "aac"},
}
# The encoders used when copying is not possible (all audio ones).
_AudioEncoder = Literal["libopus", "mp3", "aac"]
_AUDIO_FALLBACK: dict[str, _AudioEncoder] = {".webm": "libopus", ".avi": "mp3"}


def _said(stream: AudioStream) -> str:
    return stream.codec_context.name.replace("lib", "")


class AudioCopier:
    """Copies the input's audio packets into the output, interleaved with the video.

    Packets are copied byte for byte; only when the container cannot hold the codec (AAC
    in .webm, say) is the audio re-encoded, and the user is told. ``span`` (seconds of the
    input: from, to or None) keeps the audio of a trimmed clip: packets that start inside
    it, timed from its start as the trimmed video is, so the two stay in sync (to within
    one audio packet, about 20 ms, at the cut).
    """

    def __init__(
        self,
        input_path: Path,
        output: av.container.OutputContainer,
        ext: str,
        span: tuple[float, float | None] = (0.0, None),
    ) -> None:
        self._input = open_input(input_path)
        self._span = span
        self._routes: dict[int, tuple[AudioStream, AudioResampler | None]] = {}
        for in_stream in self._input.streams.audio:
            codec = in_stream.codec_context.name
            allowed = _AUDIO_COPYABLE.get(ext)
            if allowed is None or codec in allowed:
                out_stream = output.add_stream_from_template(in_stream)
                self._routes[in_stream.index] = (out_stream, None)
            else:
                target: _AudioEncoder = _AUDIO_FALLBACK.get(ext, "aac")
                rate = 48000 if target == "libopus" else in_stream.codec_context.sample_rate
                out_stream = output.add_stream(target, rate=rate)
                out_stream.codec_context.layout = in_stream.codec_context.layout
                formats = out_stream.codec_context.codec.audio_formats
                resampler = AudioResampler(
                    format=formats[0].name if formats else None,  # None: the input's own
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
        if audio and span[0]:
            # Where it cannot seek it reads from the start; packets before the span are dropped.
            with contextlib.suppress(av.FFmpegError):
                self._input.seek(int(span[0] * av.time_base), backward=True)
        self._packets = self._input.demux(audio) if audio else iter(())
        self._done = not audio

    @property
    def streams(self) -> int:
        return len(self._routes)

    def describe(self) -> str:
        """What became of the audio, for the run's summary ("1 audio stream copied")."""
        kinds: dict[str, int] = {}
        for out_stream, resampler in self._routes.values():
            done = "copied" if resampler is None else f"re-encoded to {_said(out_stream)}"
            kinds[done] = kinds.get(done, 0) + 1
        return ", ".join(
            f"{count} audio stream{'s' if count > 1 else ''} {done}"
            for done, count in kinds.items()
        )

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
        """The next packet inside the span, timed from its start."""
        first, last = self._span
        while True:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except av.FFmpegError as exc:
                log.warning("audio: reading stopped early (%s)", exc)
                return None
            if not first and last is None:
                return packet
            start = packet.pts if packet.pts is not None else packet.dts
            if start is None or packet.time_base is None:
                continue
            seconds = float(start * packet.time_base)
            if seconds < first - 1e-6:
                continue
            if last is not None and seconds >= last - 1e-6:
                return None
            shift = round(first / packet.time_base)
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts = None if packet.dts is None else packet.dts - shift
            return packet

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
            for resampled in resampler.resample(frame):
                self._output.mux(out_stream.encode(resampled))

    def finish(self, seconds: float | None) -> None:
        self.copy_until(seconds)
        for out_stream, resampler in self._routes.values():
            if resampler is not None:
                for resampled in resampler.resample(None):
                    self._output.mux(out_stream.encode(resampled))
                self._output.mux(out_stream.encode(None))
        self._input.close()
