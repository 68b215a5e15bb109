"""Shared fixtures: clips made in the tests themselves, and the optional shared data."""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    """A path under ../shared/data, or skip the test (a user's clone has no such folder)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (shared test data lives beside the project only)")
    return path


def person_frames(count: int, width: int = 320, height: int = 180) -> Iterator[np.ndarray]:
    """Frames of a real person (the demo's astronaut) with webcam-like motion."""
    from livematte.demo import SimulatedWebcam

    for frame in SimulatedWebcam(width=width, height=height, frames=count):
        yield frame.rgb


def write_clip(
    path: Path,
    frames: int = 30,
    width: int = 320,
    height: int = 180,
    fps: int = 30,
    audio: str | None = "aac",
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    options: dict[str, str] | None = None,
    colorspace: int | None = None,
) -> Path:
    """Write a small clip of a person (and a sine tone) with PyAV.

    ``pts``/``time_base`` give explicit, possibly irregular, timestamps (variable rate);
    ``options`` go to the video encoder (e.g. {"preset": "ultrafast"} for long clips);
    ``colorspace`` tags the stream (FFmpeg's numbers: 1 = BT.709, with matching primaries
    and transfer); the pictures are converted with that matrix.
    """
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = dict(options or {})
        if colorspace is not None:
            ctx = stream.codec_context
            ctx.colorspace = ctx.color_primaries = ctx.color_trc = colorspace
            ctx.color_range = 1
        tb = time_base or Fraction(1, fps)
        stream.time_base = tb
        stream.codec_context.time_base = tb
        audio_stream = None
        if audio:
            audio_stream = container.add_stream(audio, rate=48000)
            audio_stream.layout = "stereo"
        sample = 0
        for index, rgb in enumerate(person_frames(frames, width, height)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if colorspace is not None:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=colorspace)
            frame.pts = pts[index] if pts else index
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
            if audio_stream is not None:
                end = round((index + 1) * 48000 / fps)
                while sample + 1024 <= end:
                    _mux_tone(container, audio_stream, sample)
                    sample += 1024
        for packet in stream.encode(None):
            container.mux(packet)
        if audio_stream is not None:
            for packet in audio_stream.encode(None):
                container.mux(packet)
    return path


def _mux_tone(
    container: av.container.OutputContainer, stream: av.stream.Stream, start: int
) -> None:
    t = (np.arange(start, start + 1024) / 48000.0).astype(np.float32)
    tone = (0.2 * np.sin(2 * math.pi * 440.0 * t)).astype(np.float32)
    planes = np.stack([tone, tone])
    fmt = stream.codec_context.codec.audio_formats[0].name
    frame = av.AudioFrame.from_ndarray(
        planes if fmt.endswith("p") else planes.T.reshape(1, -1).copy(),
        format=fmt if fmt in ("fltp", "flt") else "fltp",
        layout="stereo",
    )
    frame.sample_rate = 48000
    frame.pts = start
    for packet in stream.encode(frame):
        container.mux(packet)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 1-second 320x180 H.264 clip of a person with an AAC audio track."""
    return write_clip(tmp_path / "input.mp4")


def video_info(path: Path) -> dict[str, object]:
    """Frame count, pts, size and audio packets of a file, for assertions."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        pts = [frame.pts for frame in container.decode(video)]
    audio_packets: list[bytes] = []
    with av.open(str(path)) as container:
        if container.streams.audio:
            for packet in container.demux(container.streams.audio[0]):
                if packet.size:
                    audio_packets.append(bytes(packet))
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return {
            "frames": len(pts),
            "pts_seconds": [float(p * video.time_base) for p in pts],
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "pix_fmt": video.codec_context.pix_fmt,
            "codec": video.codec_context.name,
            "audio_packets": audio_packets,
            "audio_codec": container.streams.audio[0].codec_context.name
            if container.streams.audio
            else None,
        }


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory, monkeypatch) -> None:
    """No test reads or writes the real user's folders: saved page settings, uploads and
    the TensorRT engine cache (livematte reaches HOME only through these three; subprocesses
    inherit them). HOME itself stays: Ray's test cluster times out starting under a new one."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
