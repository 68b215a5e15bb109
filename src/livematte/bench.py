"""``livematte bench``: where the time of a file run goes, stage by stage.

Runs the real offline pipeline (same threads, same stages, same encoder) on a clip and
reports, per stage, the median and 95th percentile milliseconds per frame, plus end-to-end
frames per second, CPU time per frame (all threads) and memory (peak, and resident set at
the start and end of the run so growth shows). Timing is measured, never asserted: the
figures are for people and for ``benchmarks/``, not for tests.
"""

from __future__ import annotations

import importlib.util
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .errors import UserError
from .io.json_file import write_json
from .io.open import open_outputs, open_source
from .run.flag_scope import RunFacts
from .run.interrupt import StopRequest
from .run.offline import run_offline
from .run.request import API, Request, check_request
from .stages import STAGE_NAMES, Stages

# Rows of the table in this order; "processing" is everything between decode and encode.
# What the decode row measures (the JSON key and the table say the same).
DECODE_NOTE = (
    "decode_wait: the reader's wait for each decoded frame; FFmpeg decodes on its own "
    "threads, whose CPU is in the CPU line below"
)
ROWS = (*STAGE_NAMES[:-1], "processing", STAGE_NAMES[-1])
_PAGE = 4096


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class _MemorySampler(threading.Thread):
    """Resident memory every ``period`` seconds, so growth over a long clip is visible."""

    def __init__(self, period: float = 0.25) -> None:
        super().__init__(name="livematte-bench-memory", daemon=True)
        self.period = period
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append(rss_mb())
            self._done.wait(self.period)

    def stop(self) -> list[float]:
        self._done.set()
        self.join()
        self.samples.append(rss_mb())
        return self.samples


def run_bench(
    input: str,
    config: Config,
    frames: int = 0,
    output: str = "null",
    *,
    request: Request = API,
    side_files: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Run the file pipeline on ``input`` and return the figures (see module docstring);
    ``side_files`` are the files the caller writes from them (checked first, as outputs)."""
    facts = RunFacts(output=output, video_input=True)
    check_request(request, config, facts, [input], output, side_files=side_files)
    source = open_source(input)
    try:
        stages = Stages(config)
        try:
            # Load the model outside the timed run: start-up is not per-frame cost.
            stages.matter.infer(np.zeros((source.height, source.width, 3), np.uint8))
            stages.reset()
            sampler = _MemorySampler()
            sampler.start()
            try:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                with StopRequest() as stop:
                    outputs = open_outputs(
                        input, output, source, config, transparent=stages.transparent
                    )
                    report = run_offline(source, stages, outputs, config, stop, max_frames=frames)
                cpu = time.process_time() - cpu0
                wall = time.perf_counter() - wall0
            finally:
                memory = sampler.stop()  # also when the run fails: no thread left behind
        finally:
            stages.close()
    finally:
        source.close()
    count = max(report.frames, 1)
    # Skip the first quarter of samples: imports and buffers settle there.
    settled = memory[len(memory) // 4 :] or memory
    # Every field of the run's report (as run --stats-json writes it), then the bench's own.
    return {
        **report.to_dict(),
        "input": str(input),
        "output": output,
        "width": source.width,
        "height": source.height,
        "frames": report.frames,
        "seconds": wall,
        "fps": report.frames / wall if wall > 0 else 0.0,
        "cpu_ms_per_frame": cpu * 1000.0 / count,
        "cpu_percent": 100.0 * cpu / wall if wall > 0 else 0.0,
        # The kernel's high-water mark lags its per-thread RSS counters by a few pages, so
        # it can read below a sample taken just before: the peak is at least every sample.
        "peak_rss_mb": max(peak_rss_mb(), *memory),
        "rss_start_mb": settled[0],
        "rss_end_mb": settled[-1],
        "model_skipped": report.extra.get("model_skipped", 0),
        "stages": {name: report.stages[name] for name in ROWS if name in report.stages},
    }


def format_table(results: dict[str, Any]) -> str:
    """The per-stage table and the summary lines, as printed by ``livematte bench``."""
    lines = [
        f"{results['input']}: {results['frames']} frames at "
        f"{results['width']}x{results['height']}, {results['model']} on {results['provider']}"
        + (f" (quality {results['quality']})" if results.get("quality") else "")
        + f", output {results['output']}",
        f"{'stage':<12}{'median ms':>11}{'p95 ms':>10}",
    ]
    for name, figures in results["stages"].items():
        lines.append(f"{name:<12}{figures['median_ms']:>11.2f}{figures['p95_ms']:>10.2f}")
    if "decode_wait" in results["stages"]:
        lines.append(DECODE_NOTE)
    lines += [
        f"end to end: {results['fps']:.1f} fps ({results['seconds']:.2f} s)",
        f"CPU: {results['cpu_ms_per_frame']:.1f} ms per frame ({results['cpu_percent']:.0f}% "
        "of one core)",
        f"memory: peak {results['peak_rss_mb']:.0f} MiB, resident {results['rss_start_mb']:.0f} "
        f"→ {results['rss_end_mb']:.0f} MiB over the run",
    ]
    if results["model_skipped"]:
        lines.append(f"model skipped on {results['model_skipped']} still frame(s)")
    return "\n".join(lines)


def write_plot(results: dict[str, Any], path: str | Path) -> None:
    """A bar chart of median (bar) and p95 (whisker) ms per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["stages"])
    medians = [results["stages"][n]["median_ms"] for n in names]
    p95 = [results["stages"][n]["p95_ms"] for n in names]
    errors = [[0.0] * len(names), [max(0.0, p - m) for p, m in zip(p95, medians, strict=True)]]
    colours = ["tab:orange" if n == "processing" else "tab:blue" for n in names]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        axes.bar(names, medians, yerr=errors, capsize=4, color=colours)
        axes.set_ylabel("ms per frame (median, whisker to p95)")
        axes.set_title(
            f"{Path(results['input']).name} {results['width']}x{results['height']}: "
            f"{results['fps']:.1f} fps, {results['cpu_ms_per_frame']:.1f} ms CPU/frame"
        )
        for x, value in enumerate(medians):
            axes.annotate(f"{value:.1f}", (x, value), ha="center", va="bottom", fontsize=8)
        figure.tight_layout()
        figure.savefig(str(path), dpi=100)
    except OSError as exc:
        raise UserError(f"Cannot write the plot {path} ({exc}); pick a writable path.") from None
    finally:
        plt.close(figure)


def main_bench(
    input: str,
    config: Config,
    frames: int,
    json_path: str | None,
    plot_path: str | None,
    output: str,
    request: Request = API,
) -> int:
    """The ``bench`` command: print the table, optionally write JSON and the plot."""
    if frames < 0:
        raise UserError(f"--frames must be 0 (all) or more, not {frames}.")
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        raise UserError(
            "--plot draws its chart with matplotlib, which is not installed; install it with: "
            "pip install 'livematte[plot]' (or drop --plot)."
        )
    sides = {"--json": json_path, "--plot": plot_path}
    results = run_bench(input, config, frames, output, request=request, side_files=sides)
    print(format_table(results))
    if json_path:
        write_json(json_path, results)
    if plot_path:
        write_plot(results, plot_path)
    return 0
