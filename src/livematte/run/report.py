"""What a live run measured: frames in, out and dropped, output rate, capture-to-send latency.

Latency goes into a fixed histogram (0.05 ms bins up to 2 s) rather than a list, so a run
of hours costs the same memory as a run of seconds and every frame counts in the
percentiles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

_BIN_MS = 0.05
_MAX_MS = 2000.0


class LatencyHistogram:
    """Percentiles of millisecond values, exact to one bin (0.05 ms)."""

    def __init__(self) -> None:
        self._counts = np.zeros(int(_MAX_MS / _BIN_MS) + 1, np.int64)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, ms: float) -> None:
        index = min(len(self._counts) - 1, max(0, int(ms / _BIN_MS)))
        self._counts[index] += 1
        self.count += 1
        self.total += ms
        self.max = max(self.max, ms)

    def percentile(self, q: float) -> float:
        """The smallest value with at least q% of the samples at or below it (bin centre)."""
        if not self.count:
            return 0.0
        rank = max(1, int(np.ceil(self.count * q / 100.0)))
        index = int(np.searchsorted(np.cumsum(self._counts), rank))
        return min(self.max, (index + 0.5) * _BIN_MS)

    def summary(self) -> dict[str, float]:
        return {
            "p50": round(self.percentile(50), 2),
            "p95": round(self.percentile(95), 2),
            "p99": round(self.percentile(99), 2),
            "mean": round(self.total / self.count, 2) if self.count else 0.0,
            "max": round(self.max, 2),
            "frames": self.count,
        }


@dataclass
class LiveStats:
    """Figures of one live run, printed at exit and written by ``--stats-json``."""

    input: str
    output: str
    model: str = ""
    device: str = ""
    width: int = 0
    height: int = 0
    input_fps: float = 0.0
    frames_in: int = 0  # frames the camera (or the file played in real time) delivered
    frames_out: int = 0  # frames made from a camera frame and sent
    frames_dropped: int = 0  # delivered but never sent: a newer frame replaced them
    frames_repeated: int = 0  # last output sent again to keep a consumer fed (camera gone)
    model_runs: int = 0
    seconds: float = 0.0
    output_fps: float = 0.0
    infer_every: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    camera_reconnects: int = 0
    vcam_errors: int = 0
    stopped_by: str = ""
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def dropped_percent(self) -> float:
        return 100.0 * self.frames_dropped / self.frames_in if self.frames_in else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dropped_percent"] = round(self.dropped_percent, 3)
        data["output_fps"] = round(self.output_fps, 3)
        data["seconds"] = round(self.seconds, 3)
        return data

    def summary_lines(self) -> list[str]:
        lat = self.latency_ms
        stages = ", ".join(
            f"{name} {value['median_ms']:.1f}" for name, value in self.stages.items()
        )
        every = self.infer_every
        return [
            f"live: {self.frames_in} frames in, {self.frames_out} out, {self.frames_dropped} "
            f"dropped ({self.dropped_percent:.1f}%), {self.frames_repeated} repeated; output "
            f"{self.output_fps:.1f} fps over {self.seconds:.1f} s.",
            f"latency capture to send: p50 {lat.get('p50', 0):.1f} ms, p95 "
            f"{lat.get('p95', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms; model ran on "
            f"{self.model_runs} frames (every {every.get('final', 1)}, at most "
            f"{every.get('max_used', 1)}).",
            f"median ms per frame: {stages}.",
        ]
