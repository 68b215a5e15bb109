"""--mirror (the camera's picture flipped, as call apps show it) and --loop (a file played
with --live again and again, as an endless camera), and where each is refused."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import write_clip

from livematte.cli import main
from livematte.config import Config, LiveConfig
from livematte.io import camera
from livematte.io.camera import CameraSource, RealTimeFileSource
from livematte.io.sources import ImageSource, VideoFileSource
from livematte.run import live

RED, BLUE = (0, 0, 255), (255, 0, 0)  # BGR, as OpenCV captures


class SplitCapture:
    """A cv2.VideoCapture look-alike: ``frames`` BGR pictures, red on the left and blue on
    the right, then none; each read waits on nothing but the test."""

    def __init__(self, frames: int = 1000, size: tuple[int, int] = (64, 48)) -> None:
        self.remaining, self.size = frames, size
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self, image: Any = None) -> tuple[bool, np.ndarray | None]:
        if self.remaining <= 0:
            return False, None
        self.remaining -= 1
        width, height = self.size
        bgr = np.empty((height, width, 3), np.uint8)
        bgr[:, : width // 4] = RED
        bgr[:, width // 4 :] = BLUE
        return True, bgr

    def release(self) -> None:
        self.released = True


def left_and_right(rgb: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(rgb[10, 2].tolist()), tuple(rgb[10, -3].tolist())


@pytest.mark.parametrize("mirror", [False, True])
def test_mirror_flips_every_camera_frame_left_to_right(mirror: bool) -> None:
    """The first frame (read while opening) and those read on the camera's thread alike."""
    source = CameraSource("0", opener=lambda target: SplitCapture(), mirror=mirror)
    try:
        source.start()
        frames = []
        while len(frames) < 3:
            frame = source.latest(10.0)
            assert frame is not None, "the camera sent nothing within 10 s"
            frames.append(frame.rgb.copy())
    finally:
        source.close()
    red, blue = (255, 0, 0), (0, 0, 255)  # RGB, as the pipeline sees them
    for rgb in frames:
        assert left_and_right(rgb) == ((blue, red) if mirror else (red, blue))
        # A flip, not a recolour: the red quarter is now on the right.
        assert int((rgb[10] == red).all(axis=1).sum()) == 16


def test_the_mirror_flag_reaches_the_live_camera(monkeypatch: pytest.MonkeyPatch) -> None:
    """--mirror goes from the settings to the camera the live run opens."""
    monkeypatch.setattr(camera, "_open_capture", lambda target: SplitCapture())
    source = live._open_live_source("/dev/video77", LiveConfig(mirror=True))
    try:
        assert isinstance(source, CameraSource) and source.mirror
        source.start()
        frame = source.latest(10.0)
        assert frame is not None
        assert left_and_right(frame.rgb) == ((0, 0, 255), (255, 0, 0))
    finally:
        source.close()


def test_loop_plays_a_file_again_with_time_running_on(tmp_path: Path) -> None:
    """Each pass starts at the file's first frame; index and timestamps keep counting up,
    and the source never ends on its own."""
    clip = write_clip(tmp_path / "talk.mp4", frames=3, width=64, height=48, fps=100, audio=None)
    source = RealTimeFileSource(VideoFileSource(clip), loop=True)
    taken = []
    done = threading.Event()

    def take() -> None:
        while not done.is_set() and source.loops < 3:
            frame = source.latest(0.05)
            if frame is not None:
                taken.append((frame.index, frame.pts, frame.time))
        done.set()

    reader = threading.Thread(target=take, daemon=True)
    reader.start()
    source.start()
    reader.join(timeout=60)  # a hang guard: three passes of 30 ms each
    done.set()
    try:
        assert source.loops >= 3 and not source.ended
        assert source.frames_in >= 9  # three frames a pass, shown or dropped
        indices = [index for index, _, _ in taken]
        times = [time for _, _, time in taken]
        assert indices == sorted(set(indices)) and times == sorted(set(times)), taken
        assert max(times) >= 0.06  # the second pass's frames lie after the first's
    finally:
        source.close()


def test_without_loop_a_live_file_ends_after_one_pass(tmp_path: Path) -> None:
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    source = RealTimeFileSource(ImageSource(image))
    source.start()
    try:
        assert source.latest(10.0) is not None
        source._thread.join(timeout=10)  # type: ignore[union-attr]
        assert source.ended and source.loops == 0
    finally:
        source.close()


def test_loop_and_mirror_reach_the_live_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_clip(tmp_path / "talk.mp4", frames=2, width=64, height=48, audio=None)
    seen: dict[str, Any] = {}

    class Seen(Exception):
        """Raised by the spy once it has what the live run would run with."""

    def spy(input_spec: str, output: str, config: Config, *args: Any, **kwargs: Any) -> None:
        seen["config"] = config
        if input_spec == str(clip):
            seen["source"] = live._open_live_source(input_spec, config.live)
            seen["source"].close()
        raise Seen

    monkeypatch.setattr(live, "run_live", spy)
    with pytest.raises(Seen):
        main(["run", str(clip), "--live", "--loop", "-o", "null"])
    assert isinstance(seen["source"], RealTimeFileSource) and seen["source"].loop
    with pytest.raises(Seen):
        main(["run", "0", "--mirror", "-o", "null", "--no-control"])
    assert seen["config"].live.mirror and not seen["config"].live.loop


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["FILE", "-o", "OUT", "--mirror"], ["--mirror", "reads a file", "drop it"]),
        (["FILE", "--live", "-o", "null", "--mirror"], ["--mirror", "reads a file"]),
        (["FILE", "-o", "OUT", "--loop"], ["--loop", "add --live"]),
        (["0", "-o", "null", "--loop"], ["--loop", "a camera has no end"]),
    ],
    ids=["mirror-file", "mirror-live-file", "loop-file", "loop-camera"],
)
def test_mirror_and_loop_are_refused_where_they_cannot_act(
    argv: list[str], words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = write_clip(tmp_path / "talk.mp4", frames=2, width=64, height=48, audio=None)
    out = tmp_path / "out.mp4"
    argv = [str(clip) if a == "FILE" else str(out) if a == "OUT" else a for a in argv]
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(word in err[0] for word in words), err
    assert not out.exists()
