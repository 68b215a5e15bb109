"""The threaded offline driver and the per-frame stages: behaviour, never speed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import pytest

from livematte.config import Config, OutputConfig
from livematte.errors import UserError
from livematte.frame import Frame
from livematte.io.open import Outputs
from livematte.io.sinks import Sink
from livematte.io.sources import Source
from livematte.io.video_file import VideoFileSink
from livematte.matting import Matte
from livematte.matting.base import Matter
from livematte.run.interrupt import StopRequest
from livematte.run.offline import run_offline
from livematte.stages import Stages

WIDTH, HEIGHT = 64, 36


def coded(index: int) -> np.ndarray:
    """A frame whose pixels say which frame it is (index in two channels, base 256)."""
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[:, :, 0] = index % 256
    rgb[:, :, 1] = index // 256
    rgb[:, :, 2] = 128
    return rgb


class CountingSource(Source):
    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.width, self.height, self.fps, self.frame_count = WIDTH, HEIGHT, 25.0, count
        self.count, self.fail_at = count, fail_at

    def __iter__(self) -> Iterator[Frame]:
        for index in range(self.count):
            if index == self.fail_at:
                raise RuntimeError("decoder broke")
            yield Frame(coded(index), index, pts=index, time_base=Fraction(1, 25))


class OpaqueMatter(Matter):
    """The whole frame is the person, so the output frame is the input frame."""

    name, device = "opaque", "cpu"

    def __init__(self) -> None:
        self.calls = 0

    def infer(self, rgb: np.ndarray) -> Matte:
        self.calls += 1
        return Matte(np.ones((9, 16), np.float32))

    def reset(self) -> None:
        pass


class RecordingSink(Sink):
    """Decodes each frame's index from its pixels at write time; optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.written: list[tuple[int, int]] = []  # (frame.index, index read from pixels)
        self.delay, self.fail_at = delay, fail_at
        self.closed_with: tuple[bool, bool] | None = None

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if frame.index == self.fail_at:
            raise UserError("Writing failed (No space left on device).")
        time.sleep(self.delay)  # the main thread runs ahead and cycles through the ring
        self.written.append(
            (frame.index, int(image[..., 0].mean()) + 256 * int(image[..., 1].mean()))
        )

    def close(self, keep: bool = True, complete: bool = True) -> None:
        self.closed_with = (keep, complete)


def run(source: Source, sink: RecordingSink, monkeypatch, **kwargs):
    config = Config()
    config.background.specs = ["#000000"]
    stages = Stages(config, matter=OpaqueMatter())
    with StopRequest() as stop:
        return run_offline(source, stages, Outputs([sink]), config, stop, **kwargs)


@pytest.mark.slow
def test_every_frame_is_written_in_order_with_its_own_pixels(monkeypatch):
    # The writer is slower than the stages, so the output queue fills and the ring wraps
    # many times: a buffer handed out while still queued would show another frame's pixels.
    sink = RecordingSink(delay=0.002)
    report = run(CountingSource(300), sink, monkeypatch)
    assert report.frames == 300
    assert sink.written == [(i, i) for i in range(300)]
    assert sink.closed_with == (True, True)


class AlternatingMatter(OpaqueMatter):
    """Person on even frames, nobody on odd ones (read from the frame's own pixels)."""

    def infer(self, rgb: np.ndarray) -> Matte:
        self.calls += 1
        return Matte(np.full((9, 16), float(int(rgb[0, 0, 0]) % 2 == 0), np.float32))


def test_each_frame_is_blended_with_its_own_matte(monkeypatch):
    # The writer blends while the main thread mattes the frames after it and the refiner
    # reuses its buffers: a matte not kept apart would put a later frame's alpha on this one.
    sink = RecordingSink(delay=0.002)
    config = Config()
    config.background.specs = ["#000000"]
    config.temporal.enabled = False
    stages = Stages(config, matter=AlternatingMatter())
    with StopRequest() as stop:
        run_offline(CountingSource(120), stages, Outputs([sink]), config, stop)
    assert sink.written == [(i, i if i % 2 == 0 else 0) for i in range(120)]


