"""Which matte a live frame gets, apart from threads and clocks (so a benchmark can replay
the policy at a simulated model rate, frame by frame, with the same code).

The cheap fast model (selfie or pose, 3-20 ms) runs on the loop's own thread, on the very
frame being sent, while it fits the frame budget (:class:`InlineBudget`):

- ``fast`` while it fits: the fast model's own matte of the frame, nothing carried (on
  fast motion a matte two frames old loses a third of a running body: DAVIS parkour at
  25 fps, IoU 0.93 fresh, 0.58 two frames late); when it does not fit, the model runs on
  its thread and its newest matte is carried (snapping it to the frame's own edges again
  with refine.py's guided filter, ``refine_carried``, gained under 5% MAD in
  benchmarks/live_carry.py at lag 2 and cost 5-10 ms a frame: off by default);
- ``best``: MODNet on its thread, its newest matte carried to the frame and joined with
  the cheap matte of the frame while that fits (the cheap shape wins where the two
  disagree or the flow failed, and whole when the motion is too large to carry);
- no model matte yet: the cheap matte where it fits, else none (background only: the
  room never shows).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..carry import Keyframe, MatteCarrier
from ..refine import Refiner
from ..stages import MatteOutput, Stages

CheapStages = Stages | Callable[[], Stages] | None

# Share of the frame period the cheap model may cost on the loop's thread before it moves
# to the model's thread, and the share below which it comes back (hysteresis). Judged on
# the model's own cost, not the frame's, and high: on a busy 2-core machine (load 4-6) the
# carried path (flow on the loop, the model's thread beside it) cost more CPU than the
# model inline (benchmarks/live_latency.py: 25-35 ms against 17.5 ms a frame, fps 24-28
# against 29.8), so only a model too slow for the loop at all is better carried.
BUDGET_HIGH = 1.5
BUDGET_LOW = 0.60
# Weight of a new sample in the running cost, and runs measured before any decision (the
# first runs of a model are slow: caches, lazy loading).
SMOOTHING = 0.1
SETTLE_RUNS = 30


class InlineBudget:
    """Whether the cheap model still fits the frame budget on the loop's thread, from a
    measured cost: with ``fast`` the model's own (there, or while it runs on the model's
    thread, there); with ``best`` a whole frame's with the cheap matte."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.on = True
        self._cost: float | None = None  # seconds the cheap model costs a frame
        self._runs = 0

    def allows(self) -> bool:
        return self.on

    def record(self, seconds: float | None) -> None:
        """One run of the cheap model took ``seconds`` (None: it did not run)."""
        if seconds is None:
            return
        self._runs += 1
        self._cost = _smooth(self._cost, seconds)
        if self._runs < SETTLE_RUNS:
            return
        if self.on and self._cost > BUDGET_HIGH * self.period:
            self.on = False
        elif not self.on and self._cost < BUDGET_LOW * self.period:
            self.on = True


def _smooth(previous: float | None, value: float) -> float:
    return value if previous is None else previous + SMOOTHING * (value - previous)


class FrameMattes:
    """One frame's alpha from the newest keyframe (see the module docstring), with counts."""

    def __init__(
        self,
        stages: Stages,
        carrier: MatteCarrier,
        cheap: CheapStages = None,
        *,
        join_cheap: bool = True,
        refine_carried: bool = False,
    ) -> None:
        self.stages = stages
        self.carrier = carrier
        self._cheap_source = cheap
        self.cheap: Stages | None = cheap if isinstance(cheap, Stages) else None
        self.join_cheap = join_cheap  # best: the cheap matte beside the carried one
        self.refine_carried = refine_carried and stages.config.refine.enabled
        self._refiner = Refiner(stages.config.refine)
        self._key = np.empty(carrier.flow_size[::-1], np.uint8)
        self._blank = np.zeros((carrier.height, carrier.width), np.uint8)
        self.carried = 0  # frames given a matte carried from an older frame
        self.cheap_frames = 0  # frames the fast model ran on, on the loop's thread
        self.cheap_seconds: float | None = None  # its last cost (None: not this frame)

    def cheap_stages(self) -> Stages | None:
        """The fast model's stages, built on first use (a quality switch to best)."""
        if self.cheap is None and callable(self._cheap_source):
            self.cheap = self._cheap_source()
        return self.cheap

    def reset(self) -> None:
        if self.cheap is not None:
            self.cheap.reset()

    def __call__(
        self, rgb: np.ndarray, index: int, keyframe: Keyframe | None, inline: bool = True
    ) -> tuple[MatteOutput, str]:
        """(the matte, where it came from: "none", "cheap", "model" or "carried");
        ``inline``: the cheap model fits the frame budget on this thread."""
        self.cheap_seconds = None
        best = self.stages.matter.quality == "best"
        cheap_stages = self.cheap_stages() if inline else None
        if cheap_stages is not None and (not best or keyframe is None):
            return self._cheap(cheap_stages, rgb), "cheap"
        if keyframe is None:
            return MatteOutput(self._blank), "none"
        if keyframe.index == index:
            return MatteOutput(keyframe.alpha), "model"
        join = best and self.join_cheap and cheap_stages is not None
        cheap = self._cheap(cheap_stages, rgb).alpha if join and cheap_stages else None
        with self.stages.timer.time("carry"):
            self.carrier.key(rgb, out=self._key)
            alpha, carried = self.carrier.carry(keyframe, self._key, cheap)
        if carried.lost:
            return MatteOutput(alpha), "cheap"
        self.carried += 1
        if not best and self.refine_carried and self.carrier.warp:
            with self.stages.timer.time("refine"):
                alpha = self._refiner.refine(self.carrier.small_float(), rgb)
        return MatteOutput(alpha), "carried"

    def _cheap(self, stages: Stages, rgb: np.ndarray) -> MatteOutput:
        """The fast model's matte of ``rgb`` (with its work-size copies, which spare the
        compositor shrinking the frame again)."""
        self.cheap_frames += 1
        began = time.perf_counter()
        matte = stages.matte(rgb)
        self.cheap_seconds = time.perf_counter() - began
        self.stages.timer.add("cheap", self.cheap_seconds * 1000.0)
        return matte
