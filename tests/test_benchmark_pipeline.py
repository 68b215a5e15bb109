"""benchmarks/pipeline.py without mediapipe: its comparison with the tutorial loop says so
in one sentence and exits 2, before any work."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pipeline.py"


def test_without_mediapipe_it_says_what_to_install_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("mediapipe") is not None:
        pytest.skip("mediapipe is installed here, so the benchmark would run")
    spec = importlib.util.spec_from_file_location("pipeline", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["pipeline.py", str(tmp_path / "clip.mp4")])
    assert module.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install mediapipe==0.10.21" in err[0], err
    assert not list(tmp_path.iterdir())
