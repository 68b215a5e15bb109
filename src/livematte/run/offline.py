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

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import Config, config_for_call, trim_of
from ..errors import Interrupted, UserError
from ..frame import Frame
from ..io.codecs import is_video_path
from ..io.json_file import write_json
from ..io.open import Outputs, claim_run_outputs, open_outputs, open_source
from ..io.sinks import NullSink, PixelFormat
from ..io.sources import Source, VideoFileSource
from ..planar import I420Picture
from ..stages import MatteOutput, Stages
from .interrupt import StopRequest
from .negotiate import negotiate
from .progress import Progress
from .report import RunReport
from .request import API, Request, check_run

log = logging.getLogger("livematte")

_QUEUE_DEPTH = 4
_END = object()


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

    def hold(self, matte: MatteOutput) -> MatteOutput:
        slot = self._slots[self._next]
        self._next = (self._next + 1) % len(self._slots)
        copy = None
        if matte.work_copy is not None:
            rgb, alpha = matte.work_copy
            copy = (_copy_into(slot, "rgb", rgb), _copy_into(slot, "a", alpha))
        return MatteOutput(
            _copy_into(slot, "alpha", matte.alpha), matte.foreground, copy, matte.frame
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
    background: str | Path | list[str | Path] | None = None,
    alpha_out: str | Path | None = None,
    model: str | None = None,
    config: Config | None = None,
    config_file: str | Path | None = None,
    show_progress: bool = False,
    stop: StopRequest | None = None,
    request: Request = API,
) -> RunReport:
    """Replace the background of a clip, an image or a folder of images.

    >>> report = process_video("talk.mp4", "talk-office.mp4", background="office.jpg")
    >>> report = process_video("photos/", "cutouts/", model="object", background="transparent")

    A folder is the frames of one clip or a set of pictures, each matted as if run alone
    (``config.input.folder_as``: auto, the default, decides from what the folder holds).
    ``output`` is a video file (by extension), an image file, a folder (PNG per frame) or
    "null". ``alpha_out`` also writes the matte. Anything not given comes from ``config``
    (or ``config_file``), else from the defaults. ``config.live.stats_json`` names a file
    for the run's report as JSON. ``request`` words refusals as the caller knows the
    settings (the command line passes its typed flags; see :mod:`livematte.run.request`).
    """
    config = config_for_call(config, config_file, background=background, model=model)
    if alpha_out is not None:
        config.output.alpha_out = str(alpha_out)
    if config_file is not None:
        request = dataclasses.replace(request, config_file=(request.config_file[0], config_file))
    input_spec, output_spec = str(input), str(output)
    check_run(request, config, input_spec, output_spec, live=False)
    report = _process(input_spec, output_spec, config, show_progress, stop)
    if config.live.stats_json:
        write_json(config.live.stats_json, report.to_dict())
    return report


def _process(
    input_spec: str,
    output_spec: str,
    config: Config,
    show_progress: bool,
    stop: StopRequest | None,
) -> RunReport:
    # Pictures keep their own sizes unless a video file (which has one size) is written.
    targets = (output_spec, config.output.alpha_out)
    same_size = any(is_video_path(target) for target in targets if target)
    with claim_run_outputs(output_spec, config.output.alpha_out):
        source = open_source(
            input_spec,
            same_size=same_size,
            folder_as=config.input.folder_as,
            trim=trim_of(config),
        )
        try:
            stages = Stages(config)
            try:
                outputs = open_outputs(
                    input_spec, output_spec, source, config, transparent=stages.transparent
                )
                with stop or StopRequest() as stop_request:
                    return run_offline(source, stages, outputs, config, stop_request, show_progress)
            finally:
                stages.close()
        finally:
            source.close()


