"""``-`` for the input and the output: ``livematte run - -o - < a.jpg > b.png`` as rembg
users type it, and a video through real pipes (Matroska out, its audio kept)."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import video_info, write_clip

from livematte.cli import main


def livematte(*args: str, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The real command with ``stdin`` piped in and stdout piped out, run in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "livematte", "run", *args],
        input=stdin,
        capture_output=True,
        timeout=180,
        cwd=cwd,
    )


def photo_bytes() -> bytes:
    rgb = np.full((90, 120, 3), 200, np.uint8)
    cv2.circle(rgb, (60, 45), 25, (30, 60, 180), -1)
    ok, data = cv2.imencode(".jpg", rgb)
    assert ok
    return data.tobytes()


@pytest.mark.slow
def test_a_picture_through_stdin_comes_out_as_a_png_on_stdout(tmp_path: Path) -> None:
    result = livematte("-", "-o", "-", "-b", "transparent", stdin=photo_bytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"\x89PNG")
    image = cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (90, 120, 4)  # the photo's size, with its matte as alpha


@pytest.mark.slow
def test_a_picture_through_stdin_into_a_file(tmp_path: Path) -> None:
    out = tmp_path / "cutout.png"
    result = livematte("-", "-o", str(out), stdin=photo_bytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert cv2.imread(str(out)).shape == (90, 120, 3)


@pytest.mark.slow
@pytest.mark.parametrize("container", ["mkv", "nut", "mp4"])
def test_a_video_through_pipes_keeps_its_frames_and_audio(tmp_path: Path, container: str) -> None:
    """Matroska out (a pipe cannot be seeked back into); in, any container, an MP4 with
    its index at the end included."""
    clip = write_clip(tmp_path / f"in.{container}", frames=12)
    result = livematte("-", "-o", "-", "-b", "#00ff00", stdin=clip.read_bytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / "out.mkv"
    out.write_bytes(result.stdout)
    info = video_info(out)
    assert info["frames"] == 12 and (info["width"], info["height"]) == (320, 180)
    assert info["audio_packets"]
    with av.open(str(out)) as played:
        assert played.format.name.startswith("matroska")


@pytest.mark.slow
def test_a_file_into_stdout_streams_as_it_goes(tmp_path: Path) -> None:
    """stdout is a pipe to another program: nothing is seeked, the result plays."""
    clip = write_clip(tmp_path / "in.mp4", frames=8)
    command = [sys.executable, "-m", "livematte", "run", str(clip), "-o", "-", "-q"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    ) as process:
        data, err = process.communicate(timeout=180)
    assert process.returncode == 0, err.decode()
    with av.open(io.BytesIO(data)) as played:
        assert sum(1 for _ in played.decode(video=0)) == 8


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


class _TerminalText:
    """sys.stdin or sys.stdout on a terminal: nothing to read, nowhere to write bytes."""

    buffer = _Terminal()

    def isatty(self) -> bool:
        return True


@pytest.fixture
def fresh_stdin() -> Iterator[None]:
    from livematte.io import pipes  # (imported here: absent before pipes were supported)

    pipes.read_stdin.cache_clear()  # stdin is read once per process
    yield
    pipes.read_stdin.cache_clear()


def test_a_terminal_on_stdin_is_one_sentence(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fresh_stdin: None,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(sys, "stdin", _TerminalText())
    assert main(["run", "-", "-o", str(tmp_path / "out.png")]) == 2
    assert "stdin is a terminal" in capsys.readouterr().err


def test_a_terminal_on_stdout_is_one_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes())
    with monkeypatch.context() as patch:  # set here: pytest puts its own back between phases
        patch.setattr(sys, "stdout", _TerminalText())
        code = main(["run", str(photo), "-o", "-"])
    assert code == 2
    err = capsys.readouterr().err
    assert "stdout is a terminal" in err and "is the input itself" not in err


def test_a_folder_to_stdout_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a build that takes "-" for a folder writes it here
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(photo_bytes())
    (photos / "b.jpg").write_bytes(photo_bytes())
    assert main(["run", str(photos), "-o", "-"]) == 2
    assert "-o - writes one picture or one video to stdout" in capsys.readouterr().err


def test_the_picture_and_the_matte_cannot_share_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a build that takes "-" for a file writes it here
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes())
    assert main(["run", str(photo), "-o", "-", "--alpha-out", "-"]) == 2
    assert "would both write to stdout" in capsys.readouterr().err


@pytest.mark.slow
def test_bytes_that_are_neither_are_one_sentence(tmp_path: Path) -> None:
    result = livematte(
        "-", "-o", str(tmp_path / "out.mp4"), stdin=b"not a picture, not a video", cwd=tmp_path
    )
    assert result.returncode == 2
    said = result.stderr.decode().strip()
    assert said.count("\n") == 0 and "Input - (stdin) holds neither" in said
