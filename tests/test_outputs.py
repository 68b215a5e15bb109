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


def _backgrounds(tmp_path: Path) -> dict[str, str]:
    """One background of each kind: colour, image, video, blur, transparent."""
    image = tmp_path / "bg.png"
    cv2.imwrite(str(image), np.full((90, 160, 3), (40, 90, 200), np.uint8))
    video = write_clip(tmp_path / "bg.mp4", frames=3, audio=None)
    return {
        "colour": "#00ff00",
        "image": str(image),
        "video": str(video),
        "blur": "blur",
        "transparent": "transparent",
    }


def _colour_tags(path: Path) -> list[tuple[int, int, int, int]]:
    """(matrix, range, primaries, transfer) as the container says and as the decoder reads
    them from the first frame's own bitstream (what ffprobe reports)."""
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        stream = (ctx.colorspace, ctx.color_range, ctx.color_primaries, ctx.color_trc)
        frame = next(container.decode(video=0))
        decoded = (frame.colorspace, frame.color_range, frame.color_primaries, frame.color_trc)
    return [tuple(int(v) for v in stream), tuple(int(v) for v in decoded)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "codec", "kinds"),
    [
        ("out.mp4", "", ("colour", "image", "video", "blur")),
        ("out.mkv", "", ("colour", "image", "video", "blur", "transparent")),
        ("out.mov", "", ("colour", "image", "video", "blur", "transparent")),
        ("out.webm", "", ("colour", "image", "video", "blur", "transparent")),
        ("out.mkv", "ffv1", ("colour", "image", "video", "blur", "transparent")),
        ("out.mp4", "vp9", ("colour", "transparent")),
    ],
    ids=["mp4-h264", "mkv-h264", "mov-prores", "webm-vp9", "mkv-ffv1", "mp4-vp9"],
)
def test_yuv_outputs_say_which_colours_their_pixels_are(
    tmp_path: Path, name: str, codec: str, kinds: tuple[str, ...]
) -> None:
    """Every container and codec, every background kind (ProRes 4444 with alpha included):
    the tags in the container and in the coded frames match the pixels."""
    source = write_clip(tmp_path / "in.mp4", frames=3, audio=None)
    backgrounds = _backgrounds(tmp_path)
    for kind in kinds:
        out = tmp_path / f"{kind}-{name}"
        config = Config()
        config.output.codec = codec
        if kind == "transparent" and name.endswith(".mp4"):
            continue  # H.264 carries no alpha (refused elsewhere)
        livematte.process_video(source, out, background=backgrounds[kind], config=config)
        # Made from RGB with BT.601 in limited range, or the decoded 4:2:0 passed through
        # (the source's tags: untagged, BT.709 as players take it); the primaries and
        # transfer are the source's, never "unspecified" (2).
        for tags in _colour_tags(out):
            assert tags[0] in (1, 6) and tags[1] == 1, (kind, name, codec, tags)
            assert tags[2] == 1 and tags[3] == 1, (kind, name, codec, tags)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["matte.mkv", "matte.mov", "matte.webm", "matte.mp4"])
def test_matte_videos_say_their_range_and_pictures_say_srgb(tmp_path: Path, name: str) -> None:
    """A grey matte is full range (0 and 255 mean exactly out and in); a picture input's
    output is sRGB, said as such."""
    source = write_clip(tmp_path / "in.mp4", frames=3, audio=None)
    matte = tmp_path / name
    livematte.process_video(source, tmp_path / "o.mp4", alpha_out=matte)
    for tags in _colour_tags(matte):
        # Grey FFV1 (.mkv) has no matrix, only its range; the others are Y'CbCr.
        assert tags[1] in (1, 2) and (name == "matte.mkv" or tags[0] in (1, 6)), (name, tags)
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.full((64, 96, 3), 128, np.uint8))
    still = tmp_path / f"still{Path(name).suffix}"
    livematte.process_video(picture, still, background="#0000ff")
    for tags in _colour_tags(still):
        assert tags == (6, 1, 1, 13), (name, tags)


@pytest.mark.slow
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


# ---- what an output leaves out or changes is said -------------------------------------


def test_a_clip_with_audio_into_a_folder_of_frames_says_the_audio_is_left_out(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frames"
    assert cli.main(["run", str(clip), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if f"audio of {clip}" in line]
    # Once, as the run starts, saying how to keep it.
    assert len(said) == 1 and str(out) in said[0] and "-o out.mp4" in said[0], err


def test_a_silent_clip_into_frames_says_nothing_of_audio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = write_clip(tmp_path / "silent.mp4", frames=3, audio=None)
    assert cli.main(["run", str(silent), "-o", str(tmp_path / "frames")]) == 0
    assert "audio of" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "codec"),
    [("out.mp4", "h264"), ("out.webm", "vp9"), ("out.mov", "prores"), ("out.mkv", "ffv1")],
)
def test_an_odd_sized_clip_keeps_its_exact_size(tmp_path: Path, name: str, codec: str) -> None:
    odd = write_clip(tmp_path / "odd.mkv", frames=3, width=641, height=361, pix_fmt="yuv444p")
    out = tmp_path / name
    flags = ["--codec", codec] if codec == "ffv1" else []
    assert cli.main(["run", str(odd), "-o", str(out), "-q", *flags]) == 0
    info = video_info(out)
    assert (info["width"], info["height"]) == (641, 361) and info["frames"] == 3
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (641, 361)


@pytest.mark.slow
def test_an_odd_size_in_a_batch_names_the_users_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The warning of a batch clip names the output the user will find, never the hidden
    file the worker wrote it under."""
    clips = tmp_path / "clips"
    clips.mkdir()
    write_clip(clips / "odd.mkv", frames=3, width=641, height=361, pix_fmt="yuv444p", audio=None)
    out = tmp_path / "out"
    assert cli.main(["batch", str(clips), "-o", str(out), "--jobs", "1"]) == 0
    err = capfd.readouterr().err  # the worker's own stderr too
    assert "livematte-attempt" not in err
    assert f"{out / 'odd.mp4'}: 641x361 is kept exactly" in err, err
    assert video_info(out / "odd.mp4")["width"] == 641
