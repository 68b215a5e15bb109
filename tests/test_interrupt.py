"""Stopping a re-encode: Ctrl-C, SIGTERM, a second Ctrl-C, a full disk, a vanished folder.

A stopped run must leave a valid, playable file of what was done (audio up to the same
point) under the output name, and say so; a failed one must leave nothing there. The
input is never touched. The signal tests drive the real command in a subprocess.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest
from conftest import video_info, write_clip

from livematte import cli
from livematte.errors import Interrupted
from livematte.io import video_file
from livematte.io.image_files import ImageFolderSink
from livematte.run.interrupt import SECOND_PRESS_S, StopRequest
from livematte.run.offline import process_video

FPS = 25
FRAMES = 250  # ten seconds: far longer than any of these tests lets it run
HANG_S = 120  # a run that has not exited this long after a signal hangs


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    return write_clip(
        folder / "talk.mp4",
        frames=FRAMES,
        width=640,
        height=360,
        fps=FPS,
        options={"preset": "ultrafast"},
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "livematte-partial" in p.name)


def command(clip: Path, out: Path, *flags: str, python: tuple[str, ...] = ()) -> list[str]:
    """``livematte run CLIP -o OUT FLAGS`` as Python runs it (``python``: its own flags)."""
    return [sys.executable, *python, "-m", "livematte", "run", str(clip), "-o", str(out), *flags]


def start(clip: Path, out: Path, own_group: bool = False, *flags: str) -> subprocess.Popen[str]:
    """The real command; ``own_group`` puts it in a process group of its own."""
    return subprocess.Popen(
        command(clip, out, *flags),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )


def wait_until_writing(process: subprocess.Popen[str], out: Path, size: int = 20_000) -> None:
    """Until frames are being written: the hidden partial file exists and has grown (the
    deadline is a hang guard only)."""
    deadline = time.monotonic() + HANG_S
    while not any(p.stat().st_size > size for p in partials(out)):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no output was being written after {HANG_S} s"
        time.sleep(0.02)


def partials(out: Path) -> list[Path]:
    """The hidden partial files of ``out`` (each run's own name)."""
    return list(out.parent.glob(f".{out.stem}.livematte-partial-*{out.suffix}"))


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit status and stderr. How fast it stops is no test's business (a loaded machine
    is slow at everything): the timeout only turns a hang into a failure."""
    try:
        _, err = process.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"livematte did not exit within {HANG_S} s of the signal: it hangs")
    return process.returncode, err


def stream_ends(path: Path) -> tuple[float, float]:
    """End times (seconds) of the video and of the audio, from their last packets."""
    ends = {"video": 0.0, "audio": 0.0}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.duration:
                end = float((packet.pts + packet.duration) * packet.time_base)
                kind = packet.stream.type
                ends[kind] = max(ends[kind], end)
    return ends["video"], ends["audio"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_keeps_a_playable_file(long_clip: Path, tmp_path: Path, signum: int) -> None:
    before = digest(long_clip)
    out = tmp_path / "out.mp4"
    process = start(long_clip, out)
    wait_until_writing(process, out)
    process.send_signal(signum)
    rc, err = finish(process)
    assert rc == 128 + signum, err  # 130 for SIGINT, 143 for SIGTERM
    assert "Traceback" not in err
    assert "stopped early, kept" in err
    if signum == signal.SIGTERM:
        assert "terminated" in err and "Ctrl-C" not in err
    kept = int(err.split("stopped early, kept ")[1].split()[0])
    # Valid and playable: every frame the run reported decodes, with audio beside it.
    info = video_info(out)
    assert 0 < info["frames"] == kept < FRAMES
    assert info["audio_packets"]
    video_end, audio_end = stream_ends(out)
    assert video_end == pytest.approx(kept / FPS, abs=1.5 / FPS)
    # The audio stops with the video: not cut short, not running on past it.
    assert video_end - 0.1 < audio_end <= video_end + 1 / FPS + 0.025
    assert leftovers(tmp_path) == []
    assert digest(long_clip) == before


@pytest.mark.slow
def test_second_ctrl_c_aborts_at_once(long_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    process = start(long_clip, out)
    wait_until_writing(process, out)
    process.send_signal(signal.SIGINT)
    # A lower bound, not a race: sleep never returns early, so this press is a second one.
    time.sleep(SECOND_PRESS_S + 0.05)
    process.send_signal(signal.SIGINT)
    rc, err = finish(process)
    assert rc == 130 and "Traceback" not in err
    if "aborted" in err and not out.exists():
        # Aborted mid-file: an unfinished MP4 has no index, so nothing is left.
        pass
    else:
        # The first Ctrl-C's clean stop won the race: what is there must play.
        assert video_info(out)["frames"] > 0
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_echoed_to_the_process_group_counts_once(long_clip: Path, tmp_path: Path) -> None:
    """What ``timeout -s INT`` and a terminal do: SIGINT to the process, then to its group."""
    out = tmp_path / "out.mp4"
    process = start(long_clip, out, own_group=True)
    wait_until_writing(process, out)
    # Back to back, as a terminal delivers them: no sleep that a loaded machine stretches.
    process.send_signal(signal.SIGINT)
    os.killpg(process.pid, signal.SIGINT)
    rc, err = finish(process)
    assert rc == 130, err
    assert "aborted" not in err and "stopped early, kept" in err
    assert video_info(out)["frames"] > 0
    assert leftovers(tmp_path) == []


def test_exit_status_of_a_user_error_is_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "livematte", "run", str(tmp_path / "absent.mp4"), "-o", "null"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


@pytest.mark.slow
def test_output_folder_removed_mid_run(long_clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "renders"
    folder.mkdir()
    out = folder / "out.mp4"
    process = start(long_clip, out)
    wait_until_writing(process, out)
    shutil.rmtree(folder)
    rc, err = finish(process)
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "out.mp4" in lines[0] and "deleted" in lines[0], err
    assert not folder.exists()


# ---- a full disk ----------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 300 KB tmpfs (needs root and mount rights; skipped elsewhere)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mount = shutil.which("mount")
    result = (
        subprocess.run(
            [mount, "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount_point)],
            capture_output=True,
        )
        if mount
        else None
    )
    if result is None or result.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); the simulated case still runs")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def assert_disk_full_refusal(rc: int, err: str, out: Path) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    assert "No space left on device" in err and out.name in err
    assert "free disk space" in err
    assert leftovers(out.parent) == []


def test_full_disk_real(
    capsys: pytest.CaptureFixture[str], long_clip: Path, tiny_disk: Path
) -> None:
    out = tiny_disk / "out.mp4"
    (tiny_disk / "keep.mp4").write_bytes(b"an earlier render")
    # Lossless output fills 300 KB within a few frames.
    rc = cli.main(["run", str(long_clip), "-o", str(out), "--crf", "0", "-q"])
    assert_disk_full_refusal(rc, capsys.readouterr().err, out)
    assert not out.exists()
    assert (tiny_disk / "keep.mp4").read_bytes() == b"an earlier render"


class _FillingFile:
    """A file that raises ENOSPC once ``room`` bytes were written, like a full disk."""

    def __init__(self, path: Path, mode: str, room: int) -> None:
        self._file = open(path, mode)  # noqa: SIM115 - closed through close()
        self._room = room

    def write(self, data: bytes) -> int:
        if self._file.tell() + len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._file.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)


@pytest.mark.slow
@pytest.mark.parametrize("output", ["out.mp4", "out.mkv"])
def test_full_disk_simulated(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    output: str,
) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=40)
    out = tmp_path / output
    out.write_bytes(b"an earlier render")
    monkeypatch.setattr(
        video_file, "open", lambda path, mode: _FillingFile(path, mode, 20_000), raising=False
    )
    rc = cli.main(["run", str(clip), "-o", str(out), "--crf", "0", "-q"])
    assert_disk_full_refusal(rc, capsys.readouterr().err, out)
    assert out.read_bytes() == b"an earlier render"


# ---- the Python API ---------------------------------------------------------------------


def test_stop_before_the_first_frame_writes_nothing(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=10)
    stop = StopRequest()
    stop.set("test")
    with pytest.raises(Interrupted) as caught:
        process_video(clip, tmp_path / "out.mp4", stop=stop)
    assert caught.value.exit_code == 130
    assert not (tmp_path / "out.mp4").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_stop_keeps_the_png_frames_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=100, audio=None)
    out = tmp_path / "frames"
    stop = StopRequest()
    write, written = ImageFolderSink.write, []

    def write_then_stop(sink: ImageFolderSink, *args: object) -> None:
        """The stop comes once the fifth picture is written: at a frame, not at a time."""
        write(sink, *args)  # type: ignore[arg-type]
        written.append(1)
        if len(written) == 5:
            stop.set("test")

    monkeypatch.setattr(ImageFolderSink, "write", write_then_stop)
    report = process_video(clip, out, stop=stop)
    assert report.interrupted
    files = sorted(out.glob("*.png"))
    assert 5 <= len(files) == report.frames < 100
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(report.frames)]
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "after", ["livematte.cli", "numpy", "cv2", "av", "livematte.stages", "livematte.run.offline"]
)
def test_ctrl_c_from_the_first_instruction_is_a_clean_line(
    long_clip: Path, tmp_path: Path, after: str
) -> None:
    """Ctrl-C while Python imports livematte, parses the flags or loads the model: one
    clean line and exit 130, never a KeyboardInterrupt traceback, nothing left behind.

    ``-X importtime`` has the command say each module as it is imported, so the signal
    lands in a known phase of the start-up (once ``after`` is imported), not at a time.
    """
    out = tmp_path / "out.mp4"
    process = subprocess.Popen(
        command(long_clip, out, python=("-X", "importtime")),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # "import time: self | cumulative | <indent>module"
        seen.append(line)
        if line.rsplit("|", 1)[-1].strip() == after:
            break
    else:
        pytest.fail(f"{after} was never imported: {''.join(seen[-5:])}")
    process.send_signal(signal.SIGINT)
    code, err = finish(process)
    said = [line for line in err.splitlines() if line and not line.startswith("import time:")]
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in said), said
    assert code == 130, said
    assert said[-1] == "livematte: interrupted." or any("stopping after" in x for x in said), said
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_two_runs_on_one_output_the_second_refuses_before_any_work(
    long_clip: Path, tmp_path: Path
) -> None:
    """A second run onto an output a live run is writing says so in one sentence and
    touches nothing; the first run's file is whole and its own (red, not blue)."""
    out = tmp_path / "same.mp4"
    first = start(long_clip, out, False, "-b", "#ff0000")
    try:
        wait_until_writing(first, out)
        # Held still while the second run starts, so it cannot finish first however fast
        # or slow either one is.
        first.send_signal(signal.SIGSTOP)
        second = subprocess.run(
            command(long_clip, out, "-b", "#0000ff"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        said = second.stderr.strip().splitlines()
        assert len(said) == 1 and "Another livematte run" in said[0] and str(out) in said[0]
        assert len(partials(out)) == 1 and not out.exists()
    finally:
        first.send_signal(signal.SIGCONT)
        first.send_signal(signal.SIGINT)
    code, err = finish(first)
    assert code == 130, err
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame[0:8, 0:8, 0].mean() > 150 and frame[0:8, 0:8, 2].mean() < 100  # red, A's
    assert partials(out) == [] and not list(tmp_path.glob(".*livematte-lock"))


@pytest.mark.slow
def test_a_crashed_run_leaves_no_stuck_lock_and_its_partial_is_cleared(
    long_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    crashed = start(long_clip, out)
    wait_until_writing(crashed, out)
    crashed.kill()  # SIGKILL: no handler runs, the partial file stays behind
    crashed.communicate()
    assert len(partials(out)) == 1
    short = write_clip(tmp_path / "short.mp4", frames=3, audio=None)
    again = subprocess.run(
        command(short, out),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert video_info(out)["frames"] == 3 and partials(out) == []


# ---- an interrupted run onto an existing output ------------------------------------------


def stop_once_writing(stop: StopRequest, folder: Path, frames: int = 5) -> threading.Thread:
    """Set ``stop`` once a partial output in ``folder`` holds some frames (a file that has
    grown, or a folder with ``frames`` pictures); a thread, started."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for partial in (p for p in folder.iterdir() if "livematte-partial" in p.name):
                done = (
                    len(list(partial.iterdir())) >= frames
                    if partial.is_dir()
                    else (partial.stat().st_size > 20_000)
                )
                if done:
                    stop.set("SIGINT")
                    return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def test_a_stopped_run_leaves_the_earlier_file_whole_and_keeps_its_part_beside(
    long_clip: Path, tmp_path: Path
) -> None:
    keep = write_clip(tmp_path / "keep.mp4", frames=5, audio=None)
    before = digest(keep)
    stop = StopRequest()
    watcher = stop_once_writing(stop, tmp_path)
    report = process_video(long_clip, keep, stop=stop)
    watcher.join()
    assert report.interrupted
    assert digest(keep) == before  # the earlier file, untouched
    part = tmp_path / "keep.partial.mp4"
    assert 0 < video_info(part)["frames"] == report.frames < FRAMES  # a playable part
    said = "\n".join(report.summary_lines())
    assert f"kept {report.frames} frames to {part}" in said
    assert f"{keep} was left as it was" in said and str(part) in said
    assert leftovers(tmp_path) == []


def test_a_second_stopped_run_takes_the_next_free_name(long_clip: Path, tmp_path: Path) -> None:
    keep = write_clip(tmp_path / "keep.mp4", frames=5, audio=None)
    (tmp_path / "keep.partial.mp4").write_bytes(b"an earlier stopped run")
    stop = StopRequest()
    watcher = stop_once_writing(stop, tmp_path)
    report = process_video(long_clip, keep, stop=stop)
    watcher.join()
    assert (tmp_path / "keep.partial.mp4").read_bytes() == b"an earlier stopped run"
    assert video_info(tmp_path / "keep.partial-2.mp4")["frames"] == report.frames


@pytest.mark.slow
def test_a_stopped_run_onto_a_folder_of_frames_leaves_that_folder_whole(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=100, audio=None)
    short = write_clip(tmp_path / "short.mp4", frames=3, audio=None)
    frames = tmp_path / "frames"
    process_video(short, frames)
    before = {p.name: p.read_bytes() for p in frames.iterdir()}
    stop = StopRequest()
    watcher = stop_once_writing(stop, tmp_path)
    report = process_video(clip, frames, stop=stop)
    watcher.join()
    assert report.interrupted
    assert {p.name: p.read_bytes() for p in frames.iterdir()} == before
    part = tmp_path / "frames.partial"
    assert len(list(part.glob("*.png"))) == report.frames
    assert any(f"{frames}/ was left as it was" in line for line in report.summary_lines())


@pytest.mark.slow
def test_ctrl_c_onto_an_existing_file_keeps_it(long_clip: Path, tmp_path: Path) -> None:
    """The steps a user takes: a finished keep.mp4, a run onto it, Ctrl-C."""
    keep = write_clip(tmp_path / "keep.mp4", frames=5, audio=None)
    before = digest(keep)
    process = start(long_clip, keep)
    wait_until_writing(process, keep)
    process.send_signal(signal.SIGINT)
    rc, err = finish(process)
    assert rc == 130, err
    assert digest(keep) == before
    part = tmp_path / "keep.partial.mp4"
    assert video_info(part)["frames"] > 0
    assert str(part) in err and f"{keep} was left as it was" in err
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("camera", [True, False], ids=["camera", "file played live"])
def test_a_stopped_live_recording_finishes_a_camera_and_keeps_a_files_part_beside(
    tmp_path: Path, camera: bool
) -> None:
    """A camera has no end: stopping is how its recording finishes, so it replaces the
    earlier file. A file played with --live stopped early is a part, kept beside it."""
    import numpy as np
    from live_fakes import CameraScript, ScriptedCapture

    from livematte.config import Config
    from livematte.frame import Frame
    from livematte.io.camera import CameraSource, RealTimeFileSource
    from livematte.io.open import open_live_outputs
    from livematte.io.sinks import PixelFormat
    from livematte.io.sources import VideoFileSource

    earlier = write_clip(tmp_path / "rec.mp4", frames=2, audio=None)
    before = digest(earlier)
    played = write_clip(tmp_path / "talk.mp4", frames=5, width=64, height=48, audio=None)
    source = (
        CameraSource("0", opener=CameraScript([ScriptedCapture(5, (0, 0, 255), size=(64, 48))]))
        if camera
        else RealTimeFileSource(VideoFileSource(played))
    )
    try:
        outputs = open_live_outputs("0" if camera else str(played), str(earlier), source,
                                    Config(), overlay=list)  # fmt: skip
        (sink,) = outputs.pictures
        sink.use(PixelFormat("rgb"))
        for index in range(3):
            rgb = np.full((48, 64, 3), 200, np.uint8)
            sink.write(Frame(rgb, index, pts=index * 40, time_base=Fraction(1, 1000)), rgb)
        outputs.close(keep=True, complete=False)
    finally:
        source.close()
    part = tmp_path / "rec.partial.mp4"
    if camera:
        assert video_info(earlier)["frames"] == 3 and not part.exists()
    else:
        assert digest(earlier) == before and video_info(part)["frames"] == 3
