"""--on-demand: the webcam runs only while another process holds the virtual camera
(a fake /proc tree says who does), with a still "paused" picture meanwhile."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from live_fakes import (
    FAKE_BACKEND,
    CameraScript,
    FakeVirtualCamera,
    HalfMatter,
    ScriptedCapture,
    wait_for,
)

from livematte.cli import main
from livematte.config import Config
from livematte.errors import UserError
from livematte.io.camera import CameraSource
from livematte.run.interrupt import StopRequest
from livematte.run.live import run_live
from livematte.run.on_demand import OnDemandSource, holders, require_linux
from livematte.stages import Stages

DEVICE = "/dev/video-fake"  # what the fake virtual camera reports
OWN_PID = 999


def hold(proc: Path, pid: int, fd: int, target: str = DEVICE) -> Path:
    folder = proc / str(pid) / "fd"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / str(fd)
    os.symlink(target, link)
    return link


def test_holders_come_from_the_fd_links_without_our_own_pid(tmp_path: Path) -> None:
    hold(tmp_path, 10, 3, "/dev/video0")
    hold(tmp_path, 11, 7, DEVICE)
    hold(tmp_path, OWN_PID, 4, DEVICE)
    (tmp_path / "self").mkdir()
    (tmp_path / "12").mkdir()  # a process whose fds cannot be listed
    assert holders(DEVICE, tmp_path, exclude=OWN_PID) == [11]
    assert holders("/dev/video0", tmp_path, exclude=OWN_PID) == [10]
    assert holders(DEVICE, tmp_path / "missing", exclude=OWN_PID) == []


def test_on_demand_is_linux_only_in_one_sentence(monkeypatch, capsys) -> None:
    with pytest.raises(UserError, match="Linux only"):
        require_linux("darwin")
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setattr(
        "livematte.run.live._open_live_source",
        lambda spec, live: _camera(ScriptedCapture(5, (0, 0, 0))),
    )
    assert main(["run", "0", "--on-demand", "--no-control", "-o", "null"]) == 2
    err = capsys.readouterr().err
    assert "Linux only" in err and "Traceback" not in err


def _camera(capture: ScriptedCapture) -> CameraSource:
    return CameraSource("0", opener=CameraScript([capture]))


HANG_S = 60.0  # every wait below is for an event; this only turns a hang into a failure


class GatedOpener:
    """Opens a scripted camera once ``gate`` is set, as some webcams take a while: the test
    decides when the opening ends, so nothing hangs on how fast this machine is."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0
        self.captures: list[ScriptedCapture] = []

    def __call__(self) -> CameraSource:
        self.calls += 1
        assert self.gate.wait(HANG_S), "the test never let the camera open"
        capture = ScriptedCapture(100000, (255, 0, 0), size=(64, 36))
        self.captures.append(capture)
        return _camera(capture)


def _stills(vcam, since: int = 0) -> list[np.ndarray]:
    return list(vcam.frames)[since:]


def _at_most_one_a_half_second(times: list[float]) -> bool:
    """Paused stills come about once a second: never faster (a slow machine only spaces
    them out more, so this holds however loaded it is)."""
    return all(later - earlier >= 0.5 for earlier, later in zip(times, times[1:], strict=False))


@pytest.mark.slow
def test_camera_runs_only_while_the_virtual_camera_is_held(tmp_path: Path) -> None:
    FakeVirtualCamera.install()
    proc = tmp_path / "proc"
    hold(proc, OWN_PID, 5)  # livematte's own descriptor never counts
    opener = GatedOpener()
    source = OnDemandSource(opener, 64, 36, 30.0, proc_root=proc, poll=0.1, own_pid=OWN_PID)
    config = Config()
    config.background.specs = ["#00ff00"]
    config.refine.enabled = config.temporal.enabled = False
    config.live.control = "off"
    stop = StopRequest()
    stages = Stages(config, matter=HalfMatter())
    thread = threading.Thread(
        target=run_live,
        args=("0", "vcam", config, stop),
        kwargs={"source": source, "stages": stages, "vcam_backend": FAKE_BACKEND},
        daemon=True,
    )
    thread.start()
    try:
        vcam = wait_for(lambda: FakeVirtualCamera.instances and FakeVirtualCamera.instances[0])
        assert wait_for(lambda: len(vcam.frames) >= 2, HANG_S)
        paused = _stills(vcam)
        assert opener.calls == 0  # nobody watches: the webcam was never opened
        assert all(np.array_equal(f, paused[0]) for f in paused)
        assert np.median(paused[0]) == 32  # the dark "paused" picture
        assert _at_most_one_a_half_second(list(vcam.times))

        link = hold(proc, 1234, 3)  # a video call opens the virtual camera
        assert wait_for(lambda: opener.calls, HANG_S)
        # While the webcam takes its time to open, the output keeps going.
        sent = len(vcam.frames)
        assert wait_for(lambda: len(vcam.frames) >= sent + 2, HANG_S), "output stalled"
        opener.gate.set()
        green = wait_for(
            lambda: _count(vcam, lambda i: tuple(i[18, 60]) == (0, 255, 0)) > 20, HANG_S
        )
        assert green

        link.unlink()  # the call ends
        assert wait_for(lambda: opener.captures[0].released, HANG_S)
        assert wait_for(lambda: np.array_equal(vcam.frames[-1], paused[0]), HANG_S)
        count = len(vcam.frames)
        assert wait_for(lambda: len(vcam.frames) >= count + 2, HANG_S)
        late = _stills(vcam, count)
        assert all(np.array_equal(f, paused[0]) for f in late)
        assert _at_most_one_a_half_second(list(vcam.times)[count:])
        assert len(opener.captures) == 1  # not opened again while nobody watches
    finally:
        opener.gate.set()
        stop.set("test")
        thread.join(timeout=HANG_S)
        FakeVirtualCamera.uninstall()
    assert not thread.is_alive()


def _count(vcam, test) -> int:
    return sum(1 for f in list(vcam.frames) if test(f.reshape(36, 64, 3)))
