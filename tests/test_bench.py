"""``livematte bench``: the table, the JSON and the plot a user asks for (no timing asserted)."""

from __future__ import annotations

import json
import sys

import cv2
import pytest
from conftest import write_clip

from livematte.bench import ROWS
from livematte.cli import main

STAGES = {"decode_wait", "model", "temporal", "refine", "composite", "processing", "encode"}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("bench") / "tiny.mp4", frames=12, audio=None)


@pytest.mark.slow
def test_bench_prints_table_and_writes_json_and_plot(tiny_clip, tmp_path, capsys):
    json_path, plot_path, encoded = tmp_path / "b.json", tmp_path / "b.png", tmp_path / "o.mp4"
    argv = ["bench", str(tiny_clip), "-o", str(encoded), "--json", str(json_path)]
    status = main([*argv, "--plot", str(plot_path), "-b", "#00ff00"])
    assert status == 0

    results = json.loads(json_path.read_text())
    assert results["frames"] == 12
    assert results["provider"] == "CPUExecutionProvider"  # the built-in model on onnxruntime
    assert results["quality"] == "fast"  # auto on a CPU
    assert (results["width"], results["height"]) == (320, 180)
    assert set(results["stages"]) == STAGES
    assert list(results["stages"]) == [name for name in ROWS if name in STAGES]
    for figures in results["stages"].values():
        assert 0 < figures["median_ms"] <= figures["p95_ms"]
        assert figures["frames"] == 12
    assert results["fps"] > 0 and results["cpu_ms_per_frame"] > 0
    assert results["peak_rss_mb"] >= results["rss_end_mb"] > 10
    assert encoded.is_file()  # -o encodes for real, so the encode stage is measured

    table = capsys.readouterr().out
    for name in STAGES:
        assert any(line.split()[:1] == [name] for line in table.splitlines()), name
    assert "fps" in table and "CPU" in table and "peak" in table
    # The reader's figure is what it is: the wait for the decoder's next frame, said so.
    assert "decode" not in results["stages"]
    assert any(
        line.startswith("decode_wait:") and "own threads" in line for line in table.splitlines()
    )

    image = cv2.imread(str(plot_path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100


def test_bench_stops_after_frames_and_skips_encode_for_null(tiny_clip, tmp_path):
    json_path = tmp_path / "b.json"
    assert main(["bench", str(tiny_clip), "--frames", "5", "--json", str(json_path)]) == 0
    results = json.loads(json_path.read_text())
    assert results["frames"] == 5
    assert "encode" not in results["stages"]  # output null: nothing was encoded
    assert results["stages"]["model"]["frames"] == 5


def test_bench_refuses_negative_frames(tiny_clip, capsys):
    assert main(["bench", str(tiny_clip), "--frames", "-1"]) == 2
    assert "--frames" in capsys.readouterr().err


def test_bench_never_writes_over_its_input(tiny_clip, capsys):
    before = tiny_clip.read_bytes()
    assert main(["bench", str(tiny_clip), "-o", str(tiny_clip)]) == 2
    assert tiny_clip.read_bytes() == before


def test_plot_without_matplotlib_names_the_extra_before_any_work(
    tiny_clip, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    report = tmp_path / "b.json"
    argv = ["bench", str(tiny_clip), "--json", str(report), "--plot", str(tmp_path / "b.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pip install 'livematte[plot]'" in err and "Traceback" not in err
    assert not report.exists()  # refused before the run, not after it
