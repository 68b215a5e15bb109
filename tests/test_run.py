"""End to end: `livematte run` on clips, images and folders, as an editor would use it."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import person_frames, shared_data, video_info, write_clip

import livematte
from livematte.cli import main

GREEN = (0, 255, 0)


def _hidden_partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if "livematte-partial" in p.name]


@pytest.mark.slow
def test_run_keeps_frames_timestamps_and_audio_packets(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), "-o", str(out), "-b", "#00ff00", "-q"]) == 0
    before, after = video_info(clip), video_info(out)
    assert after["frames"] == before["frames"] == 30
    assert after["pts_seconds"] == before["pts_seconds"]
    assert after["audio_codec"] == "aac"
    # Packet for packet: the audio is copied, never re-encoded.
    assert after["audio_packets"] == before["audio_packets"]
    assert not _hidden_partials(tmp_path)


@pytest.mark.slow
def test_clip_whose_metadata_is_not_utf8_is_read(clip: Path, tmp_path: Path) -> None:
    # Older cameras and editors write titles in Latin-1: such a clip is still processed.
    latin = tmp_path / "latin.mkv"
    with av.open(str(clip)) as source, av.open(str(latin), "w") as target:
        target.metadata["title"] = "Sommer QQQQ"
        streams = {s.index: target.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
    data = latin.read_bytes()
    assert data.count(b"QQQQ") == 1
    latin.write_bytes(data.replace(b"QQQQ", "\xe9t\xe9!".encode("latin-1")))
    out = tmp_path / "out.mp4"
    assert main(["run", str(latin), "-o", str(out), "-q"]) == 0
    before, after = video_info(clip), video_info(out)
    assert after["frames"] == before["frames"]
    assert after["audio_packets"] == before["audio_packets"]


@pytest.mark.slow
def test_person_kept_and_background_replaced(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    alpha = tmp_path / "alpha"
    assert (
        main(["run", str(clip), "-o", str(out), "-b", "#00ff00", "--alpha-out", str(alpha), "-q"])
        == 0
    )
    names = sorted(p.name for p in alpha.glob("*.png"))
    assert names == [f"{i:05d}.png" for i in range(30)]
    first_in = next(person_frames(1))
    result = cv2.cvtColor(cv2.imread(str(out / "00000.png")), cv2.COLOR_BGR2RGB)
    matte = cv2.imread(str(alpha / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert matte.dtype == np.uint8 and matte.ndim == 2
    # The astronaut's face sits in the upper middle of the frame; the corners are background.
    assert matte[50:90, 140:180].mean() > 200
    for corner in (matte[:15, :15], matte[:15, -15:]):
        assert corner.mean() < 40
    assert np.abs(result[:15, -15:].astype(int) - GREEN).max() < 30
    face_diff = np.abs(result[50:90, 140:180].astype(int) - first_in[50:90, 140:180]).mean()
    assert face_diff < 12


@pytest.mark.slow
def test_variable_frame_rate_timestamps_are_kept(tmp_path: Path) -> None:
    pts = [0, 1, 2, 4, 7, 8, 12, 13, 20, 21]
    source = write_clip(
        tmp_path / "vfr.mkv", frames=10, pts=pts, time_base=Fraction(1, 30), audio=None
    )
    out = tmp_path / "vfr-out.mkv"
    livematte.process_video(source, out)
    assert video_info(out)["pts_seconds"] == video_info(source)["pts_seconds"]


@pytest.mark.slow
def test_transparent_prores_4444_carries_alpha(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mov"
    livematte.process_video(clip, out, background="transparent")
    info = video_info(out)
    assert info["codec"] == "prores" and str(info["pix_fmt"]).startswith("yuva444p")
    assert info["frames"] == 30
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgba")
    assert frame[:10, :10, 3].mean() < 40  # background transparent
    assert frame[50:90, 140:180, 3].mean() > 200  # person opaque


@pytest.mark.slow
def test_transparent_webm_is_vp9_with_alpha_and_audio_reencoded(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.webm"
    assert main(["run", str(clip), "-o", str(out), "-b", "transparent"]) == 0
    assert "re-encoding" in capsys.readouterr().err  # AAC cannot go into WebM: user told
    info = video_info(out)
    assert info["codec"] == "vp9" and info["audio_codec"] == "opus"
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.metadata.get("alpha_mode") == "1" or stream.metadata.get("ALPHA_MODE") == "1"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "said"),
    [("out.webm", "1 audio stream re-encoded to opus"), ("out.mp4", "1 audio stream copied")],
)
def test_the_summary_says_what_became_of_the_audio(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, said: str
) -> None:
    out = tmp_path / name
    assert main(["run", str(clip), "-o", str(out), "-b", "#00ff00"]) == 0
    summary = [line for line in capsys.readouterr().err.splitlines() if str(out) in line]
    assert any(said in line for line in summary), summary
    assert not any("copied" in line for line in summary if "re-encoded" in said), summary


@pytest.mark.slow
def test_transparent_folder_gives_rgba_pngs(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "rgba"
    livematte.process_video(clip, out, background="transparent")
    png = cv2.imread(str(out / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert png.shape == (180, 320, 4)
    assert png[:10, :10, 3].mean() < 40 and png[50:90, 140:180, 3].mean() > 200


@pytest.mark.slow
def test_still_image_and_image_folder_inputs(tmp_path: Path) -> None:
    frames = list(person_frames(3))
    folder = tmp_path / "in"
    folder.mkdir()
    for i, rgb in enumerate(frames):
        cv2.imwrite(str(folder / f"f{i:02d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out_folder = tmp_path / "out"
    report = livematte.process_video(folder, out_folder, background="#0000ff")
    assert report.frames == 3
    # Each picture keeps its own name.
    assert sorted(p.name for p in out_folder.glob("*.png")) == ["f00.png", "f01.png", "f02.png"]
    single = tmp_path / "single.png"
    livematte.process_video(folder / "f00.png", single, background="#0000ff")
    image = cv2.imread(str(single))
    assert image.shape == (180, 320, 3)
    assert image[:10, -10:, 0].mean() > 200  # BGR: blue background in the corner


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), id="grey"),
        pytest.param(lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA), id="rgba"),
        pytest.param(
            lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257, id="16bit"
        ),
    ],
)
def test_unusual_image_formats_are_converted(tmp_path: Path, make) -> None:  # noqa: ANN001
    rgb = next(person_frames(1))
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), make(rgb))
    out = tmp_path / "out.png"
    livematte.process_video(source, out, background="#ff0000")
    image = cv2.imread(str(out))
    assert image.shape == (180, 320, 3)
    assert image[:10, -10:, 2].mean() > 200  # red background


@pytest.mark.slow
@pytest.mark.parametrize(
    ("width", "height", "codec", "pix_fmt"),
    [(641, 361, "libx264", "yuv444p"), (320, 180, "libx264", "yuv444p10le")],
    ids=["odd-size", "10bit-444"],
)
def test_odd_sizes_and_high_bit_depth_video(
    tmp_path: Path, width: int, height: int, codec: str, pix_fmt: str
) -> None:
    source = write_clip(
        tmp_path / "in.mkv",
        frames=5,
        width=width,
        height=height,
        codec=codec,
        pix_fmt=pix_fmt,
        audio=None,
    )
    out = tmp_path / "out.mp4"
    livematte.process_video(source, out)
    info = video_info(out)
    assert info["frames"] == 5
    # The exact size (H.264 in 4:4:4 where 4:2:0 has no odd sizes): never padded or cropped.
    assert (info["width"], info["height"]) == (width, height)


@pytest.mark.slow
def test_video_background_loops_and_image_background_covers(clip: Path, tmp_path: Path) -> None:
    short_bg = write_clip(tmp_path / "bg.mp4", frames=4, width=200, height=200, audio=None)
    out = tmp_path / "out.mp4"
    report = livematte.process_video(clip, out, background=str(short_bg))
    assert report.frames == 30  # a 4-frame background was looped over 30 frames
    wide = np.full((100, 400, 3), (255, 0, 255), np.uint8)
    # Black outer strips: "cover" scales to 720x180 and crops them away (no letterbox, no
    # stretch), so the output's corners are magenta.
    wide[:, :60] = 0
    wide[:, 340:] = 0
    bg_path = tmp_path / "bg.png"
    cv2.imwrite(str(bg_path), wide)
    out_png = tmp_path / "out.png"
    livematte.process_video(_one_frame(tmp_path), out_png, background=str(bg_path))
    image = cv2.imread(str(out_png))
    assert image.shape == (180, 320, 3)
    assert image[:10, :10].mean(axis=(0, 1)).round().tolist() == pytest.approx(
        [255, 0, 255], abs=20
    )


def _one_frame(tmp_path: Path) -> Path:
    path = tmp_path / "one.png"
    cv2.imwrite(str(path), cv2.cvtColor(next(person_frames(1)), cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.slow
def test_existing_output_is_replaced_only_at_the_end(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    assert main(["run", str(clip), "-o", str(out), "-b", "nonsense-background", "-q"]) == 2
    assert out.read_bytes() == b"old"  # a failed run never touches an existing output
    assert not _hidden_partials(tmp_path)
    assert main(["run", str(clip), "-o", str(out), "-q"]) == 0
    assert video_info(out)["frames"] == 30


@pytest.mark.slow
def test_davis_alpha_out_matches_ground_truth(tmp_path: Path) -> None:
    clip_dir = shared_data("frames_gt/davis2016_hike")
    images = sorted((clip_dir / "images").iterdir())[:12]
    masks = sorted((clip_dir / "masks").iterdir())[:12]
    subset = tmp_path / "frames"
    subset.mkdir()
    for image in images:
        (subset / image.name).symlink_to(image)
    alpha_dir = tmp_path / "alpha"
    livematte.process_video(subset, "null", alpha_out=alpha_dir)
    ious = []
    for index, mask_path in enumerate(masks):
        gt = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        pred = cv2.imread(str(alpha_dir / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE) > 127
        ious.append((gt & pred).sum() / max(1, (gt | pred).sum()))
    assert float(np.mean(ious)) > 0.75


@pytest.mark.slow
def test_cli_entry_point_runs_as_a_program(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    result = subprocess.run(
        [sys.executable, "-m", "livematte", "run", str(clip), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert video_info(out)["frames"] == 30


def test_demo_writes_video_and_side_by_side(tmp_path: Path) -> None:
    from livematte.demo import run_demo

    report, video, picture = run_demo(tmp_path, frames=12)
    assert report.frames == 12 and video_info(video)["frames"] == 12
    panel = cv2.imread(str(picture))
    assert panel.shape == (360, 640 * 3, 3)  # input | alpha | output


def test_summary_names_the_selfie_variant_that_ran(clip: Path) -> None:
    """``auto`` resolves per frame shape: the summary names the variant that made the
    output (a 16:9 clip runs the landscape model), not the setting."""
    from livematte.matting.selfie import Selfie

    report = livematte.process_video(clip, "null", model="selfie")
    assert report.model == "selfie (landscape)"
    assert any("selfie (landscape)" in line for line in report.summary_lines())
    square = Selfie("auto")
    assert square.name == "selfie (auto)"  # before any frame: the setting
    square.infer(np.zeros((256, 256, 3), np.uint8))
    assert square.name == "selfie (general)"
    square.close()


def test_one_name_for_a_model_whichever_route_chose_it(clip: Path) -> None:
    """``--model selfie`` and ``auto`` choosing selfie name the same model the same way;
    auto only says that it chose."""
    chosen = livematte.process_video(clip, "null", model="auto")
    typed = livematte.process_video(clip, "null", model="selfie")
    assert chosen.model == f"auto: {typed.model}"
