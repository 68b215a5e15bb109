"""A live run's session: open the source, the stages and the outputs, run the loop, report.

The loop itself is :mod:`.live_loop` (re-exported here as :class:`LiveDriver`, with the
model's thread in :mod:`.model_thread`); what it shows about itself is in
:mod:`.live_overlay`; the pictures it shows instead of the camera in :mod:`.live_privacy`;
``--quality auto``'s probe in :mod:`.live_quality`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from typing import Any

from ..composite import TransparentBackground
from ..config import Config, LiveConfig
from ..controls import KEY_HELP, TerminalKeys
from ..errors import UserError
from ..io.camera import LiveSource, RealTimeFileSource
from ..io.json_file import write_json
from ..io.open import (
    Outputs,
    claim_run_outputs,
    is_camera_spec,
    open_live_alpha,
    open_live_outputs,
    open_source,
)
from ..io.sinks import Sink
from ..io.vcam import VirtualCameraSink
from ..matting.quality import QUALITY_MODELS
from ..stages import Stages
from ..web.attach import start_control
from .interrupt import StopRequest
from .live_loop import LiveDriver
from .live_quality import PROBING, QualityProbe, live_sized, plan_quality
from .model_thread import ModelFailed
from .negotiate import negotiate
from .on_demand import OnDemandSource, require_linux
from .report import LiveFigures, RunReport
from .request import API, Request, check_run

__all__ = ["LiveDriver", "run_live", "run_live_command"]

log = logging.getLogger("livematte")


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
    check_run(request, config, input_spec, output, live=True, display=preview_gui is None)
    live = config.live
    camera_input = is_camera_spec(input_spec)
    if config.output.alpha_out and (camera_input or live.on_demand):
        raise UserError(
            f"{request.names.matte} is for a recorded clip played with --live (one PNG per "
            "frame sent); a camera run writes no matte, so drop it."
        )
    if not live.auto_skip:
        log.warning(
            "live.auto_skip no longer acts: the model runs on its own thread at the rate it "
            "reaches, and every frame gets the newest matte carried to it"
        )
    opened: list[Any] = [claim_run_outputs(output, config.output.alpha_out)]
    outputs = Outputs()
    keep = False
    driver: LiveDriver | None = None
    probe: QualityProbe | None = None
    try:
        if source is None:
            source = _open_live_source(input_spec, live)
            if live.on_demand:
                source = _on_demand(source, input_spec, output, live)
        opened.append(source)
        cheap = None
        reason = ""
        if stages is None:
            planned, reason = plan_quality(config)
            stages = Stages(planned)
            live_sized(stages)
            if planned.model.name in QUALITY_MODELS:
                cheap = _fast_stages(planned, stages)
        opened.append(stages)
        if cheap is not None:
            opened.append(cheap)
        if any(isinstance(b, TransparentBackground) for b in stages.backgrounds):
            raise UserError(
                "A live output cannot carry transparency; use a colour background such as "
                "'#00b140' and key it out in OBS (Chroma Key filter) instead."
            )
        fps = live.fps or source.fps
        driver = LiveDriver(
            source, stages, [], live, stop, terminal=terminal, output_fps=fps, cheap=cheap,
            quality_reason=reason,
        )  # fmt: skip
        if reason == PROBING:
            probe = QualityProbe(driver.switch_quality)
            driver.model.on_run = probe
        outputs = open_live_outputs(
            input_spec,
            output,
            source,
            config,
            overlay=driver.overlay,
            vcam_backend=vcam_backend,
            preview_gui=preview_gui,
        )
        if config.output.alpha_out:
            outputs.mattes.append(open_live_alpha(config.output.alpha_out))
        if isinstance(source, OnDemandSource):  # watch who holds the virtual camera
            source.watch(_vcam_device(outputs.pictures))
        camera = camera_input or isinstance(source, OnDemandSource)
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
        driver.sinks, driver.mattes = outputs.pictures, outputs.mattes
        started, cpu = time.perf_counter(), time.process_time()
        try:
            driver.run()
        except ModelFailed:
            keep = True  # what was recorded before the model broke stays, and playable
            raise
        keep = True
        if probe is not None and probe.decided:
            driver.quality_reason = probe.reason
        return _report(
            driver, input_spec, output, time.perf_counter() - started, time.process_time() - cpu
        )
    finally:
        stuck = driver is not None and not driver.close()
        try:
            outputs.close(keep=keep, complete=not stop.requested)
        finally:
            for item in reversed(opened):
                if stuck and item is stages:
                    continue  # its model is mid-inference on a daemon thread: left to exit
                item.close()


def _fast_stages(config: Config, stages: Stages) -> Stages:
    """The fast model's own stages (sharing the backgrounds): the cheap matte of each frame,
    on the loop's thread (its own instance: the model's thread may be using the other)."""
    fast = dataclasses.replace(config.model, quality="fast")
    return Stages(dataclasses.replace(config, model=fast), backgrounds=stages.backgrounds)


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


def _report(
    driver: LiveDriver, input_spec: str, output: str, seconds: float, cpu_seconds: float
) -> RunReport:
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
        mattes=[sink.description for sink in driver.mattes],
        stages=_stage_summary(driver),
        live=LiveFigures(
            input_fps=round(source.fps, 3),
            frames_in=source.frames_in,
            frames_out=driver.frames_out,
            frames_dropped=source.frames_in - driver.frames_out,
            frames_repeated=driver.repeats,
            output_fps=driver.mean_fps(),
            infer_every={"requested": driver.model.every},
            latency_ms=driver.latency.summary(),
            camera_reconnects=source.reconnects,
            vcam_errors=sum(
                sink.errors for sink in driver.sinks if isinstance(sink, VirtualCameraSink)
            ),
            model_hz=round(driver.model_runs / seconds, 3) if seconds > 0 else 0.0,
            matte_age_ms=driver.matte_age.summary(),
            frames_carried=driver.carried,
            frames_cheap=driver.cheap_frames,
            quality_reason=driver.quality_reason,
            cpu_ms_per_frame=round(1000.0 * cpu_seconds / max(1, driver.frames_out), 2),
        ),
        model=about["model"],
        device=about["device"],
        provider=about["provider"],
        quality=about["quality"],
    )


def _stage_summary(driver: LiveDriver) -> dict[str, dict[str, float]]:
    """Per-stage figures of both sets of stages: the model's (on its thread) and the fast
    model's on the loop's thread (its own model, temporal and refine steps where it makes
    the matte, as with ``fast``; with ``best`` they are MODNet's and it counts as "cheap")."""
    summary = driver.stages.timer.summary()
    cheap = driver.pick.cheap
    if cheap is not None and driver.stages.matter.quality != "best":
        summary.update(cheap.timer.summary())
    return summary


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
