"""What each kind of output promises: the right refusals, folders a user can use, honest
colour tags, and recordings that keep the audio."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import person_frames, video_info, write_clip

import livematte
from livematte import cli
from livematte.config import Config
from livematte.errors import UserError
from livematte.io.image_files import FOLDER_MARK
from livematte.run.interrupt import StopRequest
from livematte.run.live import run_live


def pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png"))


def test_a_video_into_one_image_file_is_refused_naming_the_folder_form(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frame.png"
    rc = cli.main(["run", str(clip), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "single image" in err and f"{tmp_path / 'frame'}/" in err
    assert not out.exists()


def test_output_folders_follow_the_umask(clip: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        livematte.process_video(clip, tmp_path / "frames")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "frames").stat().st_mode) == 0o755


def test_a_second_run_replaces_every_frame_of_the_first(tmp_path: Path) -> None:
    long, short = tmp_path / "long.mp4", tmp_path / "short.mp4"
    write_clip(long, frames=12, audio=None)
    write_clip(short, frames=5, audio=None)
    out = tmp_path / "frames"
    livematte.process_video(long, out)
    assert len(pngs(out)) == 12
    livematte.process_video(short, out)
    assert pngs(out) == [f"{i:05d}.png" for i in range(5)]  # none of the older run's left
    assert (out / FOLDER_MARK).exists()


def test_a_folder_livematte_did_not_write_is_refused_and_left_alone(
    clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.png").write_bytes(b"not ours")
    with pytest.raises(UserError, match="did not write .*holiday.png"):
        livematte.process_video(clip, out)
    assert sorted(p.name for p in out.iterdir()) == ["holiday.png"]


def test_a_folder_of_photos_keeps_each_size_and_name(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    sizes = {"wide.jpg": (320, 180), "tall.png": (120, 200), "tall.jpg": (100, 100)}
    for name, (width, height) in sizes.items():
        rgb = next(person_frames(1, width, height))
        cv2.imwrite(str(photos / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    report = livematte.process_video(photos, out, background="#0000ff", alpha_out=tmp_path / "a")
    assert report.frames == 3
    # Two pictures share the stem "tall": they keep their whole names apart.
    assert pngs(out) == ["tall.jpg.png", "tall.png.png", "wide.png"]
    assert pngs(tmp_path / "a") == pngs(out)
    assert cv2.imread(str(out / "wide.png")).shape == (180, 320, 3)
    assert cv2.imread(str(out / "tall.png.png")).shape == (200, 120, 3)
    assert cv2.imread(str(out / "tall.jpg.png")).shape == (100, 100, 3)


@pytest.mark.parametrize(
    ("name", "background"),
    [("alpha.mov", "transparent"), ("alpha.webm", "transparent"), ("out.mkv", "#00ff00")],
)
def test_yuv_outputs_say_which_colours_their_pixels_are(
    tmp_path: Path, name: str, background: str
) -> None:
    source = write_clip(tmp_path / "in.mp4", frames=3, audio=None)
    out = tmp_path / name
    livematte.process_video(source, out, background=background)
    with av.open(str(out)) as container:
        ctx = container.streams.video[0].codec_context
        # Made from RGB with BT.601 in limited range; the primaries and transfer are the
        # source's (an untagged small clip: BT.709's), never "unspecified".
        assert (int(ctx.colorspace), int(ctx.color_range)) == (6, 1)
        assert int(ctx.color_primaries) == 1 and int(ctx.color_trc) == 1


def test_a_live_recording_of_a_file_keeps_its_audio(clip: Path, tmp_path: Path) -> None:
    config = Config()
    config.live.live = True
    out = tmp_path / "rec.mp4"
    report = run_live(str(clip), str(out), config, StopRequest())
    info = video_info(out)
    source = video_info(clip)
    assert report.live is not None and report.frames == info["frames"] > 0
    assert info["audio_codec"] == "aac" and info["audio_packets"]
    # Timed by the file's own clock: the recording lasts as long as the clip.
    assert info["audio_packets"] == source["audio_packets"][: len(info["audio_packets"])]
    assert np.isclose(info["pts_seconds"][-1], source["pts_seconds"][-1], atol=0.1)


def test_an_mp4_cut_before_its_index_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = write_clip(tmp_path / "whole.mp4", frames=20)  # the index ('moov') is written last
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    rc = cli.main(["run", str(cut), "-o", str(tmp_path / "out.mp4"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "cut short before its index" in err and "Traceback" not in err
    assert not (tmp_path / "out.mp4").exists()


def test_api_takes_background_paths(tmp_path: Path) -> None:
    """process_video takes a pathlib.Path (or a list of them) as readily as a str."""
    source = write_clip(tmp_path / "in.mp4", frames=2, audio=None)
    blue = tmp_path / "blue.png"
    cv2.imwrite(str(blue), np.full((8, 8, 3), (255, 0, 0), np.uint8))  # BGR blue
    for background in (blue, [blue]):
        out = tmp_path / "out"
        livematte.process_video(source, out, background=background)
        corner = cv2.imread(str(out / "00000.png"))[0, 0]
        assert corner[0] > 200 and corner[2] < 60, corner
