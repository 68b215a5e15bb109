"""What a run did: one report for file and live runs, and the live latency histogram.

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
# How the models of --model auto name themselves (matting/auto.py "auto: ...", best.py
# "best: ..."): the only runs whose matte --quality chose.
_QUALITY_CHOSEN = ("auto: ", "best: ")


def quality_of(model: str, quality: str) -> str:
    """The quality a report names for a run of ``model``: --quality's answer under --model
    auto, and "" for a model the user named (modnet, object, a .onnx file), where --quality
    does not apply and a word on it would mislead."""
    return quality if model.startswith(_QUALITY_CHOSEN) else ""


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
class LiveFigures:
    """What only a live run measures (every field is also a top-level key of its JSON)."""

    input_fps: float = 0.0
    frames_in: int = 0  # frames the camera (or the file played in real time) delivered
    frames_out: int = 0  # frames made from a camera frame and sent
    frames_dropped: int = 0  # delivered but never sent: a newer frame replaced them
    frames_repeated: int = 0  # last output sent again to keep a consumer fed (camera gone)
    output_fps: float = 0.0
    infer_every: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    camera_reconnects: int = 0
    vcam_errors: int = 0
    model_hz: float = 0.0  # model runs per second, on its own thread
    # How old the matte carried to each frame sent was: capture of the model's frame to
    # capture of the frame it was sent with (p50, p95, ...; 0 for the cheap model's own).
    matte_age_ms: dict[str, float] = field(default_factory=dict)
    frames_carried: int = 0  # sent with a model matte carried from an older frame
    frames_cheap: int = 0  # sent with the fast model's own matte (motion too large to carry)
    quality_reason: str = ""  # why this quality ran (--quality auto's probe, the page)
    cpu_ms_per_frame: float = 0.0  # CPU time of the whole process per frame sent

    @property
    def dropped_percent(self) -> float:
        return 100.0 * self.frames_dropped / self.frames_in if self.frames_in else 0.0


@dataclass
class RunReport:
    """What a run did, file or live: the summary printed at the end, ``--stats-json``,
    ``bench`` and batch reports all come from this one object."""

    input: str
    output: str
    frames: int = 0  # frames written (file) or made from a camera frame and sent (live)
    seconds: float = 0.0
    model: str = ""
    device: str = ""
    provider: str = ""
    # "fast" (selfie or pose) or "best" (MODNet) under --model auto; "" for another model.
    quality: str = ""
    width: int = 0
    height: int = 0
    interrupted: bool = False
    stopped_by: str = ""
    lost_packets: int = 0
    scene_cuts: int = 0
    model_runs: int = 0
    planar: bool = False
    outputs: list[str] = field(default_factory=list)  # where the pictures went
    # What the outputs did that the run was not asked for (the audio left out, a size
    # changed, an earlier file kept aside): one summary line each.
    notes: list[str] = field(default_factory=list)
    mattes: list[str] = field(default_factory=list)  # where the mattes went
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    live: LiveFigures | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.quality = quality_of(self.model, self.quality)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; a live run's figures sit at the top level too; no
        "quality" where --quality did not choose the model."""
        data = asdict(self)
        live = data.pop("live")
        if not self.quality:
            del data["quality"]
        data["fps"] = round(self.fps, 3)
        data["seconds"] = round(self.seconds, 3)
        if self.live is not None:
            data.update(live)
            data["dropped_percent"] = round(self.live.dropped_percent, 3)
            data["output_fps"] = round(self.live.output_fps, 3)
        return data

    def summary_lines(self) -> list[str]:
        """The lines printed at the end of a run, the same way for every kind of run."""
        where = ", ".join(self.outputs) or "nowhere"
        runs_on = f"{self.model} on {self.device}" + (
            f" ({self.provider})" if self.provider else ""
        )
        if self.quality:
            runs_on += f", quality {self.quality}"
        if self.live is None:
            state = "stopped early, kept" if self.interrupted else "wrote"
            lines = [f"{state} {self.frames} frames to {where} at {self.fps:.1f} fps ({runs_on})."]
        else:
            live = self.live
            lat, age = live.latency_ms, live.matte_age_ms
            every = live.infer_every.get("requested", 1)
            thinned = f", at most every {every} frames" if every > 1 else ""
            lines = [
                f"live: {live.frames_in} frames in, {live.frames_out} out, "
                f"{live.frames_dropped} dropped ({live.dropped_percent:.1f}%), "
                f"{live.frames_repeated} repeated; output {live.output_fps:.1f} fps over "
                f"{self.seconds:.1f} s to {where} ({runs_on}).",
                f"latency capture to send: p50 {lat.get('p50', 0):.1f} ms, p95 "
                f"{lat.get('p95', 0):.1f} ms, p99 {lat.get('p99', 0):.1f} ms; model ran on "
                f"{self.model_runs} frames ({live.model_hz:.1f} Hz{thinned}); matte age p50 "
                f"{age.get('p50', 0):.0f} ms, p95 {age.get('p95', 0):.0f} ms; "
                f"{live.frames_carried} frames carried, {live.frames_cheap} from the fast "
                f"model; CPU {live.cpu_ms_per_frame:.1f} ms per frame.",
            ]
            if self.quality and live.quality_reason:
                lines.append(f"quality {self.quality}: {live.quality_reason}.")
        lines += [f"matte written to {where}." for where in self.mattes]
        lines += self.notes
        if self.lost_packets:
            lines.append(f"{self.lost_packets} damaged packet(s) of the input were skipped.")
        stages = ", ".join(
            f"{name} {value['median_ms']:.1f}" for name, value in self.stages.items()
        )
        lines.append(f"median ms per frame: {stages}.")
        return lines