def run_offline(
    source: Source,
    stages: Stages,
    outputs: Outputs,
    config: Config,
    stop: StopRequest,
    show_progress: bool = False,
    max_frames: int = 0,
) -> RunReport:
    """Process every frame of ``source`` into ``output``; see the module docstring.

    ``max_frames`` > 0 stops after that many frames (benchmarks on a clip's opening).
    """
    about = stages.matter.describe()
    report = RunReport(
        input=str(source.path or ""),
        output=", ".join(sink.description for sink in outputs.pictures),
        width=source.width,
        height=source.height,
        model=about["model"],
        device=about["device"],
        provider=about["provider"],
        quality=about["quality"],
    )
    progress = Progress(source.frame_count, enabled=show_progress and not config.quiet)
    frames_in: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
    frames_out: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
    # Slots in use at once: the queue's, the one the writer blends, the one being filled.
    mattes = MatteRing(_QUEUE_DEPTH + 3)
    try:
        if len(stages.backgrounds) > 1:
            raise UserError(
                f"A file run uses one background, and {len(stages.backgrounds)} were given "
                "(several -b, or a folder); several are for live cycling with 'b', so give one."
            )
        fmt = negotiate(source, stages, outputs.pictures, outputs.mattes, config)
    except BaseException:
        outputs.close(keep=False)
        raise
    report.planar = fmt.layout == "i420"
    buffers = OutputBuffers(fmt)
    reader = _Worker("reader", _read_frames, source, frames_in, stages, stop, max_frames)
    writer = _Worker("writer", _write_frames, frames_out, outputs, stages, progress, buffers)
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
            if source.pictures:  # a set of photos: each one as if it were run alone
                stages.reset()
            matte = mattes.hold(stages.matte(_pixels(frame)))
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
        outputs.close(keep=keep, complete=complete)
        cv2.setNumThreads(cv_threads)
    if writer.error is not None:
        raise writer.error
    if reader.error is not None:
        raise reader.error
    if report.frames == 0 and stop.requested:
        raise Interrupted(
            "Stopped before the first frame was finished; nothing was written.", stop.signal_name
        )
    if report.frames == 0:
        raise UserError(f"{source.path} holds no decodable video frame; nothing was written.")
    report.interrupted = stop.requested
    report.stopped_by = stop.signal_name
    report.lost_packets = source.lost_packets if isinstance(source, VideoFileSource) else 0
    report.scene_cuts = stages.scene_cuts
    report.model = stages.matter.name  # a model that chooses per shot names its last choice
    report.model_runs = report.frames - stages.model_skipped
    report.extra["model_skipped"] = stages.model_skipped
    report.stages = stages.timer.summary()
    report.outputs = [sink.description for sink in outputs.pictures]
    report.mattes = [sink.description for sink in outputs.mattes]
    report.notes = [note for sink in outputs.all for note in sink.notes]
    return report


class OutputBuffers:
    """The picture the writer blends into, reused from frame to frame: 4:2:0 planes or a
    packed array, made again only when the frame size changes (a folder of photos)."""

    def __init__(self, fmt: PixelFormat) -> None:
        if fmt.layout == "i420" and fmt.colour is None:
            # negotiate() offers 4:2:0 only with a video's colour space.
            raise ValueError("a 4:2:0 output needs the source's colour space")
        self.format = fmt
        self._out: Any = None

    def for_frame(self, frame: Frame) -> Any:
        size = (frame.height, frame.width)
        out = self._out
        if self.format.colour is not None and self.format.layout == "i420":
            if out is None or (out.height, out.width) != size:
                out = I420Picture.empty(frame.width, frame.height, self.format.colour)
        elif out is None or out.shape[:2] != size:
            out = np.empty((*size, self.format.channels), np.uint8)
        self._out = out
        return out


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
            stages.timer.add("decode_wait", (time.perf_counter() - start) * 1000.0)
            _hand_over(worker, frames, frame)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
        _hand_over(worker, frames, _END)


def _hand_over(worker: _Worker, frames: queue.Queue[Any], item: Any) -> None:
    """Queue ``item`` for the main thread, waiting while the queue is full, unless the
    reader is cancelled meanwhile."""
    while not worker.cancelled.is_set():
        try:
            frames.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _write_frames(
    worker: _Worker,
    frames: queue.Queue[Any],
    outputs: Outputs,
    stages: Stages,
    progress: Progress,
    buffers: OutputBuffers,
) -> int:
    """Blend and encode each queued frame (the sinks copy ``out`` before returning)."""
    written = 0
    encodes = not all(isinstance(sink, NullSink) for sink in outputs.all)
    while True:
        item = frames.get()
        if item is _END:
            return written
        frame, matte, matte_ms = item
        began = time.perf_counter()
        image = stages.composite(_pixels(frame), matte, buffers.for_frame(frame))
        start = time.perf_counter()
        stages.timer.add("processing", matte_ms + (start - began) * 1000.0)
        for sink in outputs.pictures:
            sink.write(frame, image)
        for sink in outputs.mattes:
            sink.write(frame, matte.alpha)
        if encodes:
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
