"""--start and --end: a re-encode of part of a clip, its audio trimmed alike and in sync.

The clip here marks one moment in both streams: the picture turns white and a loud burst
starts in the sound at the same instant (2.0 s). In the trimmed output both marks must
still fall together, at 2.0 s less where the trim began.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import video_info

from livematte import process_video
from livematte.cli import main
from livematte.config import Config

FPS = 25
SECONDS = 4
MARK = 2.0  # the flash and the burst
RATE = 48000


def marked_clip(path: Path) -> Path:
    """Grey frames with one white frame at MARK, PCM silence with a burst from MARK."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        video.options = {"g": "10"}  # key frames every 0.4 s: --start falls between two
        audio = container.add_stream("pcm_s16le", rate=RATE)
        audio.layout = "mono"
        for index in range(FPS * SECONDS):
            shade = 250 if index == round(MARK * FPS) else 90
            frame = av.VideoFrame.from_ndarray(np.full((96, 160, 3), shade, np.uint8), "rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        samples = np.zeros(RATE * SECONDS, np.int16)
        samples[int(MARK * RATE) :] = 20000
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024]
            sound = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
            sound.sample_rate, sound.pts = RATE, start
            for packet in audio.encode(sound):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def flash_time(path: Path) -> float:
    """When the white frame is shown (seconds of the output)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.to_ndarray(format="gray").mean() > 200:
                return float(frame.pts * frame.time_base)
    raise AssertionError("no white frame")


def burst_time(path: Path) -> float:
    """When the burst starts (seconds of the output), to the sample."""
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            loud = np.flatnonzero(np.abs(frame.to_ndarray().astype(np.int32)).max(axis=0) > 10000)
            if loud.size:
                return float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate
    raise AssertionError("no burst")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return marked_clip(tmp_path_factory.mktemp("trim") / "marked.mkv")


@pytest.mark.parametrize("start", ["1.3", "0:01.3", "00:00:01.3"])
def test_start_and_end_trim_the_picture_and_the_sound_together(
    clip: Path, tmp_path: Path, start: str
) -> None:
    out = tmp_path / "part.mkv"
    # The default background (the frame blurred) keeps a flat frame's shade: the flash shows.
    assert main(["run", str(clip), "-o", str(out), "--start", start, "--end", "3", "-q"]) == 0
    info = video_info(out)
    # 1.3 s to 3 s: 42 or 43 frames at 25 fps, timed from 0.
    assert abs(info["frames"] - (3 - 1.3) * FPS) <= 1
    assert info["pts_seconds"][0] == 0.0
    flash, burst = flash_time(out), burst_time(out)
    assert flash == pytest.approx(MARK - 1.3, abs=1.0 / FPS)
    assert burst == pytest.approx(flash, abs=0.002)  # in sync, to the sample


def test_the_config_file_and_the_api_trim_alike(clip: Path, tmp_path: Path) -> None:
    config = Config()
    config.input.start, config.input.end = "1", "2.5"
    report = process_video(clip, tmp_path / "part.mkv", config=config, background="#808080")
    assert abs(report.frames - 1.5 * FPS) <= 1
    assert burst_time(tmp_path / "part.mkv") == pytest.approx(MARK - 1.0, abs=0.03)


def test_end_alone_keeps_the_opening(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "opening.mkv"
    assert main(["run", str(clip), "-o", str(out), "--end", "1", "-q"]) == 0
    info = video_info(out)
    assert info["frames"] == FPS and info["pts_seconds"][-1] < 1.0
    with av.open(str(out)) as container:
        ends = [
            float((p.pts + p.duration) * p.time_base)
            for p in container.demux(container.streams.audio[0])
            if p.size
        ]
    assert max(ends) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--start", "3", "--end", "2"], "must come after input.start"),
        (["--start", "soon"], "must be a time in seconds"),
        (["--start", "1:75"], "must be a time in seconds"),
        (["--start", "9"], "has no frame between the --start and --end"),
    ],
)
def test_times_that_cannot_trim_are_one_sentence(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], said: str
) -> None:
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), "-o", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and said in err, err
    assert not out.exists()


@pytest.mark.parametrize("kind", ["picture", "folder", "camera", "live"])
def test_trim_is_refused_where_it_cannot_act(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    picture = tmp_path / "photo.png"
    cv2.imwrite(str(picture), np.full((40, 60, 3), 128, np.uint8))
    inputs = {
        "picture": [str(picture), "-o", str(tmp_path / "out.png")],
        "folder": [str(tmp_path), "-o", str(tmp_path / "out")],
        "camera": ["0", "-o", "null"],
        "live": [str(clip), "--live", "-o", "null"],
    }
    assert main(["run", *inputs[kind], "--start", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("livematte: --start trims a video file")


def test_a_trimmed_source_read_again_gives_the_same_part(clip: Path) -> None:
    """A second pass (a loop) starts again at --start, timed from 0 again."""
    from livematte.io.sources import VideoFileSource

    source = VideoFileSource(clip, 1.3, 3.0)
    try:
        first = [(frame.pts, frame.rgb.mean()) for frame in source]
        again = [(frame.pts, frame.rgb.mean()) for frame in source]
    finally:
        source.close()
    assert len(first) == len(again) > 40 and first[0][0] == 0
    assert [pts for pts, _ in first] == [pts for pts, _ in again]
    assert np.allclose([m for _, m in first], [m for _, m in again], atol=1.0)
