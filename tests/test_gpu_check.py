"""livematte.gpu_check without a GPU: its arguments, its table, and its fast failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from livematte import gpu_check

MODULE = [sys.executable, "-m", "livematte.gpu_check"]
# The path the project's instructions name: a wrapper over the module.
WRAPPER = [sys.executable, str(Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py")]


def test_defaults_cover_every_size_within_an_eight_minute_slot():
    args = gpu_check.parse_args([])
    assert args.resolutions == ["720p", "1080p", "4k"]
    assert args.time_limit < 8 * 60 and not args.no_venv and not args.inner
    assert gpu_check.parse_args(["--resolutions", "4K,720p"]).resolutions == ["4k", "720p"]


@pytest.mark.parametrize("argv", [["--resolutions", "8k"], ["--frames", "0"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        gpu_check.parse_args(argv)
    assert raised.value.code == 2
    assert "error:" in capsys.readouterr().err


ROWS = [
    {
        "case": "cuda fp32",
        "resolution": "720p",
        "provider": "CUDAExecutionProvider",
        "ok": True,
        "load_s": 1.25,
        "first_s": 0.5,
        "median_ms": 2.345,
        "p90_ms": 2.5,
        "fps": 426.4,
    },
    {"case": "tensorrt fp16", "resolution": "4k", "ok": False, "skipped": True, "note": "time"},
]


def test_table_has_a_row_per_case_with_units_and_dashes():
    table = gpu_check.format_table({"environment": "onnxruntime-gpu 1.31.1", "rows": ROWS})
    lines = table.splitlines()
    assert lines[0] == "livematte GPU check: onnxruntime-gpu 1.31.1"
    assert lines[1].startswith("case") and "provider that ran" in lines[1]
    assert lines[1].endswith("load s  1st frame s  median ms  p90 ms  fps")
    cuda = lines[3].split()
    assert cuda == [
        "cuda",
        "fp32",
        "720p",
        "CUDAExecutionProvider",
        "yes",
        "1.2",
        "0.50",
        "2.35",
        "2.50",
        "426.4",
    ]
    assert lines[4].split()[:5] == ["tensorrt", "fp16", "4k", "-", "NO"]
    assert lines[-1] == "  tensorrt fp16 4k: time"


def test_exit_status_says_which_failure():
    assert gpu_check.exit_status({"rows": ROWS}) == 0  # the skipped case does not count
    assert gpu_check.exit_status({"rows": [{**ROWS[0], "ok": False}]}) == 1
    assert gpu_check.exit_status({"rows": [], "no_cuda": True}) == 2
    assert gpu_check.exit_status({"rows": []}) == 1


@pytest.mark.parametrize("command", [MODULE, WRAPPER], ids=["module", "wrapper"])
def test_without_cuda_it_stops_at_once_with_the_reason(tmp_path, command):
    env = {**os.environ, "OUT": str(tmp_path)}
    done = subprocess.run(
        [*command, "--no-venv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "FAILED: no CUDA provider loads: " in done.stdout
    assert (tmp_path / "gpu_check.txt").read_text().strip() == done.stdout.strip()


@pytest.mark.slow
def test_cpu_dry_run_goes_through_every_step_and_reads_the_run_summary(tmp_path):
    """The same code as on a GPU, on the CPU: loads, timing, the full run and its summary."""
    env = {**os.environ, "OUT": str(tmp_path)}
    argv = ["--no-venv", "--cpu-dry-run", "--frames", "1", "--resolutions", "720p"]
    done = subprocess.run(
        [*MODULE, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    cases = [(row["case"], row["provider"], row["ok"]) for row in results["rows"]]
    assert cases == [
        ("cpu fp32", "CPUExecutionProvider", True),
        ("built-in selfie cpu", "CPUExecutionProvider", True),
        ("livematte run rvm_sized.onnx cpu", "CPUExecutionProvider", True),
    ]
    assert results["rows"][1]["median_ms"] > 0 and results["rows"][2]["fps"] > 0
