"""Which live frames run the model: every Nth, thinned out automatically when frames cost
more than the frame period allows."""

from __future__ import annotations

import logging

log = logging.getLogger("livematte")

# Auto skip never runs the model less often than every MAX_AUTO_EVERY frames.
MAX_AUTO_EVERY = 6
# Share of the frame period the per-frame work may use before inference is thinned out.
BUDGET_HIGH = 0.80
BUDGET_LOW = 0.60


class InferenceSchedule:
    """Decides which frames run the model: every ``every``th, more sparsely when needed.

    From the measured cost of frames with and without inference it picks the smallest N
    whose average cost per frame fits in ``BUDGET_HIGH`` of the frame period, and returns
    towards the requested N once the cost falls below ``BUDGET_LOW`` (hysteresis, so N
    does not flap).
    """

    def __init__(self, every: int, auto: bool, period: float, review: int = 15) -> None:
        self.requested = max(1, every)
        self.every = self.requested
        self.max_used = self.every
        self.auto = auto
        self.period = period
        self.review = review
        self._costs: dict[bool, float | None] = {True: None, False: None}
        self._count = 0
        self._since_model = 0
        self._force = True

    def force(self) -> None:
        """Run the model on the next frame (after a reset, a mode change, a reconnect)."""
        self._force = True

    def due(self) -> bool:
        if self._force or self._since_model + 1 >= self.every:
            self._force = False
            self._since_model = 0
            return True
        self._since_model += 1
        return False

    def record(self, seconds: float, inferred: bool, dropped: bool = False) -> None:
        """Note one frame's cost; ``dropped``: frames were lost before it (review now)."""
        previous = self._costs[inferred]
        self._costs[inferred] = (
            seconds if previous is None else previous + 0.3 * (seconds - previous)
        )
        self._count += 1
        if self.auto and (dropped or self._count % self.review == 0):
            self._review()

    def per_frame(self, every: int) -> float:
        """Average seconds per frame if the model ran on every ``every``th frame."""
        model, blend = self._costs[True] or 0.0, self._costs[False]
        blend = model if blend is None else blend
        return (model + (every - 1) * blend) / every

    def _review(self) -> None:
        if self._costs[True] is None:
            return
        high, low = BUDGET_HIGH * self.period, BUDGET_LOW * self.period
        if self._costs[False] is None:  # no frame without the model yet: one step at a time
            if self.per_frame(1) > high:
                self._set(min(MAX_AUTO_EVERY, self.every + 1))
            return
        choices = range(self.requested, MAX_AUTO_EVERY + 1)
        fits = next((n for n in choices if self.per_frame(n) <= high), MAX_AUTO_EVERY)
        if fits > self.every:
            self._set(fits)
            return
        relaxed = next((n for n in choices if self.per_frame(n) <= low), self.every)
        if relaxed < self.every:
            self._set(relaxed)

    def _set(self, every: int) -> None:
        if every != self.every:
            log.debug("model now runs on every %d frame(s)", every)
        self.every = every
        self.max_used = max(self.max_used, every)
