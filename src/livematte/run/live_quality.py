"""``--quality auto`` on a live run without an accelerator: a measured rule, then a probe.

The rule: MODNet takes a core of its own (about 400 ms a 720p crop on one thread of a
2-core x86 machine, under 3 Hz) while compositing needs the other, so below
:data:`MIN_CORES` cores the fast matte runs at once and says so.

Live ``best`` needs MODNet at :data:`TARGET_HZ` or more on its own thread (the carried
matte covers the frames between; below that it is too old to carry well) while the loop
keeps the camera's rate. Whether a CPU manages that depends on the machine and on what
else runs, so the run starts at ``best`` and times the model's first runs on the model's
own thread, under the live load itself: the first (which warms caches) is left out, the
median of the next :data:`PROBE_RUNS` decides. Too slow, and the run switches to ``fast``
between two inferences, saying why in the log, the summary, the preview and the page.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable

from ..config import Config
from ..matting.best import BestMatter
from ..matting.quality import QUALITY_MODELS, first_provider, is_accelerator
from ..stages import Stages

log = logging.getLogger("livematte")

# Model runs timed (after the first) before deciding.
PROBE_RUNS = 3
# The model rate live best needs, in runs per second.
TARGET_HZ = 3.0
# CPU cores below which live best is not even tried (see the module docstring).
MIN_CORES = 4
PROBING = "auto: measuring the model's rate on this machine"


def plan_quality(config: Config, cores: int | None = None) -> tuple[Config, str]:
    """The config to build the live stages with, and why that quality (:data:`PROBING`
    when the probe must decide): ``--quality auto`` with ``--model auto`` on a CPU."""
    model = config.model
    if model.name not in QUALITY_MODELS:
        return config, ""
    if model.quality != "auto":
        return config, "asked for"
    provider = first_provider(model.device)
    if is_accelerator(provider):
        return config, f"auto: {provider.removesuffix('ExecutionProvider')}"
    cores = cores if cores is not None else os.cpu_count() or 1
    if cores < MIN_CORES:
        fast = dataclasses.replace(model, quality="fast")
        reason = (
            f"auto: {cores} CPU cores here, and live best needs {MIN_CORES} (MODNet takes one "
            f"of its own and runs under {TARGET_HZ:g} Hz on two)"
        )
        return dataclasses.replace(config, model=fast), reason
    best = dataclasses.replace(model, quality="best")
    return dataclasses.replace(config, model=best), PROBING


class QualityProbe:
    """Called on the model's thread with each run's seconds; calls ``switch("fast", why)``
    once the median run is slower than :data:`TARGET_HZ` allows."""

    def __init__(self, switch: Callable[[str, str], None]) -> None:
        self.switch = switch
        self.samples: list[float] = []
        self.decided = False
        self.reason = PROBING

    def __call__(self, seconds: float) -> None:
        if self.decided:
            return
        self.samples.append(seconds)
        if len(self.samples) < PROBE_RUNS + 1:
            return
        self.decided = True
        timed = sorted(self.samples[1:])
        hz = 1.0 / max(1e-6, timed[len(timed) // 2])
        if hz >= TARGET_HZ:
            self.reason = f"auto: MODNet runs at {hz:.1f} Hz here (live best needs {TARGET_HZ:g})"
            log.info("quality %s", self.reason)
            return
        self.reason = (
            f"auto: MODNet ran at {hz:.1f} Hz here, under the {TARGET_HZ:g} Hz live best "
            "needs, so the fast matte runs"
        )
        log.info("quality %s", self.reason)
        self.switch("fast", self.reason)


def live_sized(stages: Stages) -> None:
    """The true matte at the size its live thread keeps pace with (see LIVE_MAX_SHORT)."""
    if isinstance(stages.matter, BestMatter):
        stages.matter.for_live()
