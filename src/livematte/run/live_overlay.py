"""What a live run says about itself while it runs: the preview's text and the page's figures.

Both read the driver's figures from another thread (the preview from the loop's sinks, the
page from its server's), so they are approximate by design and never lock the loop. Beside
fps and drops they show the model's own rate (Hz) and the age of the matte carried to the
frame (ms), since the two rates differ: the camera's and the model's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from ..controls import KEY_HELP, LiveControls

# How long a control message stays on the preview, in seconds.
MESSAGE_SECONDS = 3.0


class LiveView(Protocol):
    """The driver as the overlay and the page see it."""

    fps: float
    frames_out: int
    controls: LiveControls
    message: tuple[str, float]
    quality_reason: str

    @property
    def source(self) -> Any: ...
    @property
    def stages(self) -> Any: ...
    def output_fps(self) -> float: ...
    def model_hz(self) -> float: ...
    def matte_age_ms(self) -> float: ...
    def infer_every(self) -> int: ...
    def p95_ms(self) -> float: ...


def overlay_lines(view: LiveView) -> list[str]:
    """The preview's text: rate, the model (auto's choice for this shot), its rate and the
    matte's age, the mode; the quality and why; per-stage ms; a message or the key help."""
    timer = view.stages.timer
    stages = "  ".join(
        f"{name} {timer.last(name):.1f}"
        for name in ("model", "cheap", "carry", "composite", "send")
        if name in timer.samples
    )
    controls = view.controls
    mode = "privacy" if controls.privacy else controls.mode
    if controls.mode == "image" and not controls.privacy:
        mode += f" {Path(controls.background.spec).name or controls.background.spec}"
    state = "" if view.source.connected else "  CAMERA LOST, retrying"
    message, when = view.message
    if not message or time.perf_counter() - when > MESSAGE_SECONDS:
        message = KEY_HELP
    fps = view.output_fps()
    # A loop slower than the camera is said, not hidden behind repeated frames.
    slow = f" of {view.fps:.0f} (too slow)" if 0 < fps < 0.9 * view.fps else ""
    every = view.infer_every()
    every_text = f" 1/{every}" if every > 1 else ""
    lines = [
        f"{fps:.1f} fps{slow}  {view.stages.matter.name}{every_text} {view.model_hz():.1f} Hz, "
        f"matte {view.matte_age_ms():.0f} ms old  {mode}{state}",
        f"ms: {stages}",
        message,
    ]
    quality = view.stages.matter.quality
    if quality:
        lines.insert(
            1, f"quality {quality}" + (f": {view.quality_reason}" if view.quality_reason else "")
        )
    return lines


def page_figures(view: LiveView) -> dict[str, Any]:
    """The control page's figures (read on the page's thread)."""
    frames_in = view.source.frames_in
    dropped = max(0, frames_in - view.frames_out)
    matter = view.stages.matter
    return {
        "fps": round(view.output_fps(), 2),
        "dropped": dropped,
        "dropped_percent": round(100.0 * dropped / max(1, frames_in), 2),
        "p95_ms": round(view.p95_ms(), 2),
        "model": matter.name,
        "device": matter.device,
        "quality": matter.quality,
        "quality_reason": view.quality_reason,
        "input_fps": round(view.source.fps, 2),
        "infer_every": view.infer_every(),
        "model_hz": round(view.model_hz(), 2),
        "matte_age_ms": round(view.matte_age_ms(), 1),
        "paused": view.source.paused,
    }
