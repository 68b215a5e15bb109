"""The offline driver (file → file) and the importable ``process_video`` API.

Every frame is processed, in order. Three threads joined by small queues: the reader
decodes; the main thread runs the model, the temporal filter and the refiner; the writer
blends and encodes. The blend sits with the encoder rather than with the model so neither
Python thread carries most of the work alone (profiled on two cores: with the blend on the
main thread that thread was the bottleneck and the reader and writer waited on it). PyAV,
OpenCV and the model release the GIL. Each matte's reused buffers are copied into a small
ring, sized so none is overwritten while a queue still holds it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import Config, load_config
from ..errors import Interrupted, UserError
from ..frame import Frame
from ..io.open import check_not_overwriting_input, open_source
from ..io.sinks import NullSink, Sink, close_sinks, open_file_sink
from ..io.sources import Source, VideoFileSource
from ..planar import I420Picture
from ..stages import MatteOutput, Stages
from .interrupt import StopRequest
from .progress import Progress

log = logging.getLogger("livematte")

_QUEUE_DEPTH = 4
_END = object()


@dataclass
class RunReport:
    """What a run did, for the CLI's summary line, ``--stats-json`` and benchmarks."""

    input: str
    output: str
    frames: int = 0
    seconds: float = 0.0
    model: str = ""
    device: str = ""
    interrupted: bool = False
    lost_packets: int = 0
    scene_cuts: int = 0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fps"] = self.fps
        return data


class MatteRing:
    """Copies of mattes whose buffers the stages reuse, handed out in turn.

    The refiner writes every frame's alpha (and its work-size frame and alpha) into the
    same buffers; the writer thread blends a frame while the main thread already mattes
    the next ones, so each matte is copied into the next slot first. The slots' buffers
    are allocated once (again only if the sizes change).
    """

    def __init__(self, count: int) -> None:
        self._slots: list[dict[str, np.ndarray]] = [{} for _ in range(count)]
        self._next = 0

    def keep(self, matte: MatteOutput) -> MatteOutput:
        slot = self._slots[self._next]
        self._next = (self._next + 1) % len(self._slots)
        small = None
        if matte.small is not None:
            small = (_copy_into(slot, "rgb", matte.small[0]), _copy_into(slot, "a", matte.small[1]))
        return MatteOutput(
            _copy_into(slot, "alpha", matte.alpha), matte.foreground, small, matte.frame
        )


def _copy_into(slot: dict[str, np.ndarray], key: str, array: np.ndarray) -> np.ndarray:
    buffer = slot.get(key)
    if buffer is None or buffer.shape != array.shape or buffer.dtype != array.dtype:
        buffer = slot[key] = np.empty_like(array)
    np.copyto(buffer, array)
    return buffer


def process_video(
    input: str | Path,
    output: str | Path = "null",
    *,
    background: str | list[str] | None = None,
    alpha_out: str | Path | None = None,
    model: str | None = None,
    config: Config | None = None,
    config_file: str | Path | None = None,
    show_progress: bool = False,
    stop: StopRequest | None = None,
) -> RunReport:
    """Replace the background of a clip, an image or a folder of images.

    >>> report = process_video("talk.mp4", "talk-office.mp4", background="office.jpg")

    ``output`` is a video file (by extension), an image file, a folder (PNG per frame) or
    "null". ``alpha_out`` also writes the matte. Anything not given comes from ``config``
    (or ``config_file``), else from the defaults.
    """
    config = config or load_config(config_file)
    if background is not None:
        config.background.specs = [background] if isinstance(background, str) else list(background)
    if alpha_out is not None:
        config.output.alpha_out = str(alpha_out)
    if model is not None:
        config.model.name = model
    input_spec, output_spec = str(input), str(output)
    check_not_overwriting_input(input_spec, output_spec)
    if config.output.alpha_out:
        check_not_overwriting_input(input_spec, config.output.alpha_out)
    source = open_source(input_spec)
    try:
        stages = Stages(config)
        try:
            with stop or StopRequest() as stop_request:
                return run_offline(source, stages, output_spec, config, stop_request, show_progress)
        finally:
            stages.close()
    finally:
        source.close()


