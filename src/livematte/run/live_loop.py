"""The live loop: camera (or a file played in real time) → a matte for every frame → outputs.

Two rates. The camera's frames are composited and sent as they arrive, newest first (the
source keeps one frame; whatever arrived meanwhile replaces it and counts as dropped). The
heavy model runs on its own thread (:mod:`.model_thread`) at whatever rate it reaches and
is handed the newest frame whenever it is free; the loop never waits for it. Every frame
gets the newest model matte *carried to it* (:mod:`livematte.carry`: motion-compensated by
optical flow, checked against the frame's own pixels) and, while the cheap fast model fits
the frame budget on the loop's thread, that model's matte of the frame itself: with
``--quality best`` it gives the body's shape and MODNet's edge is kept where the two
agree; with ``fast`` it is the matte (see :mod:`.live_mattes`).

When no new frame comes (camera unplugged, a consumer that needs a steady stream), the
last output is sent again at the output rate, so a video call never sees the camera stop.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import numpy as np

from ..carry import MatteCarrier
from ..config import LiveConfig
from ..controls import LiveControls, TerminalKeys
from ..frame import Frame
from ..io.camera import LiveSource
from ..io.sinks import Sink
from ..matting.quality import QUALITY_MODELS
from ..stages import MatteOutput, Stages
from .interrupt import StopRequest
from .live_mattes import CheapStages, FrameMattes, InlineBudget
from .live_overlay import overlay_lines, page_figures
from .live_privacy import PrivacyPictures
from .live_quality import live_sized
from .model_thread import ModelThread
from .report import LatencyHistogram

log = logging.getLogger("livematte")

# With no model matte yet (start, camera back), wait at most this many frame periods for
# the first one rather than send a frame matted blind.
FIRST_WAIT_PERIODS = 3.0
# Frames between two runs of the fast model on the loop's thread while it is over budget.
REMEASURE = 30


class LiveDriver:
    """Owns the live loop; see the module docstring for the policy.

    ``cheap`` is a second set of stages with the fast model, run on the loop's own thread
    for the frame being sent (see the module docstring); ``mattes`` get the alpha of every
    frame sent (``--alpha-out`` on a file played live).
    """

    def __init__(
        self,
        source: LiveSource,
        stages: Stages,
        sinks: list[Sink],
        config: LiveConfig,
        stop: StopRequest,
        controls: LiveControls | None = None,
        terminal: TerminalKeys | None = None,
        output_fps: float = 0.0,
        cheap: CheapStages = None,
        mattes: list[Sink] | None = None,
        quality_reason: str = "",
    ) -> None:
        self.source = source
        self.stages = stages
        self.sinks = sinks
        self.mattes = mattes or []
        self.stop = stop
        self.config = config
        self.controls = controls or LiveControls(stages.backgrounds, stages.config.background.blur)
        if stages.config.model.name in QUALITY_MODELS:
            self.controls.quality = stages.matter.quality
        self.terminal = terminal
        self.fps = output_fps or source.fps
        self.period = 1.0 / self.fps
        self.quality_reason = quality_reason
        width, height = source.width, source.height
        self.carrier = MatteCarrier(width, height, warp=config.carry == "flow")
        self.model = ModelThread(stages, self.carrier, config.infer_every)
        self.pick = FrameMattes(stages, self.carrier, cheap)
        self.budget = InlineBudget(self.period)
        self.inline_runs = 0  # fast: frames the fast model ran on, on the loop's thread
        self._inline_times: deque[float] = deque(maxlen=31)
        self._out = np.empty((height, width, 3), np.uint8)
        self._blank = np.zeros((height, width), np.uint8)
        self.pictures = PrivacyPictures(width, height, config.privacy_image)
        self._last: np.ndarray | None = None
        self._reconnects = 0
        self.message = ("", 0.0)
        self._private, self._mode = self.controls.privacy, self.controls.mode
        self._sent_times: deque[float] = deque(maxlen=31)
        self._first_sent = 0.0
        self.latency = LatencyHistogram()
        self.matte_age = LatencyHistogram()
        self._age_ms = 0.0
        self._first = True  # no frame matted since the start or the last reset
        self.frames_out = 0
        self.repeats = 0

    @property
    def model_runs(self) -> int:
        """Model runs, on its thread and (fast) on the loop's."""
        return self.model.runs + self.inline_runs

    @property
    def model_failures(self) -> int:
        return self.model.failures

    @property
    def carried(self) -> int:
        return self.pick.carried

    @property
    def cheap_frames(self) -> int:
        return self.pick.cheap_frames

    def run(self) -> None:
        """Process frames until the source ends, 'q', Ctrl-C or a closed preview window."""
        keepalive = any(sink.keepalive for sink in self.sinks)
        self.controls.point(self.stages.compositor)
        self._warm_up()
        self.model.start()
        self.source.start()
        log.info(
            "live: %dx%d at %.3g fps to %s; stop with q or Ctrl-C",
            self.source.width,
            self.source.height,
            self.source.fps,
            ", ".join(sink.description for sink in self.sinks) or "nowhere (null)",
        )
        try:
            self._loop(keepalive)
        finally:
            self.close()

    def _loop(self, keepalive: bool) -> None:
        last_send: float | None = None
        gap = 1.5 * self.period  # tolerate jitter before the first repeat
        while not self.stop.requested:
            self.model.raise_error()
            self._handle_keys()
            if self.controls.quit:
                self.stop.set("q")
                break
            now = time.perf_counter()
            deadline = (last_send or now) + gap
            paused = self.source.paused  # on demand, nobody watching
            frame = self.source.latest(0.1 if paused else min(0.1, max(0.0, deadline - now)))
            if frame is not None:
                image, alpha = self._process(frame)
                self._send(image, alpha, frame)
                last_send, gap = time.perf_counter(), 1.5 * self.period
            elif self.source.ended:
                break
            elif paused:
                self._send_paused()
                last_send = None
            elif keepalive and last_send is not None and time.perf_counter() >= deadline:
                self._repeat()
                last_send, gap = time.perf_counter(), self.period

    def close(self) -> bool:
        """Stop the model's thread (at most half a second's wait, so Ctrl-C mid-inference
        ends the run at once); False if it is still in an inference (see ModelThread)."""
        return self.model.close()

    def _warm_up(self) -> None:
        """Run the stages once on a blank frame before the camera starts.

        Models load lazily (MediaPipe takes about a second on its first frame); without
        this the first real frame would wait for it and the camera's frames would pile up.
        """
        blank = np.zeros_like(self._out)
        for stages in (self.stages, self.pick.cheap_stages()):
            if stages is not None:
                stages.composite(blank, stages.matte(blank), self._out)
                stages.reset()
                for samples in stages.timer.samples.values():
                    samples.clear()
        self.carrier.carry(
            self.carrier.keyframe(0, 0.0, blank, self._blank), self.carrier.key(blank)
        )

    def _process(self, frame: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        """The picture to send for ``frame`` and the alpha composited onto it (None when no
        matte is shown: privacy, passthrough)."""
        reconnects = self.source.reconnects
        if reconnects != self._reconnects:
            self._reconnects = reconnects
            self._reset()
        # The state as of the last _handle_keys (a page change may land mid-frame).
        if self._private:
            return self.pictures.frozen, None
        if self._mode == "passthrough":
            return frame.image, None
        began = time.perf_counter()
        matte = self._matte(frame)
        image = self.stages.composite(frame.image, matte, self._out)
        if self.stages.matter.quality == "best" and self.pick.cheap_seconds is not None:
            # With MODNet the cheap matte is the frame's safety net: kept while the frame
            # with it fits the period (judged on the frames it ran on).
            self.budget.record(time.perf_counter() - began)
        return image, matte.alpha

    def _matte(self, frame: Frame) -> MatteOutput:
        """This frame's alpha (the policy is :mod:`.live_mattes`'s): the fast model's own
        while it fits the budget, else the newest model matte carried to the frame."""
        # Off the budget, the fast model still runs on one frame in REMEASURE (best: the
        # only way to learn that it fits again).
        remeasure = self.frames_out % REMEASURE == 0
        inline = (self.budget.allows() or remeasure) and self.pick.cheap_stages() is not None
        if self.stages.matter.quality == "best" or not inline:
            self.model.offer(frame)
        keyframe = self.model.latest()
        if keyframe is None and self._first and not inline:  # once after a start or reset
            keyframe = self.model.wait_first(FIRST_WAIT_PERIODS * self.period)
        self._first = False
        matte, kind = self.pick(frame.image, frame.index, keyframe, inline)
        # fast: the fast model's own cost (on this thread, or moved off it, on the model's);
        # best: the whole frame's, recorded by _process once it is composited.
        if self.stages.matter.quality != "best":
            if inline:
                self.budget.record(self.pick.cheap_seconds)
            else:
                seconds, self.model.seconds = self.model.seconds, None
                self.budget.record(seconds)
        age = frame.captured_at - keyframe.captured_at if keyframe is not None else 0.0
        self._age_ms = max(0.0, age * 1000.0) if kind in ("model", "carried") else 0.0
        if kind == "cheap" and self.stages.matter.quality != "best":
            self._inline_times.append(time.perf_counter())
            self.inline_runs += 1
        return matte

    def _reset(self) -> None:
        """A camera came back: forget every matte and the stages' state."""
        self.model.reset()
        self._first = True
        self.pick.reset()

    def _send(self, image: np.ndarray, alpha: np.ndarray | None, frame: Frame) -> None:
        start = time.perf_counter()
        for sink in self.sinks:
            sink.write(frame, image)
        if alpha is not None:
            for sink in self.mattes:
                sink.write(frame, alpha)
        sent = time.perf_counter()
        self.stages.timer.add("send", (sent - start) * 1000.0)
        self.latency.add((sent - frame.captured_at) * 1000.0)
        if alpha is not None:
            self.matte_age.add(self._age_ms)
        self._sent_times.append(sent)
        self._first_sent = self._first_sent or sent
        self._last = image
        self.frames_out += 1

    def _repeat(self) -> None:
        image = self.pictures.frozen if self._private else self._last
        if image is None:
            return
        for sink in self.sinks:
            if sink.keepalive:
                sink.repeat(image)
        self.repeats += 1

    def _send_paused(self) -> None:
        """On demand with nobody watching: a still picture once a second, nothing else."""
        image = self.pictures.paused_due(time.perf_counter())
        if image is None:
            return
        for sink in self.sinks:
            if sink.keepalive:
                sink.repeat(image)

    def _handle_keys(self) -> None:
        """Keys (preview, terminal) and page changes, all through the one control state."""
        keys = [key for sink in self.sinks for key in sink.pressed()]
        if self.terminal is not None:
            keys += self.terminal.poll()
        for key in keys:
            self.controls.press(key)
        if not self.controls.take_change():
            return
        controls = self.controls
        if controls.privacy and not self._private:
            self.pictures.freeze(self._last)
        self._private, self._mode = controls.privacy, controls.mode
        if controls.quality and controls.quality != self.stages.matter.quality:
            self.switch_quality(controls.quality, "chosen on the page")
        controls.point(self.stages.compositor)
        self.message = (controls.message, time.perf_counter())
        log.info("%s", controls.message)

    def switch_quality(self, quality: str, reason: str) -> None:
        """Swap the model for ``--model auto`` at ``quality``, on the model's thread (never
        mid-inference); the mattes of the old model are dropped."""
        if quality == "best":
            self.pick.cheap_stages()

        def work() -> None:
            self.stages.switch_quality(quality)
            live_sized(self.stages)

        self.quality_reason = reason
        if self.controls.quality:
            self.controls.quality = quality
        self.model.call_soon(work)
        self.model.reset()
        self._first = True

    # --- figures -------------------------------------------------------------------------

    def model_hz(self) -> float:
        """The model's rate: on its thread, or (fast, fitting the budget) on the loop's."""
        times = self._inline_times
        recent = len(times) >= 2 and time.perf_counter() - times[-1] < 1.0
        if recent and times[-1] > times[0]:
            return (len(times) - 1) / (times[-1] - times[0])
        return self.model.rate()

    def matte_age_ms(self) -> float:
        return self._age_ms

    def infer_every(self) -> int:
        return self.model.every

    def p95_ms(self) -> float:
        return self.latency.percentile(95)

    def page_stats(self) -> dict[str, Any]:
        """The control page's figures (read on the page's thread; approximate by design)."""
        return page_figures(self)

    def overlay(self) -> list[str]:
        return overlay_lines(self)

    def mean_fps(self) -> float:
        """Frames sent per second from the first frame sent to the last."""
        if self.frames_out < 2 or not self._sent_times:
            return 0.0
        return (self.frames_out - 1) / max(1e-9, self._sent_times[-1] - self._first_sent)

    def output_fps(self) -> float:
        """Frames sent per second, over the last second or so."""
        times = self._sent_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])
