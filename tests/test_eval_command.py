"""``livematte eval``: the real pipeline scored on small clips, table printed, JSON written."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import person_frames, write_clip

from livematte.cli import main
from livematte.config import Config
from livematte.eval_command import main_eval
from livematte.matting.base import Matte, Matter


def write_frames(root: Path, frames: int, truth: np.ndarray | None = None) -> Path:
    """A clip folder of astronaut frames, with ``truth`` as every frame's mask when given."""
    (root / "images").mkdir(parents=True)
    if truth is not None:
        (root / "masks").mkdir()
    for i, rgb in enumerate(person_frames(frames, 160, 96)):
        cv2.imwrite(str(root / "images" / f"{i:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if truth is not None:
            cv2.imwrite(str(root / "masks" / f"{i:05d}.png"), truth)
    return root


class ConstantMatter(Matter):
    """A model that answers the same low-resolution alpha for every frame."""

    name = "constant"
    device = "cpu"

    def __init__(self, value: float) -> None:
        self.value = value
        self.resets = 0

    def infer(self, rgb: np.ndarray) -> Matte:
        return Matte(np.full((24, 40), self.value, np.float32))

    def reset(self) -> None:
        self.resets += 1


def test_eval_prints_table_and_writes_json(tmp_path: Path, capsys):
    clip = write_frames(tmp_path / "astronaut", frames=4, truth=np.zeros((96, 160), np.uint8))
    json_path = tmp_path / "scores.json"
    assert main(["eval", str(clip), "--json", str(json_path)]) == 0
    table = capsys.readouterr().out
    data = json.loads(json_path.read_text())
    row = data["clips"][0]
    assert row["name"] == "astronaut" and row["frames"] == 4 and data["overall"]["frames"] == 4
    assert data["provider"] == "CPUExecutionProvider"  # the built-in model on onnxruntime
    assert "MAD x1e3" in table and "flicker x1e3" in table
    line = next(line for line in table.splitlines() if line.startswith("astronaut"))
    # The printed MAD is the JSON's, and against an empty truth it is the mean alpha: the
    # model found the astronaut, so it is well above zero.
    assert f"{row['mad']:.2f}" in line.split()
    assert row["mad"] > 50 and row["iou"] < 0.5


class ChoosingMatter(ConstantMatter):
    """Like ``--model auto``: its name is its current choice, made once frames arrive."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self.choice = "selfie"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"auto ({self.choice})"

    def infer(self, rgb: np.ndarray) -> Matte:
        self.choice = "pose"
        return super().infer(rgb)


def test_eval_json_names_what_ran_not_the_choice_before_the_clips(tmp_path: Path, capsys):
    clip = write_frames(tmp_path / "wide", frames=2)
    path = tmp_path / "scores.json"
    assert main_eval([str(clip)], Config(), str(path), matter=ChoosingMatter()) == 0
    data = json.loads(path.read_text())
    assert data["clips"][0]["model"] == "auto (pose)"
    assert data["model"] == "auto" and data["models"] == ["auto (pose)"]
    assert "model auto ran on" in capsys.readouterr().err


def test_eval_scores_what_the_pipeline_outputs(tmp_path: Path, capsys):
    clip = write_frames(tmp_path / "c", frames=3, truth=np.full((96, 160), 255, np.uint8))
    results = {}
    for value in (1.0, 0.0):
        path = tmp_path / f"{value}.json"
        assert main_eval([str(clip)], Config(), str(path), matter=ConstantMatter(value)) == 0
        results[value] = json.loads(path.read_text())["overall"]
    capsys.readouterr()
    assert results[1.0]["mad"] == pytest.approx(0.0, abs=1e-6) and results[1.0]["iou"] == 1.0
    assert results[0.0]["mad"] == pytest.approx(1000.0) and results[0.0]["iou"] == 0.0


def test_eval_video_without_truth_gives_flicker_only(tmp_path: Path, capsys):
    video = write_clip(tmp_path / "talk.mp4", frames=6, width=160, height=96, audio=None)
    assert main(["eval", str(video)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("talk"))
    cells = line.split()
    assert cells[1] == "6" and cells[2] == "-"  # frames, then IoU not measurable
    assert cells[-2] != "-"  # flicker measured


def test_eval_of_a_missing_clip_is_a_one_line_error(tmp_path: Path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("livematte:") and "does not exist" in err and "\n" not in err
