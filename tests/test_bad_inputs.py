"""Hostile and unusual inputs: each is processed correctly or refused in one sentence.

The corpus is generated here (nothing binary is checked in). A refusal must be one line on
stderr naming the file, exit status 2, no traceback, and nothing left under the output
name or as a hidden partial file. Most cases call ``cli.main`` in-process (the model loads
once per process); a few run the real command to see its real stderr and bound its time.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import video_info, write_clip

from livematte import cli
from livematte.io import images

FRAMES = 60  # of the clips that get damaged


def remux(src: Path, dst: Path, **options: str) -> Path:
    """Copy every packet of ``src`` into ``dst`` with muxer ``options`` (e.g. faststart)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options=options) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


def png_claiming(width: int, height: int) -> bytes:
    """A valid-looking PNG whose IHDR claims ``width`` x ``height`` but holds a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        for index in range(20):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((2, 1024), np.float32), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = 48000, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def gradient(height: int, width: int, dtype: type = np.uint8) -> np.ndarray:
    """A smooth colour ramp: it survives blurring, so the output must stay close to it."""
    top = np.iinfo(dtype).max
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    planes = [x * np.ones_like(y), y * np.ones_like(x), 0.5 * (x + y)]
    return (np.stack(planes, axis=2) * top).astype(dtype)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every input file of this module, made once."""
    d = tmp_path_factory.mktemp("corpus")
    (d / "empty.mp4").write_bytes(b"")
    (d / "random.mp4").write_bytes(np.random.default_rng(1).bytes(50_000))
    (d / "text.mp4").write_text("this is a shopping list, not a video\n" * 50)
    indexed_at_end = write_clip(d / "whole.mp4", frames=FRAMES)
    data = indexed_at_end.read_bytes()
    assert data.find(b"moov") > len(data) // 2  # PyAV's default: index written last
    (d / "half_index_at_end.mp4").write_bytes(data[: len(data) // 2])
    faststart = remux(indexed_at_end, d / "faststart.mp4", movflags="faststart")
    fs = faststart.read_bytes()
    assert fs.find(b"moov") < 100  # the index comes first
    (d / "half_faststart.mp4").write_bytes(fs[: len(fs) // 2])
    zeroed = bytearray(fs)
    middle = len(zeroed) // 2
    zeroed[middle : middle + 4000] = bytes(4000)
    (d / "zeroed.mp4").write_bytes(bytes(zeroed))
    audio_only(d / "audio_only.m4a")
    write_clip(d / "tiny.mp4", frames=10, width=32, height=32, audio=None)
    write_clip(d / "odd.mkv", frames=10, width=641, height=361, audio=None, pix_fmt="yuv444p")
    write_clip(d / "deep444.mkv", frames=10, audio=None, pix_fmt="yuv444p10le")
    write_clip(d / "mjpeg.avi", frames=10, audio=None, codec="mjpeg", pix_fmt="yuvj420p")
    write_clip(
        d / "vfr.mkv",
        frames=10,
        audio=None,
        pts=[0, 3, 4, 10, 11, 20, 21, 22, 30, 40],
        time_base=Fraction(1, 100),
    )
    ramp = gradient(90, 160)
    cv2.imwrite(str(d / "grey.png"), cv2.cvtColor(ramp, cv2.COLOR_RGB2GRAY))
    rgba = np.dstack([ramp, np.full((90, 160), 128, np.uint8)])
    cv2.imwrite(str(d / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(d / "deep.png"), cv2.cvtColor(gradient(90, 160, np.uint16), cv2.COLOR_RGB2BGR))
    (d / "huge.png").write_bytes(png_claiming(60000, 60000))
    (d / "garbage.onnx").write_bytes(np.random.default_rng(2).bytes(3000))
    (d / "not_an_image.png").write_text("not a png")
    (d / "file.txt").write_text("a regular file, not a folder")
    (d / "syntax.toml").write_text("[model\nname = 'mediapipe'\n")
    (d / "unknown_key.toml").write_text("[model]\nnmae = 'mediapipe'\n")
    (d / "wrong_type.toml").write_text("[output]\ncrf = 'high'\n")
    (d / "bad_value.toml").write_text("[output]\ncrf = 99\n")
    return d


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = cli.main(["run", *args, "-q"])
    return rc, capsys.readouterr().err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "livematte-partial" in p.name)


def assert_refused(rc: int, err: str, names: str, out: Path | None = None) -> None:
    """Exit 2 with one sentence naming ``names`` (a file or setting); nothing written."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("livematte: ") and lines[0].endswith("."), err
    assert names in lines[0], err
    if out is not None:
        assert not out.exists()
        assert leftovers(out.parent) == []


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame")


def assert_same_colours(a: np.ndarray, b: np.ndarray, tolerance: float = 8.0) -> None:
    """Mean colour per channel agrees: a misread depth or channel order shifts it far more."""
    a, b = a[: b.shape[0], : b.shape[1]], b[: a.shape[0], : a.shape[1]]
    diff = np.abs(a.reshape(-1, 3).mean(0) - b.reshape(-1, 3).mean(0))
    assert diff.max() < tolerance, diff


# ---- refused, with one sentence -------------------------------------------------------

REFUSED = [
    # (case, input file, extra args, what the sentence must name)
    ("empty file", "empty.mp4", [], "empty.mp4"),
    ("random bytes named .mp4", "random.mp4", [], "random.mp4"),
    ("text file named .mp4", "text.mp4", [], "text.mp4"),
    ("mp4 cut in half, index at the end", "half_index_at_end.mp4", [], "half_index_at_end"),
    ("audio only", "audio_only.m4a", [], "no video stream"),
    ("PNG claiming 60000x60000", "huge.png", [], "60000x60000"),
    ("missing input", "nope.mp4", [], "nope.mp4"),
    ("garbage .onnx", "tiny.mp4", ["--model", "{d}/garbage.onnx"], "garbage.onnx"),
    ("config syntax error", "tiny.mp4", ["--config", "{d}/syntax.toml"], "syntax.toml"),
    ("config unknown key", "tiny.mp4", ["--config", "{d}/unknown_key.toml"], "model.nmae"),
    ("config wrong type", "tiny.mp4", ["--config", "{d}/wrong_type.toml"], "output.crf"),
    ("config bad value", "tiny.mp4", ["--config", "{d}/bad_value.toml"], "crf"),
    ("config missing", "tiny.mp4", ["--config", "{d}/nope.toml"], "nope.toml"),
    ("background missing", "tiny.mp4", ["-b", "{d}/nope.jpg"], "nope.jpg"),
    ("background not an image", "tiny.mp4", ["-b", "{d}/not_an_image.png"], "not_an_image"),
    ("background not a video", "tiny.mp4", ["-b", "{d}/text.mp4"], "text.mp4"),
    ("background huge PNG", "tiny.mp4", ["-b", "{d}/huge.png"], "huge.png"),
    ("background unknown spec", "tiny.mp4", ["-b", "blurr"], "blurr"),
    ("background bad colour", "tiny.mp4", ["-b", "#12345"], "#12345"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "args", "names"),
    [pytest.param(c[1], c[2], c[3], id=c[0]) for c in REFUSED],
)
def test_refused_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
    corpus: Path,
    out_dir: Path,
    name: str,
    args: list[str],
    names: str,
) -> None:
    out = out_dir / "out.mp4"
    extra = [a.format(d=corpus) for a in args]
    rc, err = run_cli(capsys, str(corpus / name), "-o", str(out), *extra)
    assert_refused(rc, err, names, out)


def test_huge_png_refused_before_decoding(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header alone decides: decoding 60000x60000 would allocate 10 GB first."""

    def must_not_decode(*args: object) -> None:
        raise AssertionError("the pixels were decoded before the size was checked")

    monkeypatch.setattr(images.cv2, "imdecode", must_not_decode)
    with pytest.raises(images.UserError, match="60000x60000"):
        images.read_image(corpus / "huge.png")


def test_huge_png_in_a_folder_is_refused(
    capsys: pytest.CaptureFixture[str], corpus: Path, tmp_path: Path
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "0001.png").write_bytes(png_claiming(60000, 60000))
    rc, err = run_cli(capsys, str(frames), "-o", str(tmp_path / "out"))
    assert_refused(rc, err, "0001.png", tmp_path / "out")


def test_output_equal_to_input_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=5, audio=None)
    before = clip.read_bytes()
    (tmp_path / "sub").mkdir()
    os.link(clip, tmp_path / "hardlink.mp4")
    (tmp_path / "symlink.mp4").symlink_to(clip)
    for spelling in (clip, tmp_path / "sub" / ".." / "in.mp4", "hardlink.mp4", "symlink.mp4"):
        target = spelling if Path(spelling).is_absolute() else tmp_path / spelling
        rc, err = run_cli(capsys, str(clip), "-o", str(target))
        assert_refused(rc, err, "input itself")
    assert clip.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("where", "names"),
    [
        pytest.param("file.txt/out.mp4", "is a file", id="folder is a regular file"),
        pytest.param("no/such/folder/out.mp4", "does not exist", id="folder missing"),
        pytest.param("file.txt/frames", "is a file", id="PNG folder under a regular file"),
    ],
)
def test_unwritable_output_is_refused(
    capsys: pytest.CaptureFixture[str], corpus: Path, where: str, names: str
) -> None:
    out = corpus / where
    rc, err = run_cli(capsys, str(corpus / "tiny.mp4"), "-o", str(out))
    assert_refused(rc, err, names)
    assert leftovers(corpus) == []


def test_bad_alpha_output_removes_the_main_partial(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    """The main sink is already open when the matte's folder turns out to be missing."""
    out = out_dir / "out.mp4"
    rc, err = run_cli(
        capsys, str(corpus / "tiny.mp4"), "-o", str(out), "--alpha-out", str(out_dir / "x/a.mkv")
    )
    assert_refused(rc, err, "does not exist", out)


def test_failed_run_keeps_an_existing_output(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    out = out_dir / "out.mp4"
    out.write_bytes(b"yesterday's render")
    rc, err = run_cli(capsys, str(corpus / "random.mp4"), "-o", str(out))
    assert rc == 2 and "random.mp4" in err
    assert out.read_bytes() == b"yesterday's render"
    assert leftovers(out_dir) == []


def test_input_is_never_opened_for_writing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A read-only input is processed; its bytes and timestamp stay as they were."""
    clip = write_clip(tmp_path / "in.mp4", frames=5)
    clip.chmod(0o444)
    stat, data = clip.stat(), clip.read_bytes()
    rc, err = run_cli(capsys, str(clip), "-o", str(tmp_path / "out.mp4"))
    assert rc == 0, err
    assert clip.read_bytes() == data and clip.stat().st_mtime_ns == stat.st_mtime_ns


# ---- processed, correctly -------------------------------------------------------------


def test_truncated_faststart_mp4_keeps_the_decodable_part(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    out = out_dir / "out.mp4"
    rc, err = run_cli(capsys, str(corpus / "half_faststart.mp4"), "-o", str(out))
    assert rc == 0, err
    info = video_info(out)
    frames = info["frames"]
    assert 0 < frames < FRAMES
    assert f"{FRAMES - frames} frame(s) lost" in err and "half_faststart.mp4" in err
    assert info["audio_packets"], "the audio that was there is copied too"
    assert leftovers(out_dir) == []


@pytest.mark.slow
def test_zeroed_bytes_decode_past_the_damage(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    out = out_dir / "out.mp4"
    rc, err = run_cli(capsys, str(corpus / "zeroed.mp4"), "-o", str(out))
    assert rc == 0, err
    info = video_info(out)
    frames = info["frames"]
    assert FRAMES // 2 < frames < FRAMES
    assert f"{FRAMES - frames} frame(s) lost" in err
    # The frames after the damage were processed: the output reaches the clip's end.
    assert info["pts_seconds"][-1] == pytest.approx((FRAMES - 1) / 30, abs=1e-3)
    assert_same_colours(first_frame(corpus / "zeroed.mp4"), first_frame(out))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "output", "size"),
    [
        pytest.param("tiny.mp4", "out.mp4", (32, 32), id="32x32"),
        pytest.param("odd.mkv", "out.mkv", (641, 361), id="641x361 kept in H.264 4:4:4"),
        pytest.param("deep444.mkv", "out.mp4", (320, 180), id="10-bit 4:4:4"),
        pytest.param("mjpeg.avi", "out.avi", (320, 180), id="MJPEG in AVI"),
    ],
)
def test_unusual_videos_are_processed(
    capsys: pytest.CaptureFixture[str],
    corpus: Path,
    out_dir: Path,
    name: str,
    output: str,
    size: tuple[int, int],
) -> None:
    out = out_dir / output
    rc, err = run_cli(capsys, str(corpus / name), "-o", str(out))
    assert rc == 0, err
    info = video_info(out)
    assert info["frames"] == 10
    assert (info["width"], info["height"]) == size
    if size == (641, 361):  # the user's own file is named, and the option for 4:2:0 players
        assert f"{out}: 641x361 is kept exactly in H.264 4:4:4" in err and "--codec vp9" in err
    assert_same_colours(first_frame(corpus / name), first_frame(out))


def test_odd_size_as_png_frames_keeps_the_exact_size(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    out = out_dir / "frames"
    rc, err = run_cli(capsys, str(corpus / "odd.mkv"), "-o", str(out))
    assert rc == 0, err
    files = sorted(out.glob("*.png"))
    assert len(files) == 10
    assert cv2.imread(str(files[0])).shape == (361, 641, 3)


def test_variable_frame_rate_keeps_every_timestamp(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path
) -> None:
    out = out_dir / "out.mkv"
    rc, err = run_cli(capsys, str(corpus / "vfr.mkv"), "-o", str(out))
    assert rc == 0, err
    expected = video_info(corpus / "vfr.mkv")["pts_seconds"]
    assert video_info(out)["pts_seconds"] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("name", ["grey.png", "rgba.png", "deep.png"])
def test_unusual_pngs_are_processed(
    capsys: pytest.CaptureFixture[str], corpus: Path, out_dir: Path, name: str
) -> None:
    out = out_dir / "out.png"
    rc, err = run_cli(capsys, str(corpus / name), "-o", str(out), "-b", "blur:5")
    assert rc == 0, err
    result = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert result.shape == (90, 160, 3) and result.dtype == np.uint8
    expected = gradient(90, 160)
    if name == "grey.png":
        expected = cv2.cvtColor(cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    # Smooth ramps survive the blur: a wrong depth, channel order or alpha handling would not.
    assert np.abs(result.astype(int) - expected).mean() < 12
    assert leftovers(out_dir) == []


# ---- the real command: real stderr, bounded time -----------------------------------------

SUBPROCESS_CASES = [
    pytest.param("random.mp4", "random.mp4", id="random bytes"),
    pytest.param("half_index_at_end.mp4", "half_index_at_end.mp4", id="cut mp4, index at end"),
    pytest.param("huge.png", "60000x60000", id="huge PNG header"),
    pytest.param("tiny.mp4", "input itself", id="output is the input"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "names"), SUBPROCESS_CASES)
def test_real_command_refuses_quickly(corpus: Path, name: str, names: str) -> None:
    source = corpus / name
    out = source if names == "input itself" else corpus / "sub_out.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "livematte", "run", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert_refused(result.returncode, result.stderr, names)
    assert not (corpus / "sub_out.mp4").exists() and leftovers(corpus) == []


def test_debug_shows_the_traceback(corpus: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "livematte", "run", str(corpus / "random.mp4"), "-o", "null"]
        + ["--debug"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "random.mp4" in result.stderr
