"""The progress bar: fps and ETA on a terminal, silent in logs and pipes."""

from __future__ import annotations

import io

import pytest

from livematte.run import progress as progress_module
from livematte.run.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_shows_count_fps_and_eta() -> None:
    stream = _Terminal()
    progress = Progress(total=100, enabled=True, stream=stream)
    progress.start -= 2.0  # two seconds in
    progress.update(50)
    progress.close()
    text = stream.getvalue()
    assert "50/100" in text
    assert "25.0 fps" in text  # 50 frames in 2 s
    assert "ETA 0:00:02" in text  # 50 more at 25 fps
    assert text.endswith("\n")  # the bar ends its line, the summary starts clean


def test_hidden_when_not_a_terminal_or_quiet() -> None:
    pipe = io.StringIO()
    Progress(total=10, enabled=True, stream=pipe).update(5)
    assert pipe.getvalue() == ""
    quiet = _Terminal()
    bar = Progress(total=10, enabled=False, stream=quiet)
    bar.update(5)
    bar.close()
    assert quiet.getvalue() == ""


def test_unknown_length_shows_elapsed_time() -> None:
    stream = _Terminal()
    progress = Progress(total=None, enabled=True, stream=stream)
    progress.start -= 1.0
    progress.update(30)
    assert "30 frames" in stream.getvalue() and "ETA" not in stream.getvalue()


def test_eta_at_5_fps_leaves_out_the_slow_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A best run on a CPU: 3 s to load and make the first frame, then 5 frames a second.
    The time left is what the remaining frames take at 5 fps."""
    clock = [100.0]
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: clock[0])
    stream = _Terminal()
    progress = Progress(total=1000, enabled=True, stream=stream)
    clock[0] += 3.0
    progress.update(1)
    assert "ETA -:--:--" in stream.getvalue()  # no rate yet: no guess
    for frame in range(2, 102):
        clock[0] += 0.2
        progress.update(frame)
    line = progress.line()
    assert "101/1000" in line and "5.0 fps" in line
    assert "ETA 0:03:00" in line  # 899 frames at 5 fps: 179.8 s


def test_nothing_out_yet_gives_no_eta() -> None:
    progress = Progress(total=10, enabled=True, stream=_Terminal())
    assert "ETA -:--:--" in progress.line()
