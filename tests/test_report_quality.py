"""The run summary and its JSON name a quality only where --quality chose the matte: under
--model auto. A model the user named (object, a MODNet file) has no quality to report."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from conftest import write_clip

from livematte.cli import main

MODNET_FILE = str(files("livematte") / "models" / "modnet.onnx")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(
        tmp_path_factory.mktemp("quality") / "tiny.mp4", frames=2, width=160, height=96, audio=None
    )


def run(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str):
    stats = tmp_path / "stats.json"
    argv = ["run", str(tiny), "-o", str(tmp_path / "out.mp4"), "--stats-json", str(stats)]
    assert main([*argv, *flags]) == 0
    summary = next(line for line in capsys.readouterr().err.splitlines() if " frames to " in line)
    return summary, json.loads(stats.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("model", ["object", MODNET_FILE], ids=["object", "modnet-file"])
def test_a_named_model_reports_no_quality(
    model: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, data = run(tiny, tmp_path, capsys, "--model", model)
    assert "quality" not in summary and "quality" not in data
    assert data["model"] in summary and data["frames"] == 2


def test_model_auto_reports_the_quality_it_chose(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, data = run(tiny, tmp_path, capsys)
    assert data["quality"] == "fast"  # auto on a CPU
    assert summary.endswith(", quality fast).")