def _open_sinks(
    source: Source, stages: Stages, output: str, config: Config
) -> tuple[Sink, Sink | None]:
    rate, time_base = _timing_of(source)
    audio_from = source.path if isinstance(source, VideoFileSource) and source.has_audio else None
    sink = open_file_sink(
        output,
        width=source.width,
        height=source.height,
        rate=rate,
        time_base=time_base,
        config=config.output,
        transparent=stages.transparent,
        audio_from=audio_from,
    )
    alpha_sink = None
    if config.output.alpha_out:
        try:
            alpha_sink = open_file_sink(
                config.output.alpha_out,
                width=source.width,
                height=source.height,
                rate=rate,
                time_base=time_base,
                config=config.output,
                grey=True,
            )
        except BaseException:
            sink.close(keep=False)
            raise
    return sink, alpha_sink


def _timing_of(source: Source) -> tuple[Fraction, Fraction]:
    if isinstance(source, VideoFileSource):
        return source.rate, source.time_base
    fps = Fraction(source.fps).limit_denominator(1001) if source.fps else Fraction(25)
    return fps, Fraction(1, round(float(fps)) or 25)


def run_offline(
    source: Source,
    stages: Stages,
    output: str,
    config: Config,
    stop: StopRequest,
    show_progress: bool = False,
    max_frames: int = 0,
) -> RunReport:
    """Process every frame of ``source`` into ``output``; see the module docstring.

    ``max_frames`` > 0 stops after that many frames (benchmarks on a clip's opening).
    """
    sink, alpha_sink = _open_sinks(source, stages, output, config)
    report = RunReport(
        input=str(source.path or ""),
        output=output,
        model=stages.matter.name,
        device=stages.matter.device,
    )
    progress = Progress(source.frame_count, enabled=show_progress and not config.quiet)
    frames_in: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
    frames_out: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
    # Slots in use at once: the queue's, the one the writer blends, the one being filled.
    mattes = MatteRing(_QUEUE_DEPTH + 3)
    out: Any
    if _stay_planar(source, stages, sink, config):
        assert isinstance(source, VideoFileSource)
        source.planar = True
        out = I420Picture.empty(source.width, source.height, source.colour)
    else:
        out = np.empty((source.height, source.width, stages.output_channels()), np.uint8)
    report.extra["planar"] = isinstance(out, I420Picture)
    reader = _Worker("reader", _read_frames, source, frames_in, stages, stop, max_frames)
    writer = _Worker("writer", _write_frames, frames_out, sink, alpha_sink, stages, progress, out)
    start = time.perf_counter()
    keep, complete = False, False
    # The decoder, the model and the encoder already keep every core busy: OpenCV's own
    # worker threads then only add hand-over costs (measured on two cores: 79-89 fps and
    # 21-24 ms CPU a frame with one thread, 69-82 fps and 23-27 ms with two).
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        reader.start()
        writer.start()
        for frame in _drain(frames_in, reader, writer, stop):
            began = time.perf_counter()
            matte = mattes.keep(stages.matte(_pixels(frame)))
            _put(frames_out, (frame, matte, (time.perf_counter() - began) * 1000.0), writer)
        complete = not stop.requested
        keep = True
    finally:
        reader.cancel(frames_in)
        _put(frames_out, _END, writer)
        writer.join()
        reader.join(timeout=2.0)
        progress.close()
        report.seconds = time.perf_counter() - start
        report.frames = writer.result or 0
        failed = writer.error is not None or reader.error is not None
        keep = keep and not failed
        if keep and report.frames == 0:
            keep = False
        close_sinks([sink, alpha_sink], keep=keep, complete=complete)
        cv2.setNumThreads(cv_threads)
    if writer.error is not None:
        raise writer.error
    if reader.error is not None:
        raise reader.error
    if report.frames == 0 and stop.requested:
        raise Interrupted("Stopped before the first frame was finished; nothing was written.")
    if report.frames == 0:
        raise UserError(f"{source.path} holds no decodable video frame; nothing was written.")
    report.interrupted = stop.requested
    report.lost_packets = getattr(source, "lost_packets", 0)
    report.scene_cuts = stages.scene_cuts
    report.model = stages.matter.name  # a model that chooses per shot names its last choice
    report.extra["model_skipped"] = stages.model_skipped
    report.stages = stages.timer.summary()
    report.extra["output_description"] = sink.description
    if alpha_sink is not None:
        report.extra["alpha_description"] = alpha_sink.description
    return report


