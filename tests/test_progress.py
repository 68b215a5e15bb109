"""The progress bar: fps and ETA on a terminal, silent in logs and pipes."""

from __future__ import annotations

import io

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
