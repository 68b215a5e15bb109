"""The live driver: camera (or a file played in real time) → stages → virtual camera/preview.

The newest frame wins. The source keeps one frame; whatever arrived while a frame was
being processed replaces what was waiting, so the output never falls behind real time
(the replaced frames are counted as dropped). Each frame is processed as soon as it
arrives, which keeps capture-to-send latency at the processing time.

Inference may run on every Nth frame only (``--infer-every N``, raised automatically
while frames cost more than the frame period). Between model runs the last *full
resolution* alpha is reused as it is: the model, temporal and refine stages run together
or not at all, so skipped frames cost only the blend. (Re-running the refiner on a stale
coarse alpha costs most of a model frame for little gain, and the temporal filter stays
consistent because it only ever sees frames the model saw.)

When no new frame comes (camera unplugged, a consumer that needs a steady stream), the
last output is sent again at the output rate, so a video call never sees the camera stop.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from ..composite import TransparentBackground
from ..config import Config, LiveConfig
from ..controls import KEY_HELP, LiveControls, TerminalKeys
from ..errors import UserError, reason_of
from ..frame import Frame, cover_resize
from ..io.camera import LiveSource, RealTimeFileSource
from ..io.images import read_image
from ..io.json_file import write_json
from ..io.open import (
    Outputs,
    claim_run_outputs,
    is_camera_spec,
    open_live_outputs,
    open_source,
)
from ..io.sinks import Sink
from ..io.vcam import VirtualCameraSink
from ..matting.quality import QUALITY_MODELS
from ..stages import MatteOutput, Stages
from ..web.attach import start_control
from .flag_scope import RunFacts
from .interrupt import StopRequest
from .negotiate import negotiate
from .on_demand import OnDemandSource, require_linux
from .report import LatencyHistogram, LiveFigures, RunReport
from .request import API, Request, check_request
from .schedule import InferenceSchedule

log = logging.getLogger("livematte")

# How long a control message stays on the preview, in seconds.
MESSAGE_SECONDS = 3.0
PAUSED_SECONDS = 1.0


class LiveDriver:
    """Owns the live loop; see the module docstring for the policy."""

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
    ) -> None:
        self.source = source
        self.stages = stages
        self.sinks = sinks
        self.stop = stop
        self.controls = controls or LiveControls(stages.backgrounds, stages.config.background.blur)
        if stages.config.model.name in QUALITY_MODELS:
            self.controls.quality = stages.matter.quality
        self.terminal = terminal
        self.fps = output_fps or source.fps
        self.period = 1.0 / self.fps
        self.schedule = InferenceSchedule(config.infer_every, config.auto_skip, self.period)
        shape = (source.height, source.width, 3)
        self._out = np.empty(shape, np.uint8)
        self._frozen = np.zeros(shape, np.uint8)
        # Loaded now, so a bad path fails at start rather than when "p" is pressed mid-call.
        self._privacy_image = (
            cover_resize(read_image(Path(config.privacy_image)), source.width, source.height)
            if config.privacy_image
            else None
        )
        self._last: np.ndarray | None = None
        self._paused_at = 0.0  # when the on-demand "paused" picture last went out
        self._matte: MatteOutput | None = None
        self._reconnects = 0
        self._dropped = 0  # the source's dropped count when the last frame was taken
        self._message = ("", 0.0)
        self._paused_image: np.ndarray | None = None
        self._private, self._mode = self.controls.privacy, self.controls.mode
        self._sent_times: deque[float] = deque(maxlen=31)
        self._first_sent = 0.0
        self.latency = LatencyHistogram()
        self.frames_out = 0
        self.repeats = 0
        self.model_runs = 0
        self.model_failures = 0
        self._model_failing = 0  # frames in the current spell of model failures

    def run(self) -> None:
        """Process frames until the source ends, 'q', Ctrl-C or a closed preview window."""
        keepalive = any(sink.keepalive for sink in self.sinks)
        self.controls.point(self.stages.compositor)
        self._warm_up()
        self.source.start()
        log.info(
            "live: %dx%d at %.3g fps to %s; stop with q or Ctrl-C",
            self.source.width,
            self.source.height,
            self.source.fps,
            ", ".join(sink.description for sink in self.sinks) or "nowhere (null)",
        )
        last_send: float | None = None
        gap = 1.5 * self.period  # tolerate jitter before the first repeat
        while not self.stop.requested:
            self._handle_keys()
            if self.controls.quit:
                self.stop.set("q")
                break
            now = time.perf_counter()
            deadline = (last_send or now) + gap
            paused = self.source.paused  # on demand, nobody watching
            frame = self.source.latest(0.1 if paused else min(0.1, max(0.0, deadline - now)))
            if frame is not None:
                self._send(self._process(frame), frame)
                last_send, gap = time.perf_counter(), 1.5 * self.period
            elif self.source.ended:
                break
            elif paused:
                self._send_paused()
                last_send = None
            elif keepalive and last_send is not None and time.perf_counter() >= deadline:
                self._repeat()
                last_send, gap = time.perf_counter(), self.period

    def _warm_up(self) -> None:
        """Run the stages once on a blank frame before the camera starts.

        Models load lazily (MediaPipe takes about a second on its first frame); without
        this the first real frame would wait for it and the camera's frames would pile up.
        """
        blank = np.zeros_like(self._out)
        self.stages.composite(blank, self.stages.matte(blank), self._out)
        self.stages.reset()
        for samples in self.stages.timer.samples.values():
            samples.clear()

    def _process(self, frame: Frame) -> np.ndarray:
        start = time.perf_counter()
        reconnects = self.source.reconnects
        if reconnects != self._reconnects:
            self._reconnects = reconnects
            self.stages.reset()
            self.schedule.force()
        # The state as of the last _handle_keys (a page change may land mid-frame).
        if self._private:
            return self._frozen
        if self._mode == "passthrough":
            self.schedule.force()
            return frame.image
        inferred = self.schedule.due() or self._matte is None
        if inferred:
            self._run_model(frame.image)
        assert self._matte is not None
        image = self.stages.composite(frame.image, self._matte, self._out)
        dropped = self.source.frames_dropped
        self.schedule.record(time.perf_counter() - start, inferred, dropped > self._dropped)
        self._dropped = dropped
        return image

    def _run_model(self, rgb: np.ndarray) -> None:
        """New matte for this frame; if the model throws, keep the last one and retry.

        One bad frame (a GPU hiccup, a driver error) must not end a call. The fault is
        logged once per spell, and its end too. With no good matte yet the frame goes out
        as background only, so the room never shows.
        """
        try:
            self._matte = self.stages.matte(rgb)
        except Exception as exc:  # noqa: BLE001 - any runtime's error; logged and retried
            if not self._model_failing:
                log.warning(
                    "the model failed on a frame (%s); reusing the last matte and retrying "
                    "on every frame",
                    reason_of(exc),
                )
            self._model_failing += 1
            self.model_failures += 1
            self.schedule.force()
            if self._matte is None:
                self._matte = MatteOutput(np.zeros(rgb.shape[:2], np.uint8))
            return
        self.model_runs += 1
        if self._model_failing:
            log.warning("the model works again after %d failed frame(s)", self._model_failing)
            self._model_failing = 0

    def _send(self, image: np.ndarray, frame: Frame) -> None:
        start = time.perf_counter()
        for sink in self.sinks:
            sink.write(frame, image)
        sent = time.perf_counter()
        self.stages.timer.add("send", (sent - start) * 1000.0)
        self.latency.add((sent - frame.captured_at) * 1000.0)
        self._sent_times.append(sent)
        self._first_sent = self._first_sent or sent
        self._last = image
        self.frames_out += 1

    def _repeat(self) -> None:
        image = self._frozen if self._private else self._last
        if image is None:
            return
        for sink in self.sinks:
            if sink.keepalive:
                sink.repeat(image)
        self.repeats += 1

    def _send_paused(self) -> None:
        """On demand with nobody watching: a still picture once a second, nothing else."""
        now = time.perf_counter()
        if now - self._paused_at < PAUSED_SECONDS:
            return
        if self._paused_image is None:
            from .on_demand import paused_picture

            self._paused_image = paused_picture(self.source.width, self.source.height)
        for sink in self.sinks:
            if sink.keepalive:
                sink.repeat(self._paused_image)
        self._paused_at = now

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
            self._freeze()
        if controls.mode != self._mode:
            self.schedule.force()
        self._private, self._mode = controls.privacy, controls.mode
        if controls.quality and controls.quality != self.stages.matter.quality:
            self.stages.switch_quality(controls.quality)
            self.schedule.force()
        controls.point(self.stages.compositor)
        self._message = (controls.message, time.perf_counter())
        log.info("%s", controls.message)

    def page_stats(self) -> dict[str, Any]:
        """The control page's figures (read on the page's thread; approximate by design)."""
        frames_in = self.source.frames_in
        dropped = max(0, frames_in - self.frames_out)
        return {
            "fps": round(self.output_fps(), 2),
            "dropped": dropped,
            "dropped_percent": round(100.0 * dropped / max(1, frames_in), 2),
            "p95_ms": round(self.latency.percentile(95), 2),
            "model": self.stages.matter.name,
            "device": self.stages.matter.device,
            "quality": self.stages.matter.quality,
            "input_fps": round(self.source.fps, 2),
            "infer_every": self.schedule.every,
            "paused": self.source.paused,
        }

    def _freeze(self) -> None:
        """Privacy: the chosen still, else the last output (black before the first one)."""
        if self._privacy_image is not None:
            np.copyto(self._frozen, self._privacy_image)
        elif self._last is not None:
            np.copyto(self._frozen, self._last)
        else:
            self._frozen[:] = 0

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

    def overlay(self) -> list[str]:
        """The preview's text: rate, the model (auto's choice for this shot) and how often it
        runs, the mode, per-stage ms, then a message or the key help."""
        timer = self.stages.timer
        stages = "  ".join(
            f"{name} {timer.last(name):.1f}"
            for name in ("model", "temporal", "refine", "composite", "send")
        )
        controls = self.controls
        mode = "privacy" if controls.privacy else controls.mode
        if controls.mode == "image" and not controls.privacy:
            mode += f" {Path(controls.background.spec).name or controls.background.spec}"
        state = "" if self.source.connected else "  CAMERA LOST, retrying"
        message, when = self._message
        if not message or time.perf_counter() - when > MESSAGE_SECONDS:
            message = KEY_HELP
        fps = self.output_fps()
        # A model slower than the camera is said, not hidden behind repeated frames.
        slow = f" of {self.fps:.0f} (model too slow)" if 0 < fps < 0.9 * self.fps else ""
        return [
            f"{fps:.1f} fps{slow}  {self.stages.matter.name} 1/{self.schedule.every}  "
            f"{mode}{state}",
            f"ms: {stages}",
            message,
        ]


def run_live(
    input_spec: str,
    output: str,
    config: Config,
    stop: StopRequest,
    *,
    source: LiveSource | None = None,
    stages: Stages | None = None,
    vcam_backend: str | None = None,
    preview_gui: Any = None,
    terminal: TerminalKeys | None = None,
    request: Request = API,
    on_control: Any = None,
) -> RunReport:
    """Open the source, the stages and the outputs, run the live loop, return its report.

    The keyword arguments replace real devices in tests (a scripted camera, the name of
    a fake pyvirtualcam backend, a fake window toolkit); ``on_control`` is called with the
    control page's server once it listens; ``request`` says what the user typed (typed
    flags win over the page's saved settings, and a flag this run has no use for is refused).
    """
    check_request(
        request,
        config,
        RunFacts.of(input_spec, output, live=True),
        [input_spec],
        output,
        side_files={request.names.stats: config.live.stats_json},
        display=preview_gui is None,
    )
    live = config.live
    opened: list[Any] = [claim_run_outputs(output)]
    outputs = Outputs()
    keep = False
    try:
        if source is None:
            source = _open_live_source(input_spec, live)
            if live.on_demand:
                source = _on_demand(source, input_spec, output, live)
        opened.append(source)
        if stages is None:
            stages = Stages(config)
        opened.append(stages)
        if any(isinstance(b, TransparentBackground) for b in stages.backgrounds):
            raise UserError(
                "A live output cannot carry transparency; use a colour background such as "
                "'#00b140' and key it out in OBS (Chroma Key filter) instead."
            )
        fps = live.fps or source.fps
        driver = LiveDriver(source, stages, [], live, stop, terminal=terminal, output_fps=fps)
        outputs = open_live_outputs(
            input_spec,
            output,
            source,
            config,
            overlay=driver.overlay,
            vcam_backend=vcam_backend,
            preview_gui=preview_gui,
        )
        if isinstance(source, OnDemandSource):  # watch who holds the virtual camera
            source.watch(_vcam_device(outputs.pictures))
        camera = is_camera_spec(input_spec) or isinstance(source, OnDemandSource)
        server = start_control(
            driver,
            outputs.pictures,
            live,
            camera=camera,
            flags_given=request.typed_any("background", "blur"),
        )
        if server is not None:
            opened.append(server)
            if on_control is not None:
                on_control(server)
        negotiate(source, stages, outputs.pictures, outputs.mattes, config)
        driver.sinks = outputs.pictures
        started = time.perf_counter()
        driver.run()
        keep = True
        return _report(driver, input_spec, output, time.perf_counter() - started)
    finally:
        try:
            outputs.close(keep=keep, complete=not stop.requested)
        finally:
            for item in reversed(opened):
                item.close()


def _open_live_source(input_spec: str, live: LiveConfig) -> LiveSource:
    if not is_camera_spec(input_spec) and (live.size or live.fourcc):
        log.warning(
            "--size and --fourcc are camera settings; %s is played at its own size", input_spec
        )
    source = open_source(
        input_spec, live=True, size=live.size, fps=live.fps, fourcc=live.fourcc, mirror=live.mirror
    )
    if not isinstance(source, LiveSource):  # pragma: no cover - open_source always wraps
        raise AssertionError(f"{type(source).__name__} is not a live source")
    if isinstance(source, RealTimeFileSource):
        source.loop = live.loop
    return source


def _on_demand(camera: LiveSource, input_spec: str, output: str, live: LiveConfig) -> LiveSource:
    """Wrap the camera (opened once to learn its size, then closed) for --on-demand."""
    from ..io.camera import CameraSource

    try:
        require_linux()
        if output != "vcam" or not isinstance(camera, CameraSource):
            raise UserError("--on-demand needs a camera input and the virtual camera output.")
        size = f"{camera.width}x{camera.height}"
        width, height, fps = camera.width, camera.height, camera.fps
    finally:
        camera.close()

    def reopen() -> LiveSource:
        return CameraSource(
            input_spec, size=size, fps=live.fps, fourcc=live.fourcc, mirror=live.mirror
        )

    return OnDemandSource(reopen, width, height, fps)


def _vcam_device(sinks: list[Sink]) -> str:
    for sink in sinks:
        if isinstance(sink, VirtualCameraSink) and sink.opened_device:
            return sink.opened_device
    raise UserError("--on-demand needs the virtual camera output (-o vcam).")


def _report(driver: LiveDriver, input_spec: str, output: str, seconds: float) -> RunReport:
    source, stages = driver.source, driver.stages
    about = stages.matter.describe()
    return RunReport(
        input=input_spec,
        output=output,
        frames=driver.frames_out,
        seconds=seconds,
        width=source.width,
        height=source.height,
        stopped_by=driver.stop.signal_name or ("end of input" if source.ended else ""),
        scene_cuts=stages.scene_cuts,
        model_runs=driver.model_runs,
        outputs=[sink.description for sink in driver.sinks],
        stages=stages.timer.summary(),
        live=LiveFigures(
            input_fps=round(source.fps, 3),
            frames_in=source.frames_in,
            frames_out=driver.frames_out,
            frames_dropped=source.frames_in - driver.frames_out,
            frames_repeated=driver.repeats,
            output_fps=driver.mean_fps(),
            infer_every={
                "requested": driver.schedule.requested,
                "final": driver.schedule.every,
                "max_used": driver.schedule.max_used,
            },
            latency_ms=driver.latency.summary(),
            camera_reconnects=source.reconnects,
            vcam_errors=sum(
                sink.errors for sink in driver.sinks if isinstance(sink, VirtualCameraSink)
            ),
        ),
        model=about["model"],
        device=about["device"],
        provider=about["provider"],
        quality=about["quality"],
    )


def run_live_command(input_spec: str, output: str, config: Config, request: Request = API) -> int:
    """``livematte run`` for cameras, ``--live`` and vcam/preview outputs; exit status 0."""
    keys = TerminalKeys()
    with StopRequest() as stop:
        terminal = keys if keys.start() else None
        if terminal is not None and not config.quiet:
            print(f"livematte: {KEY_HELP}", file=sys.stderr)
        try:
            report = run_live(input_spec, output, config, stop, terminal=terminal, request=request)
        finally:
            if terminal is not None:
                terminal.close()
    if config.live.stats_json:
        write_json(config.live.stats_json, report.to_dict())
    if not config.quiet:
        for line in report.summary_lines():
            print(f"livematte: {line}", file=sys.stderr)
    return 0
