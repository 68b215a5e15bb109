"""The model on a thread of its own: the live loop hands it the newest frame whenever it is
free and never waits for it.

The thread runs the stages' model, temporal and refine steps (``Stages.matte``) on its own
copy of the frame (a camera reuses its buffers) and publishes each result as a
:class:`~livematte.carry.Keyframe`, which the loop carries to every newer frame. It runs
at whatever rate the model reaches, at most on every ``every``-th frame (``--infer-every``).

A model that throws on a frame is retried on the next one, logged once per spell (a GPU
hiccup must not end a call); one that fails :data:`MAX_FAILED_IN_A_ROW` times in a row
ends the run with one sentence. Work that must not overlap an inference (a quality switch,
a reset after a camera returned) is queued and done by the thread between two frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from ..carry import Keyframe, MatteCarrier
from ..errors import UserError, reason_of
from ..frame import Frame
from ..stages import Stages

log = logging.getLogger("livematte")

# Consecutive failed frames after which the model counts as broken and the run stops.
MAX_FAILED_IN_A_ROW = 50
# Model runs the rate (Hz) is measured over.
RATE_WINDOW = 8


class ModelFailed(UserError):
    """The model failed on every frame for too long: the live run stops (and says why)."""


class ModelThread:
    """Newest frame in, :class:`Keyframe` out, on a daemon thread (see the module docstring)."""

    def __init__(
        self,
        stages: Stages,
        carrier: MatteCarrier,
        every: int = 1,
        clock: Callable[[], float] = time.perf_counter,
        on_run: Callable[[float], None] | None = None,
    ) -> None:
        self.stages = stages
        self.carrier = carrier
        self.every = max(1, every)
        self.clock = clock
        self.on_run = on_run  # called on the thread with each run's seconds (the probe)
        self._cond = threading.Condition()
        self._pending: tuple[int, float] | None = None
        self._buffer: np.ndarray | None = None
        self._busy = False
        self._stop = False
        self._calls: list[Callable[[], None]] = []
        self._generation = 0  # bumped by reset(): results of older frames are dropped
        self._last_index: int | None = None
        self._latest: Keyframe | None = None
        self._attempts = 0
        self._finished: deque[float] = deque(maxlen=RATE_WINDOW)
        self.runs = 0
        self.seconds: float | None = None  # the last run's cost (read once, then None)
        self.failures = 0
        self._failing = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._guarded, name="livematte-model", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, frame: Frame) -> bool:
        """Hand ``frame`` to the model if it is free (and ``every`` allows); never waits."""
        with self._cond:
            if self._busy or self._stop or self.error is not None:
                return False
            last = self._last_index
            if last is not None and 0 <= frame.index - last < self.every:
                return False
            rgb = frame.image
            if self._buffer is None or self._buffer.shape != rgb.shape:
                self._buffer = np.empty_like(rgb)
            np.copyto(self._buffer, rgb)
            self._pending = (frame.index, frame.captured_at)
            self._last_index = frame.index
            self._busy = True
            self._cond.notify_all()
            return True

    def latest(self) -> Keyframe | None:
        """The newest result since the last reset, or None."""
        with self._cond:
            return self._latest

    def wait_first(self, timeout: float) -> Keyframe | None:
        """Wait up to ``timeout`` s for a first result (or a failed try); used only while no
        result exists, so the first frames after a start or reset are not matted blind."""
        with self._cond:
            attempts = self._attempts
            self._cond.wait_for(
                lambda: (
                    self._latest is not None
                    or self._attempts != attempts
                    or self.error is not None
                    or not self._busy
                ),
                timeout,
            )
            return self._latest

    def call_soon(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the model's thread before its next frame (never mid-inference)."""
        with self._cond:
            self._calls.append(work)
            self._cond.notify_all()

    def reset(self) -> None:
        """Forget the results and the stages' state (a camera came back, a new scene)."""
        with self._cond:
            self._generation += 1
            self._latest = None
            self._last_index = None
        self.call_soon(self.stages.reset)

    def rate(self) -> float:
        """Model runs per second over the last few runs (0 until two have finished)."""
        with self._cond:
            times = list(self._finished)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def raise_error(self) -> None:
        """Re-raise, on the caller's thread, what stopped the model's thread."""
        if self.error is not None:
            raise self.error

    def close(self, timeout: float = 0.5) -> bool:
        """Stop the thread; False if it is still inside an inference after ``timeout`` s
        (it is a daemon and ends with the process; its model must then not be closed)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _guarded(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which stops
            with self._cond:
                self.error = exc
                self._busy = False
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or self._pending is not None or self._calls)
                if self._stop:
                    return
                calls, self._calls = self._calls, []
                job, self._pending = self._pending, None
                generation = self._generation
            for work in calls:
                work()
            if job is None:
                continue
            assert self._buffer is not None
            index, captured_at = job
            rgb = self._buffer
            began = self.clock()
            keyframe = self._infer(index, captured_at, rgb)
            seconds = self.clock() - began
            with self._cond:
                self._attempts += 1
                self._busy = False
                if keyframe is not None and generation == self._generation:
                    self._latest = keyframe
                    self._finished.append(self.clock())
                self._cond.notify_all()
            if keyframe is not None:
                self.seconds = seconds
                if self.on_run is not None:
                    self.on_run(seconds)

    def _infer(self, index: int, captured_at: float, rgb: np.ndarray) -> Keyframe | None:
        try:
            alpha = self.stages.matte(rgb).alpha
        except Exception as exc:  # noqa: BLE001 - any runtime's error; logged and retried
            self.failures += 1
            self._failing += 1
            if self._failing == 1:
                log.warning(
                    "the model failed on a frame (%s); carrying the last matte and retrying "
                    "on the next frames",
                    reason_of(exc),
                )
            if self._failing >= MAX_FAILED_IN_A_ROW:
                raise ModelFailed(
                    f"The model failed on {self._failing} frames in a row ({reason_of(exc)}); "
                    "the live run stops: check the model and its device, or try "
                    "--quality fast."
                ) from None
            return None
        self.runs += 1
        if self._failing:
            log.warning("the model works again after %d failed frame(s)", self._failing)
            self._failing = 0
        return self.carrier.keyframe(index, captured_at, rgb, alpha)
