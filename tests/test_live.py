"""The live path: newest frame wins, a camera that leaves and comes back, the virtual camera,
the preview and key controls, the statistics, and the one-line fixes for missing devices."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import write_clip
from live_fakes import (
    FAKE_BACKEND,
    BrightMatter,
    CameraScript,
    ClosedCapture,
    FakeGui,
    FakeVirtualCamera,
    GateMatter,
    HalfMatter,
    ScriptedCapture,
    ScriptedKeys,
    moving_square_frames,
    square_truth,
    stop_when,
    wait_for,
    write_square_clip,
)

from livematte.carry import MatteCarrier
from livematte.cli import main
from livematte.config import Config
from livematte.controls import DEFAULT_COLOUR, LiveControls, TerminalKeys
from livematte.errors import UserError
from livematte.frame import Frame
from livematte.io import camera as camera_module
from livematte.io.camera import CameraSource, RealTimeFileSource
from livematte.io.preview import PreviewWindow
from livematte.io.sinks import Sink
from livematte.io.sources import VideoFileSource
from livematte.io.vcam import MODPROBE_FIX
from livematte.run.interrupt import StopRequest
from livematte.run.live import LiveDriver, run_live
from livematte.run.model_thread import ModelThread
from livematte.run.report import LatencyHistogram
from livematte.stages import Stages

GREEN = (0, 255, 0)
BLUE_BGR = (255, 0, 0)  # what OpenCV delivers for a pure blue picture
RED_BGR = (0, 0, 255)


class Recorder(Sink):
    """Keeps a copy of every frame sent (and repeat) with the time it was sent."""

    keepalive = True

    def __init__(self) -> None:
        self.fresh: list[np.ndarray] = []
        self.repeats: list[np.ndarray] = []
        self.times: list[float] = []
        self.events: list[tuple[str, tuple[int, ...]]] = []  # (fresh or repeat, top-left pixel)

    def write(self, frame, image) -> None:
        self._note("fresh", image)

    def repeat(self, image) -> None:
        self._note("repeat", image)

    def _note(self, kind: str, image) -> None:
        (self.fresh if kind == "fresh" else self.repeats).append(image.copy())
        self.times.append(time.perf_counter())
        self.events.append((kind, tuple(image[0, 0])))


def make_config(*backgrounds: str, infer_every: int = 1) -> Config:
    config = Config()
    config.background.specs = list(backgrounds) or ["#00ff00"]
    config.live.infer_every = infer_every
    config.refine.enabled = False
    config.temporal.enabled = False
    return config


def half_stages(config: Config, delay: float = 0.0) -> Stages:
    return Stages(config, matter=HalfMatter(delay))


def play_file(clip: Path, config: Config, stages: Stages, outputs=None) -> LiveDriver:
    """Run the live driver over ``clip`` played in real time, to its end."""
    source = RealTimeFileSource(VideoFileSource(clip))
    driver = LiveDriver(source, stages, outputs or [Recorder()], config.live, StopRequest())
    try:
        driver.run()
    finally:
        driver.close()
        source.close()
    return driver


# --- sources ------------------------------------------------------------------------------


def test_camera_frames_are_rgb_at_the_asked_size_and_format() -> None:
    script = CameraScript([ScriptedCapture(5, BLUE_BGR, size=(64, 48))])
    source = CameraSource("0", size="64x48", fps=30, fourcc="MJPG", opener=script)
    try:
        capture = script.opened[0]
        assert capture.settings[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
        assert capture.settings[cv2.CAP_PROP_FRAME_WIDTH] == 64
        assert capture.settings[cv2.CAP_PROP_FRAME_HEIGHT] == 48
        assert capture.settings[cv2.CAP_PROP_FPS] == 30
        assert (source.width, source.height, source.fps) == (64, 48, 30)
        source.start()
        frame = source.latest(1.0)
        assert frame is not None and frame.rgb.shape == (48, 64, 3)
        assert tuple(frame.rgb[0, 0]) == (0, 0, 255)  # blue, in RGB order
        assert frame.captured_at > 0
    finally:
        source.close()


def test_camera_that_never_opens_lists_the_cameras_that_exist(monkeypatch) -> None:
    monkeypatch.setattr(camera_module, "available_cameras", lambda: ["/dev/video0", "/dev/video2"])
    with pytest.raises(UserError) as error:
        CameraSource("7", opener=CameraScript([ClosedCapture()]))
    message = str(error.value)
    assert "Camera 7 cannot be opened" in message
    assert "/dev/video0, /dev/video2" in message


def test_bad_camera_size_is_refused() -> None:
    with pytest.raises(UserError, match="WIDTHxHEIGHT"):
        CameraSource("0", size="720p", opener=CameraScript([ScriptedCapture(1, BLUE_BGR)]))


@pytest.mark.slow
def test_a_slow_model_never_holds_the_loop(tmp_path: Path) -> None:
    """The model blocks (after its warm-up) until released: the frames keep going out."""
    clip = write_clip(tmp_path / "in.mp4", frames=30, fps=30, audio=None)
    config = make_config()
    matter = GateMatter()
    stages = Stages(config, matter=matter)
    source = RealTimeFileSource(VideoFileSource(clip))
    recorder = Recorder()
    driver = LiveDriver(source, stages, [recorder], config.live, StopRequest())
    blocked: list[tuple[int, int]] = []  # (frames sent, model runs) before the release

    def release() -> None:  # once the source has played out, note what went out, release
        wait_for(lambda: source.ended, limit=20.0)
        blocked.append((len(recorder.fresh), driver.model_runs))
        matter.release.set()

    watcher = threading.Thread(target=release, daemon=True)
    watcher.start()
    try:
        driver.run()
    finally:
        matter.release.set()
        watcher.join(5.0)
        driver.close()
        source.close()
    ((sent, runs),) = blocked
    assert matter.entered.is_set() and runs == 0  # the model was stuck all along...
    # ... and yet the frames the source delivered went out (none waited for the model).
    assert sent >= driver.frames_out - 1 and driver.frames_out >= 20
    assert driver.frames_out == source.frames_in - source.frames_dropped


def test_file_played_live_runs_at_its_own_rate(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=15, fps=30, audio=None)
    source = RealTimeFileSource(VideoFileSource(clip))
    arrivals = []
    try:
        for frame in source:
            arrivals.append((frame.index, frame.captured_at))
    finally:
        source.close()
    assert source.frames_in == 15
    assert len(arrivals) >= 12  # a frame decoded too late on a busy machine is dropped
    first_index, first_time = arrivals[0]
    for index, when in arrivals:
        assert abs((when - first_time) - (index - first_index) / 30) < 0.05
    assert arrivals[-1][1] - first_time > 0.3  # real time, not as fast as decoding


# --- a camera that disappears and returns -------------------------------------------------


@pytest.mark.slow
def test_unplugged_camera_keeps_the_output_going_and_resumes(monkeypatch) -> None:
    monkeypatch.setattr(camera_module, "RETRY_SECONDS", 0.05)
    first = ScriptedCapture(10, BLUE_BGR)
    back = ScriptedCapture(10, RED_BGR)
    # Unplugged: two reopen attempts fail before the camera is back.
    script = CameraScript([first, ClosedCapture(), ClosedCapture(), back])
    source = CameraSource("0", opener=script)
    config = make_config()
    stages = half_stages(config)
    stages.reset = _count_calls(stages.reset)  # type: ignore[method-assign]
    recorder = Recorder()
    stop = StopRequest()
    driver = LiveDriver(source, stages, [recorder], config.live, stop)
    driver.controls.mode = "passthrough"  # compare the camera's own pictures
    watcher = stop_when(stop, lambda: back.remaining == 0 and len(recorder.fresh) >= 19)
    try:
        driver.run()
    finally:
        watcher.join()
        source.close()
    assert first.released
    assert source.reconnects == 1
    assert stages.reset.calls == 2  # type: ignore[attr-defined]  # after the warm-up, at return
    blue, red = (0, 0, 255), (255, 0, 0)
    first_red = recorder.events.index(("fresh", red))
    before, after = recorder.events[:first_red], recorder.events[first_red:]
    assert before[:10] == [("fresh", blue)] * 10
    # While the camera was gone, the last picture (blue) went out again and again...
    assert len(before) >= 13 and set(before[10:]) == {("repeat", blue)}
    # ... until the camera's new pictures (red) came through.
    assert after.count(("fresh", red)) == 10
    gaps = np.diff(recorder.times)
    assert gaps.max() < 0.5  # the consumer never waited long for a frame (slack for load)


def _count_calls(fn):
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return fn(*args, **kwargs)

    wrapper.calls = 0
    return wrapper


# --- inference every Nth frame ------------------------------------------------------------


def test_infer_every_gives_the_model_at_most_every_nth_frame() -> None:
    """The model thread takes a frame only N frames after the last one it took."""
    config = make_config()
    stages = half_stages(config)
    carrier = MatteCarrier(64, 36)
    thread = ModelThread(stages, carrier, every=3)
    thread.start()
    taken = []
    try:
        for index in range(12):
            frame = Frame(np.zeros((36, 64, 3), np.uint8), index, captured_at=float(index))
            if thread.offer(frame):
                taken.append(index)
                wait_for(lambda i=index: (k := thread.latest()) is not None and k.index == i)
    finally:
        assert thread.close()
    assert taken == [0, 3, 6, 9]
    assert thread.runs == 4


def test_infer_every_on_a_live_run(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=12, fps=30, audio=None)
    config = make_config(infer_every=3)
    stages = half_stages(config)
    driver = play_file(clip, config, stages)
    assert 8 <= driver.frames_out <= 12
    assert 1 <= driver.model_runs <= math.ceil(driver.source.frames_in / 3)
    assert driver.carried == driver.frames_out - driver.model_runs or driver.carried > 0


# --- key controls -------------------------------------------------------------------------


def test_keys_cycle_backgrounds_modes_blur_and_privacy() -> None:
    config = make_config("#ff0000", "#0000ff", "blur:10")
    stages = half_stages(config)
    controls = LiveControls(stages.backgrounds, blur=25)
    assert controls.background.spec == "#ff0000"
    assert controls.press("b") and controls.background.spec == "#0000ff"
    controls.press("b")
    controls.press("b")
    assert controls.background.spec == "#ff0000"  # wrapped around
    assert [controls.press("m") for _ in range(4)] == [
        "mode blur",
        "mode colour",
        "mode passthrough",
        "mode image",
    ]
    controls.press("m")
    assert controls.background is stages.backgrounds[2]  # the list's own blur is reused
    before = controls.blur.strength
    controls.press("+")
    assert controls.blur.strength > before
    controls.press("-")
    controls.press("-")
    assert controls.blur.strength < before
    assert controls.press("p") and controls.privacy
    assert controls.press("p") and not controls.privacy
    assert controls.press("x") is None
    assert controls.press("q") == "quit" and controls.quit


def test_switching_background_swaps_objects_without_rebuilding_them() -> None:
    config = make_config("#ff0000", "#0000ff")
    stages = half_stages(config)
    built = list(stages.backgrounds)
    controls = LiveControls(stages.backgrounds)
    seen = []
    for key in "bmmbmmmm":
        controls.press(key)
        controls.point(stages.compositor)
        seen.append(stages.compositor.background)
    assert all(any(b is o for o in built + [controls.blur, controls.colour]) for b in seen)
    assert stages.backgrounds == built


def test_keys_change_what_is_sent(tmp_path: Path) -> None:
    """Through the driver: b, m to colour, m to passthrough, p to freeze, q to stop."""
    yellow, cyan = (
        _solid_image(tmp_path / "y.png", (255, 255, 0)),
        _solid_image(tmp_path / "c.png", (0, 255, 255)),
    )
    config = make_config(str(yellow), str(cyan))
    stages = half_stages(config)
    script = CameraScript([ScriptedCapture(400, BLUE_BGR, size=(64, 36))])
    source = CameraSource("0", opener=script)
    recorder = Recorder()
    counter = lambda: len(recorder.fresh)  # noqa: E731
    keys = ScriptedKeys([(3, "b"), (6, "m"), (6, "m"), (9, "m"), (12, "p"), (18, "q")], counter)
    stop = StopRequest()
    driver = LiveDriver(source, stages, [recorder], config.live, stop, terminal=keys)  # type: ignore[arg-type]
    try:
        driver.run()
    finally:
        source.close()
    right = [tuple(image[10, 60]) for image in recorder.fresh]
    left = [tuple(image[10, 2]) for image in recorder.fresh]
    assert right[1] == (255, 255, 0)  # first background, yellow
    assert right[4] == (0, 255, 255)  # 'b': the second, cyan
    assert right[7] == DEFAULT_COLOUR  # 'm' twice: colour mode
    assert right[10] == (0, 0, 255) and left[10] == (0, 0, 255)  # passthrough: the raw frame
    assert stop.signal_name == "q"
    assert len(recorder.fresh) <= 20
    frozen = recorder.fresh[12:]
    assert all(np.array_equal(image, recorder.fresh[11]) for image in frozen)


def test_privacy_shows_the_chosen_still_image(tmp_path: Path) -> None:
    config = make_config("#ff0000")
    config.live.privacy_image = str(_solid_image(tmp_path / "away.png", (0, 200, 0)))
    stages = half_stages(config)
    script = CameraScript([ScriptedCapture(400, BLUE_BGR, size=(64, 36))])
    source = CameraSource("0", opener=script)
    recorder = Recorder()
    counter = lambda: len(recorder.fresh)  # noqa: E731
    keys = ScriptedKeys([(3, "p"), (8, "q")], counter)
    driver = LiveDriver(source, stages, [recorder], config.live, StopRequest(), terminal=keys)  # type: ignore[arg-type]
    try:
        driver.run()
    finally:
        source.close()
    assert tuple(recorder.fresh[1][10, 60]) == (255, 0, 0)  # before 'p': the background
    # After 'p': the privacy picture, whole frame, camera pixels hidden.
    assert all((image == (0, 200, 0)).all() for image in recorder.fresh[4:])


def _solid_image(path: Path, rgb: tuple[int, int, int]) -> Path:
    image = np.empty((36, 64, 3), np.uint8)
    image[:] = rgb[::-1]
    cv2.imwrite(str(path), image)
    return path


def test_terminal_keys_read_single_presses_and_restore_the_terminal() -> None:
    termios = pytest.importorskip("termios")
    master, slave = os.openpty()
    stream = os.fdopen(slave, "r")
    try:
        before = termios.tcgetattr(slave)
        keys = TerminalKeys(stream)
        assert keys.start()
        assert not termios.tcgetattr(slave)[3] & termios.ICANON  # no waiting for Enter
        os.write(master, b"bm")
        deadline = time.perf_counter() + 2.0
        pressed: list[str] = []
        while len(pressed) < 2 and time.perf_counter() < deadline:
            pressed += keys.poll()
            time.sleep(0.01)
        keys.close()
        assert pressed == ["b", "m"]
        assert termios.tcgetattr(slave) == before
    finally:
        stream.close()
        os.close(master)


def test_terminal_keys_stay_off_without_a_terminal(tmp_path: Path) -> None:
    with open(tmp_path / "stdin.txt", "w+") as stream:
        assert not TerminalKeys(stream).start()


# --- preview --------------------------------------------------------------------------------


def test_preview_draws_figures_on_a_copy_and_passes_keys_on() -> None:
    gui = FakeGui(keys=iter([ord("b"), -1, 27]))
    window = PreviewWindow(gui)
    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[:, :, 0] = 200  # red, in RGB
    assert window.show(rgb, ["30.0 fps", "ms: model 5.0"]) == "b"
    assert window.show(rgb, ["30.0 fps"]) is None
    assert window.show(rgb, []) == "q"  # Esc
    shown = gui.shown[0]
    assert shown.shape == rgb.shape
    assert tuple(shown[-1, -1]) == (0, 0, 200)  # BGR for the window
    assert not np.array_equal(shown[:30, :60], np.broadcast_to((0, 0, 200), (30, 60, 3)))
    assert rgb[:, :, 1:].max() == 0  # the frame that is sent is untouched


def test_closing_the_preview_window_quits() -> None:
    window = PreviewWindow(FakeGui(close_after=1))
    frame = np.zeros((36, 64, 3), np.uint8)
    assert window.show(frame, []) is None
    assert window.show(frame, []) == "q"


def test_preview_without_a_display_says_so(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(UserError, match="No display"):
        PreviewWindow()


def test_the_preview_names_the_model_and_how_often_it_runs(tmp_path: Path) -> None:
    """With --model auto this is the choice made for the shot (its name says it)."""
    clip = write_clip(tmp_path / "in.mp4", frames=3, fps=30, audio=None)
    config = make_config(infer_every=2)
    driver = play_file(clip, config, half_stages(config))
    first = driver.overlay()[0]
    assert "half 1/2" in first
    assert " Hz" in first and "ms old" in first  # the model's rate and the matte's age


@pytest.mark.slow
def test_preview_output_shows_rate_and_stage_times(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=30, audio=None)
    config = make_config()
    config.live.live = True
    gui = FakeGui()
    stats = run_live(str(clip), "preview", config, StopRequest(), preview_gui=gui, stages=None)
    assert len(gui.shown) >= stats.live.frames_out > 0
    assert gui.destroyed


# --- virtual camera ---------------------------------------------------------------------------


@pytest.fixture
def fake_vcam():
    FakeVirtualCamera.install()
    yield FakeVirtualCamera
    FakeVirtualCamera.uninstall()


@pytest.mark.slow
def test_virtual_camera_gets_rgb_frames_of_the_right_size_at_a_steady_rate(
    tmp_path: Path, fake_vcam
) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=30, fps=30, width=160, height=90, audio=None)
    config = make_config()
    stats = run_live(
        str(clip),
        "vcam",
        config,
        StopRequest(),
        stages=half_stages(config),
        vcam_backend=FAKE_BACKEND,
    )
    (camera,) = fake_vcam.instances
    assert (camera.width, camera.height, camera.fps) == (160, 90, 30)
    assert camera.fourcc == _fourcc("raw ")  # PixelFormat.RGB
    assert camera.closed
    assert len(camera.frames) == stats.live.frames_out >= 27
    assert all(f.dtype == np.uint8 and f.size == 160 * 90 * 3 for f in camera.frames)
    gaps = np.diff(camera.times)
    assert abs(float(np.median(gaps)) - 1 / 30) < 0.008
    image = camera.frames[-1].reshape(90, 160, 3)
    assert tuple(image[45, 150]) == GREEN  # the background, in RGB order


@pytest.mark.slow
def test_virtual_camera_slower_than_the_input_is_paced(tmp_path: Path, fake_vcam) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=30, fps=30, width=160, height=90, audio=None)
    config = make_config()
    config.live.fps = 15
    run_live(str(clip), "vcam", config, StopRequest(), stages=half_stages(config),
             vcam_backend=FAKE_BACKEND)  # fmt: skip
    (camera,) = fake_vcam.instances
    assert camera.fps == 15
    gaps = np.diff(camera.times)
    assert abs(float(np.median(gaps)) - 1 / 15) < 0.012
    assert 12 <= len(camera.frames) <= 18


@pytest.mark.slow
def test_vanished_virtual_camera_is_retried_without_stopping(
    tmp_path: Path, fake_vcam, monkeypatch, caplog
) -> None:
    from livematte.io import vcam

    monkeypatch.setattr(vcam, "REOPEN_SECONDS", 0.05)
    fake_vcam.fail_after = 5
    fake_vcam.refuse_opens = 2
    clip = write_clip(tmp_path / "in.mp4", frames=30, fps=30, width=160, height=90, audio=None)
    config = make_config()
    with caplog.at_level("WARNING", logger="livematte"):
        stats = run_live(str(clip), "vcam", config, StopRequest(), stages=half_stages(config),
                         vcam_backend=FAKE_BACKEND)  # fmt: skip
    assert stats.live.frames_out == 30 - stats.live.frames_dropped
    assert stats.live.vcam_errors == 1
    assert len(fake_vcam.instances) == 2  # the device came back and got the later frames
    assert len(fake_vcam.instances[1].frames) >= 10
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1


def _fourcc(code: str) -> int:
    from pyvirtualcam.util import encode_fourcc

    return encode_fourcc(code)


# --- the command line ---------------------------------------------------------------------


def test_run_with_a_missing_camera_gives_one_line_and_exit_2(capsys) -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    assert main(["run", "7"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Camera 7 cannot be opened" in err


def test_vcam_without_a_loopback_device_gives_the_modprobe_fix(tmp_path: Path, capsys) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=5, audio=None)
    code = main(["run", str(clip), "--live", "-o", "vcam", "--vcam-device", "/dev/video99"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert MODPROBE_FIX in err
    assert "exclusive_caps=1" in err.split(MODPROBE_FIX, 1)[1]  # the Chrome note


def test_vcam_on_a_machine_without_any_device(tmp_path: Path, capsys) -> None:
    import glob

    if glob.glob("/dev/video*") or os.uname().sysname != "Linux":
        pytest.skip("this machine has video devices, or is not Linux")
    clip = write_clip(tmp_path / "in.mp4", frames=5, audio=None)
    assert main(["run", str(clip), "-o", "vcam"]) == 2
    assert MODPROBE_FIX in capsys.readouterr().err


@pytest.mark.slow
def test_live_run_writes_its_statistics(tmp_path: Path, capsys) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=30, fps=30, audio=None)
    stats_path = tmp_path / "s.json"
    code = main(["run", str(clip), "--live", "-o", "null", "--stats-json", str(stats_path)])
    assert code == 0
    stats = json.loads(stats_path.read_text())
    assert stats["frames_in"] == 30
    assert stats["provider"] == "CPUExecutionProvider"  # the built-in model on onnxruntime
    assert stats["frames_out"] + stats["frames_dropped"] == 30
    assert stats["dropped_percent"] == pytest.approx(100 * stats["frames_dropped"] / 30, abs=0.01)
    latency = stats["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert latency["frames"] == stats["frames_out"]
    assert 0 < stats["output_fps"] < 40
    assert stats["model_runs"] >= 1
    assert {"model", "temporal", "refine", "composite"} <= set(stats["stages"])
    assert stats["stopped_by"] == "end of input"
    err = capsys.readouterr().err
    assert "frames in" in err and "p95" in err


def test_transparent_background_is_refused_live(tmp_path: Path, capsys) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=5, audio=None)
    assert main(["run", str(clip), "--live", "-o", "null", "-b", "transparent"]) == 2
    assert "transparency" in capsys.readouterr().err


@pytest.mark.slow
def test_live_recording_to_a_file(tmp_path: Path) -> None:
    from conftest import video_info

    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=30, audio=None)
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), "--live", "-o", str(out), "-q"]) == 0
    info = video_info(out)
    assert info["width"] == 320 and info["height"] == 180
    assert 10 <= info["frames"] <= 20
    seconds = info["pts_seconds"]
    assert seconds[-1] - seconds[0] == pytest.approx(len(seconds) / 30, abs=0.2)


def test_latency_percentiles() -> None:
    histogram = LatencyHistogram()
    for ms in range(1, 101):
        histogram.add(float(ms))
    assert histogram.percentile(50) == pytest.approx(50, abs=0.1)
    assert histogram.percentile(95) == pytest.approx(95, abs=0.1)
    assert histogram.percentile(99) == pytest.approx(99, abs=0.1)
    assert histogram.summary()["max"] == 100


def test_preview_beside_another_output_without_a_display_is_refused(
    tmp_path: Path, monkeypatch
) -> None:
    """--preview with no display is refused like -o preview, never skipped with a warning."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    clip = write_clip(tmp_path / "in.mp4", frames=10, fps=30, audio=None)
    config = make_config()
    config.live.preview = True
    with pytest.raises(UserError, match="display"):
        run_live(str(clip), "null", config, StopRequest(), stages=half_stages(config))


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_still_writes_the_statistics(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    clip = write_clip(tmp_path / "in.mp4", frames=240, fps=30, width=160, height=90, audio=None)
    stats_path = tmp_path / "s.json"
    command = [sys.executable, "-m", "livematte", "run", str(clip), "--live", "-o", "null"]
    process = subprocess.Popen(
        [*command, "--stats-json", str(stats_path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until the live loop runs (a slow start-up is fine)
        if "stop with q or Ctrl-C" in line:
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    stats = json.loads(stats_path.read_text())
    assert stats["stopped_by"] == "SIGINT"
    assert 0 < stats["frames_in"] < 240
    assert "Traceback" not in err


# --- the matte carried to every frame -------------------------------------------------------


def _iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    mask = alpha > 127
    return float((mask & truth).sum() / max(1, (mask | truth).sum()))


def _play_square(tmp_path: Path, carry: str) -> tuple[dict[int, float], object]:
    """The moving square played live through run_live with a model 2-4 frames slow;
    ``--alpha-out`` PNGs read back and scored against each frame's own truth."""
    clip = write_square_clip(tmp_path / f"square-{carry}.mp4", frames=24)
    config = make_config()
    config.live.live = True
    config.live.carry = carry
    config.output.alpha_out = str(tmp_path / f"alpha-{carry}")
    source = RealTimeFileSource(VideoFileSource(clip))
    matter = BrightMatter(lambda: source.frames_in, lag=2)
    stages = Stages(config, matter=matter)
    report = run_live(str(clip), "null", config, StopRequest(), source=source, stages=stages)
    scores = {}
    for png in sorted(Path(config.output.alpha_out).glob("*.png")):
        alpha = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        scores[int(png.stem)] = _iou(alpha, square_truth(int(png.stem)))
    return scores, report


@pytest.mark.slow
def test_alpha_out_on_live_names_each_sent_frame_by_its_index(tmp_path: Path) -> None:
    scores, report = _play_square(tmp_path, "flow")
    folder = tmp_path / "alpha-flow"
    names = sorted(p.name for p in folder.glob("*.png"))
    assert len(names) == report.live.frames_out  # one per frame sent, none for dropped ones
    assert all(len(Path(n).stem) == 6 for n in names)
    indices = sorted(scores)
    assert indices[0] >= 0 and indices[-1] <= 23 and len(set(indices)) == len(indices)
    assert f"{folder}/ (PNG per frame)" in " ".join(report.mattes)


@pytest.mark.slow
def test_a_stale_matte_on_a_moving_subject_is_carried_to_the_frame(tmp_path: Path) -> None:
    """The model answers 2-4 frames late; each alpha written must still fit its own frame.

    The old driver reused the model's last alpha as it was: the square's old place showed
    as a ghost and its new edge was cut away (IoU about 0.4 at 16 pixels of lag), which the
    ``reuse`` setting reproduces."""
    carried, report = _play_square(tmp_path, "flow")
    assert report.live.frames_carried > len(carried) // 2  # most frames were carried
    matted = [iou for iou in carried.values() if iou > 0]  # before the first matte: none
    assert len(matted) >= len(carried) - 6 and min(matted) > 0.8, carried
    reused, _ = _play_square(tmp_path, "reuse")
    late = [iou for iou in reused.values() if iou > 0]
    assert min(late) < 0.7, reused  # the check does catch a ghost


def test_carrier_follows_motion_and_gives_way_to_the_cheap_matte_on_a_cut() -> None:
    frames = list(moving_square_frames(8))
    carrier = MatteCarrier(160, 96)
    truth = square_truth(0).astype(np.uint8) * 255
    keyframe = carrier.keyframe(0, 0.0, frames[0], truth)
    alpha, carried = carrier.carry(keyframe, carrier.key(frames[4]))
    assert _iou(alpha, square_truth(4)) > 0.9 and not carried.lost
    assert _iou(keyframe.alpha, square_truth(4)) < 0.6  # as it was: 12 px behind
    # A scene cut: nothing of the model's frame is left to follow; the cheap matte wins.
    cut = np.random.default_rng(1).integers(0, 255, (96, 160, 3), dtype=np.uint8)
    cheap = np.zeros((96, 160), np.uint8)
    alpha, carried = carrier.carry(keyframe, carrier.key(cut), cheap)
    assert carried.lost and alpha is cheap


@pytest.mark.slow
def test_live_figures_show_the_model_rate_and_the_matte_age(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=30, audio=None)
    config = make_config()
    driver = play_file(clip, config, half_stages(config))
    page = driver.page_stats()
    assert {"model_hz", "matte_age_ms", "quality_reason"} <= set(page)
    assert page["model_hz"] > 0


@pytest.mark.slow
def test_stats_json_has_the_model_rate_matte_age_and_cpu(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=30, audio=None)
    stats_path = tmp_path / "s.json"
    argv = ["run", str(clip), "--live", "-o", "null", "--stats-json", str(stats_path), "-q"]
    assert main(argv) == 0
    stats = json.loads(stats_path.read_text())
    assert stats["model_hz"] > 0 and stats["model_runs"] >= 1
    assert stats["matte_age_ms"]["frames"] == stats["frames_out"]
    assert stats["cpu_ms_per_frame"] > 0
    assert stats["quality"] in ("fast", "best") and stats["quality_reason"].startswith("auto")


def test_alpha_out_is_refused_for_a_camera_in_one_sentence(capsys) -> None:
    assert main(["run", "0", "-o", "null", "--alpha-out", "mattes"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--alpha-out" in err and "camera" in err


def test_quality_auto_on_a_small_cpu_runs_fast_and_says_why() -> None:
    from livematte.run.live_quality import PROBING, QualityProbe, plan_quality

    config = Config()
    planned, reason = plan_quality(config, cores=2)
    assert planned.model.quality == "fast" and "2 CPU cores" in reason
    planned, reason = plan_quality(config, cores=8)
    assert planned.model.quality == "best" and reason == PROBING
    config.model.quality = "best"
    assert plan_quality(config, cores=2) == (config, "asked for")
    switched: list[tuple[str, str]] = []
    slow = QualityProbe(lambda quality, why: switched.append((quality, why)))
    for seconds in (2.0, 0.5, 0.45, 0.6, 0.5):  # the first run (warm-up) is left out
        slow(seconds)
    assert switched and switched[0][0] == "fast" and "2.0 Hz" in switched[0][1]
    quick = QualityProbe(lambda quality, why: switched.append((quality, why)))
    for seconds in (2.0, 0.2, 0.25, 0.2):
        quick(seconds)
    assert quick.decided and len(switched) == 1 and "Hz" in quick.reason


@pytest.mark.slow
def test_eval_live_scores_the_frames_shown_beside_the_offline_score(tmp_path: Path, capsys) -> None:
    clip = tmp_path / "square"
    (clip / "images").mkdir(parents=True)
    (clip / "masks").mkdir()
    for index, rgb in enumerate(moving_square_frames(20)):
        cv2.imwrite(str(clip / "images" / f"{index:05d}.png"), rgb[:, :, ::-1])
        cv2.imwrite(
            str(clip / "masks" / f"{index:05d}.png"), square_truth(index).astype(np.uint8) * 255
        )
    results = tmp_path / "eval.json"
    assert main(["eval", "--live", str(clip), "--json", str(results), "-q"]) == 0
    out = capsys.readouterr().out
    assert "square live" in out and "square offline, same frames" in out and "square offline" in out
    (entry,) = json.loads(results.read_text())["clips"]
    live = entry["live"]
    assert (
        live["shown"] + live["dropped"] == 20
        and live["shown"] == entry["offline_same_frames"]["frames"]
    )
    assert entry["offline"]["frames"] == 20
    assert entry["live_figures"]["frames_out"] == live["shown"]  # one alpha per frame sent
    assert 0.0 <= live["iou"] <= 1.0 and live["mad"] >= 0.0