def test_encoded_frames_keep_their_own_pixels_and_say_their_colour_matrix(tmp_path):
    # The H.264 writer hands the encoder its one conversion buffer without a copy, so each
    # frame must be taken in before the next overwrites it; and the file must say BT.601
    # (what the conversion uses) or players read untagged HD video as BT.709.
    path = tmp_path / "colours.mp4"
    sink = VideoFileSink(path, 64, 48, Fraction(25), Fraction(1, 25), OutputConfig())
    colours = [(40 + 6 * i, 220 - 6 * i, (90 + 50 * i) % 256) for i in range(30)]
    for index, colour in enumerate(colours):
        image = np.empty((48, 64, 3), np.uint8)
        image[:] = colour
        sink.write(Frame(image, index, pts=index, time_base=Fraction(1, 25)), image)
    sink.close()
    with av.open(str(path)) as container:
        decoded = list(container.decode(container.streams.video[0]))
    assert len(decoded) == len(colours)
    for frame, colour in zip(decoded, colours, strict=True):
        assert frame.colorspace == 6 and frame.color_range == 1  # SMPTE170M, limited
        mean = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
        assert np.abs(mean - colour).max() < 4


def test_max_frames_stops_early_and_keeps_what_was_done(monkeypatch):
    sink = RecordingSink()
    report = run(CountingSource(50), sink, monkeypatch, max_frames=7)
    assert report.frames == 7
    assert [index for index, _ in sink.written] == list(range(7))


def test_a_failing_writer_surfaces_its_error_and_discards_the_output(monkeypatch):
    sink = RecordingSink(fail_at=5)
    with pytest.raises(UserError, match="No space left"):
        run(CountingSource(100), sink, monkeypatch)
    assert len(sink.written) == 5
    assert sink.closed_with is not None and sink.closed_with[0] is False
    assert not [t for t in threading.enumerate() if t.name.startswith("livematte-")]


def test_a_failing_reader_surfaces_its_error(monkeypatch):
    sink = RecordingSink()
    with pytest.raises(RuntimeError, match="decoder broke"):
        run(CountingSource(100, fail_at=9), sink, monkeypatch)
    assert sink.closed_with is not None and sink.closed_with[0] is False
    assert not [t for t in threading.enumerate() if t.name.startswith("livematte-")]


def _stages(skip_still: float, skip_max: int = 2) -> tuple[Stages, OpaqueMatter]:
    config = Config()
    config.background.specs = ["#000000"]
    config.model.skip_still = skip_still
    config.model.skip_max = skip_max
    matter = OpaqueMatter()
    return Stages(config, matter=matter), matter


def test_model_runs_on_every_frame_by_default():
    stages, matter = _stages(0.0)
    for _ in range(6):
        stages.matte(coded(3))
    assert matter.calls == 6 and stages.model_skipped == 0


def test_still_frames_reuse_the_alpha_at_most_skip_max_in_a_row():
    stages, matter = _stages(0.02, skip_max=2)
    for _ in range(9):
        alpha = stages.matte(coded(3)).alpha
        assert alpha.shape == (HEIGHT, WIDTH) and alpha.min() == 255
    assert matter.calls == 3  # frames 0, 3 and 6 run the model; two reuse after each
    assert stages.model_skipped == 6


def test_moving_frames_always_run_the_model():
    stages, matter = _stages(0.02)
    for index in range(0, 270, 30):  # red +30: grey moves by 9 levels (0.035) each frame
        stages.matte(coded(index))
    assert matter.calls == 9 and stages.model_skipped == 0


def test_a_change_in_one_corner_is_enough_to_run_the_model():
    stages, matter = _stages(0.02)
    still = coded(3)
    stages.matte(still)
    moved = still.copy()
    moved[:8, :8] = 255  # a hand enters one corner: the frame's mean barely moves
    stages.matte(moved)
    assert matter.calls == 2


def test_stage_timer_keeps_the_latest_samples_in_fixed_memory():
    from livematte.stages import StageTimer

    timer = StageTimer(capacity=4)
    for ms in range(10):
        timer.add("model", float(ms))
    ring = timer.samples["model"]
    assert list(ring) == [6.0, 7.0, 8.0, 9.0]  # oldest first, only the last four kept
    assert timer.last("model") == 9.0 and timer.last("encode") == 0.0
    summary = timer.summary()["model"]
    assert summary["frames"] == 4 and summary["median_ms"] == 7.5
    ring.clear()
    assert len(ring) == 0 and "model" not in timer.summary()