def _stay_planar(source: Source, stages: Stages, sink: Sink, config: Config) -> bool:
    """Whether this run can keep the decoded 4:2:0 frames (see :mod:`livematte.planar`);
    the sink is asked last, as saying yes sets it up for them."""
    return (
        config.output.planar
        and isinstance(source, VideoFileSource)
        and source.can_be_planar
        and stages.can_stay_planar()
        and sink.accept_planar(source.colour)
    )


def _pixels(frame: Frame) -> Any:
    """What the stages take of a frame: its planar picture when it has one, else RGB."""
    return frame.rgb if frame.yuv is None else frame.yuv


class _Worker(threading.Thread):
    """A thread that keeps its result or exception for the main thread to pick up."""

    def __init__(self, name: str, target: Any, *args: Any) -> None:
        super().__init__(name=f"livematte-{name}", daemon=True)
        self._target_fn = target
        self._args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = threading.Event()

    def run(self) -> None:
        try:
            self.result = self._target_fn(self, *self._args)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc

    def cancel(self, frames: queue.Queue[Any]) -> None:
        """Ask the reader to stop and unblock it if it waits on a full queue."""
        self.cancelled.set()
        while self.is_alive():
            try:
                frames.get_nowait()
            except queue.Empty:
                self.join(timeout=0.05)


def _read_frames(
    worker: _Worker,
    source: Source,
    frames: queue.Queue[Any],
    stages: Stages,
    stop: StopRequest,
    max_frames: int = 0,
) -> None:
    iterator = iter(source)
    count = 0
    try:
        while not worker.cancelled.is_set() and not stop.requested:
            if max_frames and count >= max_frames:
                break
            count += 1
            start = time.perf_counter()
            try:
                frame = next(iterator)
            except StopIteration:
                break
            stages.timer.add("decode", (time.perf_counter() - start) * 1000.0)
            while not worker.cancelled.is_set():
                try:
                    frames.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
        while not worker.cancelled.is_set():
            try:
                frames.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue


def _write_frames(
    worker: _Worker,
    frames: queue.Queue[Any],
    sink: Sink,
    alpha_sink: Sink | None,
    stages: Stages,
    progress: Progress,
    out: np.ndarray,
) -> int:
    """Blend and encode each queued frame (the sinks copy ``out`` before returning)."""
    written = 0
    while True:
        item = frames.get()
        if item is _END:
            return written
        frame, matte, matte_ms = item
        began = time.perf_counter()
        image = stages.composite(_pixels(frame), matte, out)
        start = time.perf_counter()
        stages.timer.add("processing", matte_ms + (start - began) * 1000.0)
        sink.write(frame, image)
        if alpha_sink is not None:
            alpha_sink.write(frame, matte.alpha)
        if not isinstance(sink, NullSink) or alpha_sink is not None:
            stages.timer.add("encode", (time.perf_counter() - start) * 1000.0)
        written += 1
        progress.update(written)


def _drain(
    frames: queue.Queue[Any], reader: _Worker, writer: _Worker, stop: StopRequest
) -> Iterator[Frame]:
    """Frames from the reader until the end, a stop request, or a failed worker."""
    while not stop.requested:
        if writer.error is not None:
            return
        try:
            item = frames.get(timeout=0.1)
        except queue.Empty:
            if not reader.is_alive() and frames.empty():
                return
            continue
        if item is _END:
            return
        yield item


def _put(frames: queue.Queue[Any], item: Any, writer: _Worker) -> None:
    """Queue ``item`` for the writer, giving up if the writer has died (its error is kept)."""
    while writer.is_alive():
        try:
            frames.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
