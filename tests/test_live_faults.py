"""Live faults: a model that throws, a camera that throws or leaves, a virtual camera that is
busy. The live loop keeps running, says so once per fault, recovers when it can, and the
video-call app reading the virtual camera keeps getting frames throughout.

Uses the Live engineer's fakes (tests/live_fakes.py): a scripted OpenCV capture and a
pyvirtualcam backend that records frames and can fail on demand. "Never stalls" is checked
as no gap over 0.5 s between frames sent (a blocked device would hold the loop far longer;
the frame period is 33 ms, and a loaded CI machine adds a few hundred ms at worst).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from live_fakes import (
    FAKE_BACKEND,
    CameraScript,
    ClosedCapture,
    FakeVirtualCamera,
    HalfMatter,
    ScriptedCapture,
    stop_when,
)

from livematte.config import Config
from livematte.io import camera as camera_module
from livematte.io import vcam as vcam_module
from livematte.io.camera import CameraSource
from livematte.io.sinks import Sink
from livematte.io.vcam import VirtualCameraSink
from livematte.matting import Matte
from livematte.run.interrupt import StopRequest
from livematte.run.live import LiveDriver
from livematte.stages import Stages

BLUE_BGR, RED_BGR = (255, 0, 0), (0, 0, 255)
BLUE, RED, GREEN = (0, 0, 255), (255, 0, 0), (0, 255, 0)  # as RGB


class Collector(Sink):
    """Every frame the driver sends: fresh or repeat, when, and its left/right pixels."""

    keepalive = True

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
        self.times: list[float] = []

    def write(self, frame: object, image: np.ndarray) -> None:
        self._note("fresh", image)

    def repeat(self, image: np.ndarray) -> None:
        self._note("repeat", image)

    def _note(self, kind: str, image: np.ndarray) -> None:
        self.events.append((kind, tuple(image[0, 0]), tuple(image[0, -1])))
        self.times.append(time.perf_counter())

    def fresh(self) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
        return [e for e in self.events if e[0] == "fresh"]

    def drained(self, capture: ScriptedCapture) -> Callable[[], bool]:
        """True once ``capture`` has no frame left and the driver has gone on to repeats
        (so every frame it could take was processed; a loaded machine may drop some)."""
        return lambda: (
            capture.remaining == 0 and bool(self.events) and (self.events[-1][0] == "repeat")
        )


class FlakyMatter(HalfMatter):
    """HalfMatter (person on the left half) that raises on the given call numbers."""

    def __init__(self, failing_calls: set[int]) -> None:
        super().__init__()
        self.failing_calls = failing_calls

    def infer(self, rgb: np.ndarray) -> Matte:
        matte = super().infer(rgb)  # counts the call
        if self.calls in self.failing_calls:
            raise RuntimeError(f"CUDA error: an illegal memory access (call {self.calls})")
        return matte


class ThrowingCapture(ScriptedCapture):
    """A capture whose read raises once after ``good`` frames, like a driver on unplug."""

    def __init__(self, frames: int, colour: tuple[int, int, int], good: int) -> None:
        super().__init__(frames, colour)
        self.good = good

    def read(self, image: np.ndarray | None = None):  # noqa: ANN201 - OpenCV's shape
        if self.good == 0:
            self.good = -1
            raise RuntimeError("VIDIOC_DQBUF: No such device")
        self.good -= 1
        return super().read(image)


def live_config() -> Config:
    config = Config()
    config.background.specs = ["#00ff00"]
    config.temporal.enabled = False
    config.refine.enabled = False
    return config


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camera_module, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(vcam_module, "REOPEN_SECONDS", 0.05)


@pytest.fixture
def fake_vcam() -> Iterator[type[FakeVirtualCamera]]:
    FakeVirtualCamera.install()
    yield FakeVirtualCamera
    FakeVirtualCamera.uninstall()


def drive(
    source: CameraSource,
    stages: Stages,
    outputs: list[Sink],
    until: Callable[[], bool],
    limit: float = 10.0,
) -> LiveDriver:
    """Run the live loop until ``until()`` holds (or ``limit`` seconds), then stop it."""
    stop = StopRequest()
    driver = LiveDriver(source, stages, outputs, stages.config.live, stop)
    watcher = stop_when(stop, until, limit)
    try:
        driver.run()
    finally:
        watcher.join()
        source.close()
    assert until(), "the live loop stopped making progress"
    return driver


def warnings_about(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and all(w in r.getMessage() for w in words)
    ]


# ---- the model ---------------------------------------------------------------------------


@pytest.mark.slow
def test_model_raising_on_one_frame_keeps_the_stream_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = live_config()
    matter = FlakyMatter(failing_calls={6})  # call 1 is the warm-up
    stages = Stages(config, matter=matter)
    capture = ScriptedCapture(20, BLUE_BGR)
    source = CameraSource("0", opener=CameraScript([capture]))
    out = Collector()
    with caplog.at_level("INFO", logger="livematte"):
        driver = drive(source, stages, [out], until=out.drained(capture))
    # The frames kept going out, the failed one with the last good matte: person on the
    # left (camera blue), background on the right (green), like all the others.
    assert driver.frames_out >= 15
    assert out.fresh() == [("fresh", BLUE, GREEN)] * driver.frames_out
    assert matter.calls > 6  # tried again after the failure
    assert len(warnings_about(caplog, "model failed on a frame")) == 1
    assert "illegal memory access" in warnings_about(caplog, "model failed on a frame")[0]


@pytest.mark.slow
def test_model_failing_for_a_while_logs_once_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = live_config()
    matter = FlakyMatter(failing_calls=set(range(5, 15)))
    stages = Stages(config, matter=matter)
    capture = ScriptedCapture(25, BLUE_BGR)
    source = CameraSource("0", opener=CameraScript([capture]))
    out = Collector()
    with caplog.at_level("INFO", logger="livematte"):
        driver = drive(source, stages, [out], until=out.drained(capture))
    assert driver.frames_out >= 18 and matter.calls > 15
    assert out.fresh() == [("fresh", BLUE, GREEN)] * driver.frames_out
    assert len(warnings_about(caplog, "model failed on a frame")) == 1  # not ten
    recovered = [r.getMessage() for r in caplog.records if "model" in r.getMessage()]
    assert any("again" in m and "10" in m for m in recovered), recovered


def test_model_failing_from_the_start_never_shows_the_real_background() -> None:
    """Without any good matte yet, frames go out as background only, then recover."""
    config = live_config()
    matter = FlakyMatter(failing_calls={2, 3, 4, 5})
    stages = Stages(config, matter=matter)
    capture = ScriptedCapture(12, BLUE_BGR)
    source = CameraSource("0", opener=CameraScript([capture]))
    out = Collector()
    drive(source, stages, [out], until=out.drained(capture))
    fresh = out.fresh()
    first_matted = fresh.index(("fresh", BLUE, GREEN))
    assert first_matted >= 1  # the first frame waited for no good matte in vain...
    assert set(fresh[:first_matted]) == {("fresh", GREEN, GREEN)}  # ... and no camera pixel
    assert set(fresh[first_matted:]) == {("fresh", BLUE, GREEN)}  # leaked out before one


def test_model_failing_for_good_stops_the_run_in_one_sentence_and_keeps_the_recording(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import video_info, write_clip

    from livematte.run import model_thread
    from livematte.run.live import run_live
    from livematte.run.model_thread import ModelFailed

    monkeypatch.setattr(model_thread, "MAX_FAILED_IN_A_ROW", 5)
    clip = write_clip(tmp_path / "in.mp4", frames=60, fps=30, audio=None)
    out = tmp_path / "out.mp4"
    config = live_config()
    config.live.live = True
    matter = FlakyMatter(failing_calls=set(range(8, 1000)))  # works a while, then never
    stages = Stages(config, matter=matter)
    with pytest.raises(ModelFailed) as error:
        run_live(str(clip), str(out), config, StopRequest(), stages=stages)
    message = str(error.value)
    assert "failed on 5 frames in a row" in message and len(message.splitlines()) == 1
    info = video_info(out)  # what was recorded before the model broke, playable
    assert info["frames"] >= 5


@pytest.mark.slow
def test_ctrl_c_while_the_model_is_mid_inference_ends_the_run(tmp_path) -> None:
    """The model never returns; a stop request still ends the run (the loop never waits)."""
    import threading

    from conftest import write_clip
    from live_fakes import GateMatter, wait_for

    from livematte.run.live import run_live

    clip = write_clip(tmp_path / "in.mp4", frames=300, fps=30, audio=None)
    config = live_config()
    config.live.live = True
    matter = GateMatter()  # blocks in every inference after the warm-up
    stages = Stages(config, matter=matter)
    stop = StopRequest()
    reports = []
    runner = threading.Thread(
        target=lambda: reports.append(run_live(str(clip), "null", config, stop, stages=stages)),
        daemon=True,
    )
    runner.start()
    assert wait_for(matter.entered.is_set, limit=20.0)
    stop.set("SIGINT")
    runner.join(10.0)  # guards against a hang only
    alive = runner.is_alive()
    matter.release.set()
    assert not alive and reports and reports[0].stopped_by == "SIGINT"


# ---- the camera -----------------------------------------------------------------------------


@pytest.mark.slow
def test_camera_read_raising_is_treated_as_unplugged(
    fast_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    first = ThrowingCapture(20, BLUE_BGR, good=6)
    back = ScriptedCapture(8, RED_BGR)
    source = CameraSource("0", opener=CameraScript([first, ClosedCapture(), back]))
    stages = Stages(live_config(), matter=HalfMatter())
    out = Collector()
    with caplog.at_level("INFO", logger="livematte"):
        driver = drive(source, stages, [out], until=out.drained(back))
    assert source.reconnects == 1
    assert ("fresh", RED, GREEN) in out.events  # the camera's pictures after it came back
    assert driver.repeats > 0  # the last picture went out again while the camera was gone
    # Logged once for the spell, however many reads and reopens failed in it.
    messages = warnings_about(caplog, "camera 0")
    back_at = messages.index("camera 0 is back")
    assert sum("stopped sending" in m for m in messages[:back_at]) == 1
    assert np.diff(out.times).max() < 0.5


@pytest.mark.slow
def test_virtual_camera_keeps_getting_frames_while_the_camera_is_unplugged(
    fast_retries: None, fake_vcam: type[FakeVirtualCamera]
) -> None:
    """What the video-call app sees: a steady stream, the last picture while unplugged."""
    first, back = ScriptedCapture(10, BLUE_BGR), ScriptedCapture(10, RED_BGR)
    script = CameraScript([first, ClosedCapture(), ClosedCapture(), ClosedCapture(), back])
    source = CameraSource("0", opener=script)
    stages = Stages(live_config(), matter=HalfMatter())
    sink = VirtualCameraSink(source.width, source.height, source.fps, backend=FAKE_BACKEND)
    out = Collector()
    try:
        drive(source, stages, [sink, out], until=out.drained(back))
    finally:
        sink.close()
    (device,) = fake_vcam.instances
    gaps = np.diff(device.times)
    assert gaps.max() < 0.5, "the app reading the virtual camera waited for a frame"
    pixels = [tuple(f.reshape(source.height, source.width, 3)[0, 0]) for f in device.frames]
    first_red = pixels.index(RED)
    assert set(pixels[:first_red]) == {BLUE} and first_red > 10  # repeats of the last picture
    assert source.reconnects == 1


# ---- the virtual camera ---------------------------------------------------------------------


@pytest.mark.slow
def test_busy_virtual_camera_never_stalls_the_loop(
    fast_retries: None, fake_vcam: type[FakeVirtualCamera], caplog: pytest.LogCaptureFixture
) -> None:
    """The device vanishes and stays busy for many reopen attempts: frames keep flowing."""
    fake_vcam.fail_after = 3
    fake_vcam.refuse_opens = 6
    capture = ScriptedCapture(30, BLUE_BGR)
    source = CameraSource("0", opener=CameraScript([capture]))
    stages = Stages(live_config(), matter=HalfMatter())
    sink = VirtualCameraSink(source.width, source.height, source.fps, backend=FAKE_BACKEND)
    out = Collector()
    with caplog.at_level("INFO", logger="livematte"):
        try:
            driver = drive(source, stages, [sink, out],
                           until=out.drained(capture))  # fmt: skip
        finally:
            sink.close()
    assert len(out.fresh()) == driver.frames_out >= 25  # the failing device held none up
    assert np.diff(out.times).max() < 0.5
    assert len(warnings_about(caplog, "virtual camera", "failed")) == 1  # not once per retry
    assert len(fake_vcam.instances) == 2 and fake_vcam.instances[1].frames  # it came back
