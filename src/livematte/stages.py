"""The per-frame work, shared by the offline and live drivers: matte, smooth, refine, blend.

``Stages`` owns one instance of each stage and times each call, so every driver reports
the same per-stage figures. It knows the order of the stages; the stages know nothing of
each other.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .composite import Background, Compositor, parse_backgrounds
from .config import Config, Quality
from .matting import Matte, Matter, create_matter
from .planar import I420Picture, Picture, RgbPicture, as_picture
from .refine import Refiner
from .scene import SceneCutDetector, thumbnail
from .temporal import TemporalFilter

# decode_wait: the reader's time to get each frame from PyAV. FFmpeg decodes on threads of
# its own, so their work counts there only while the reader waits for it.
STAGE_NAMES = ("decode_wait", "model", "temporal", "refine", "composite", "encode")

log = logging.getLogger("livematte")


class SampleRing:
    """The most recent ``capacity`` values in a preallocated float64 array.

    A deque of Python floats grows by 32 bytes a sample until it is full (11 minutes at
    30 fps for 20 000 samples), which shows up as memory growth in long runs; this costs
    its 160 kB from the first frame and never more.
    """

    def __init__(self, capacity: int) -> None:
        self._values = np.zeros(capacity, np.float64)
        self._count = 0

    def append(self, value: float) -> None:
        self._values[self._count % self._values.size] = value
        self._count += 1

    def clear(self) -> None:
        self._count = 0

    def __len__(self) -> int:
        return min(self._count, self._values.size)

    def array(self) -> np.ndarray:
        """The kept values, oldest first (a copy)."""
        size = self._values.size
        if self._count <= size:
            return self._values[: self._count].copy()
        start = self._count % size
        return np.concatenate((self._values[start:], self._values[:start]))

    def __iter__(self) -> Iterator[float]:
        return iter(self.array().tolist())

    def __getitem__(self, index: int) -> float:
        return float(self.array()[index])

    def latest(self) -> float:
        """The newest value, without copying the ring (the preview asks every frame)."""
        if not self._count:
            raise IndexError("no samples yet")
        return float(self._values[(self._count - 1) % self._values.size])


class StageTimer:
    """Milliseconds per stage per frame, over the most recent frames (fixed memory)."""

    def __init__(self, capacity: int = 20000) -> None:
        self.capacity = capacity
        self.samples: dict[str, SampleRing] = {name: SampleRing(capacity) for name in STAGE_NAMES}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, (time.perf_counter() - start) * 1000.0)

    def add(self, stage: str, ms: float) -> None:
        ring = self.samples.get(stage)
        if ring is None:
            ring = self.samples[stage] = SampleRing(self.capacity)
        ring.append(ms)

    def summary(self) -> dict[str, dict[str, float]]:
        """Median and p95 per stage that ran, in ms."""
        out: dict[str, dict[str, float]] = {}
        for name, values in self.samples.items():
            if len(values):
                array = values.array()
                out[name] = {
                    "median_ms": float(np.median(array)),
                    "p95_ms": float(np.percentile(array, 95)),
                    "mean_ms": float(array.mean()),
                    "frames": int(array.size),
                }
        return out

    def last(self, stage: str) -> float:
        values = self.samples.get(stage)
        return values.latest() if values is not None and len(values) else 0.0


@dataclass
class MatteOutput:
    """Full-resolution alpha (uint8) and, where the model gives one, its foreground colours.

    ``work_copy`` is the refiner's work-size copy of the frame and of its alpha, which saves the
    compositor shrinking them again; it belongs to ``frame`` (the image the matte was made
    from: RGB or a planar picture) and is ignored when the matte is blended over another
    frame, as live mode does when it reuses a matte.
    """

    alpha: np.ndarray
    foreground: np.ndarray | None = None
    work_copy: tuple[np.ndarray, np.ndarray] | None = None
    frame: np.ndarray | Picture | None = None


class Stages:
    """Matter → TemporalFilter → Refiner → Compositor, with timings.

    Each frame is shrunk once to the model's size (the alpha's size); that small grey image
    serves the scene-cut check, the decision to skip the model on a still frame
    (``model.skip_still``) and the temporal filter, so no stage shrinks the frame again.
    """

    def __init__(
        self,
        config: Config,
        matter: Matter | None = None,
        backgrounds: list[Background] | None = None,
    ) -> None:
        self.config = config
        self.matter = matter if matter is not None else create_matter(config.model)
        self.temporal = TemporalFilter(config.temporal)
        self.refiner = Refiner(config.refine)
        # A true matte (quality "best": MODNet, RVM) already has its edge: the guided filter,
        # tuned for a segmenter's blurry 256-px edge, only costs it MAD (best on DAVIS: 7.76
        # upsampled, 8.09 refined; P3M 21.05 and 21.42), so it is upsampled alone.
        self.upsampler = Refiner(dataclasses.replace(config.refine, enabled=False))
        self.backgrounds = backgrounds or parse_backgrounds(
            config.background.specs, config.background.blur
        )
        self.compositor = Compositor(self.backgrounds[0], config.background)
        self.timer = StageTimer()
        self.scene_cuts = 0
        self.model_skipped = 0
        self._model_frame: np.ndarray | None = None  # the frame at the model's size (reused)
        self._scratch: dict[str, np.ndarray] = {}  # the model input's intermediate buffers
        self._alpha_size: tuple[int, int] | None = None  # (w, h) of the last alpha
        self._cuts = SceneCutDetector(config.temporal.scene_cut)
        self._model_thumb: np.ndarray | None = None  # thumbnail when the model last ran
        self._last: Matte | None = None  # the model's last answer, for skipped frames
        self._skip_run = 0

    @property
    def transparent(self) -> bool:
        return self.compositor.transparent

    def reset(self) -> None:
        """Forget everything carried between frames (new clip, seek, camera restart)."""
        self.matter.reset()
        self.temporal.reset()
        self._forget()
        self._alpha_size = None  # the next frame may have another size (a set of photos)

    def _forget(self) -> None:
        self._model_thumb = self._last = None
        self._cuts.reset()
        self._skip_run = 0

    def matte(self, image: np.ndarray | Picture) -> MatteOutput:
        """The refined, smoothed, full-resolution alpha for one frame (RGB, or a decoded
        4:2:0 :class:`~livematte.planar.I420Picture`)."""
        began = time.perf_counter()
        picture = as_picture(image)  # the model's shrink and the refiner's share its halvings
        width, height = picture.width, picture.height
        wanted = self.matter.input_size(width, height)
        size = wanted if wanted is not None else self._alpha_size
        model_frame = grey = thumb = None
        if size is not None:
            model_frame, grey, thumb = self._at_model_size(picture, size)
            if self._cuts(thumb):
                self.scene_cuts += 1
                self.matter.reset()
                self.temporal.reset()
                self._forget()
        reuse = self._can_reuse(thumb)
        if reuse:
            result = self._last
            self.model_skipped += 1
            self._skip_run += 1
        else:
            model_input = (
                model_frame if wanted is not None and model_frame is not None else picture.to_rgb()
            )
            result = self.matter.infer(model_input)
            self._last, self._model_thumb, self._skip_run = result, thumb, 0
        assert result is not None
        resumed = time.perf_counter()
        # The model's share includes making its input (the shrink every model needs).
        self.timer.add("model", (resumed - began) * 1000.0)
        alpha = result.alpha
        alpha_size = (alpha.shape[1], alpha.shape[0])
        if grey is None or alpha_size != size:
            # First frame, or a model whose output size we could not know in advance.
            self._alpha_size = alpha_size
            _, grey, thumb = self._at_model_size(picture, alpha_size)
            if size is None:  # nothing was looked at before the model: the cuts' baseline
                self._cuts(thumb)
            if not reuse:
                self._model_thumb = thumb
        alpha = self.temporal.smooth(alpha, grey.astype(np.float32) * np.float32(1.0 / 255.0))
        now = time.perf_counter()
        self.timer.add("temporal", (now - resumed) * 1000.0)
        with self.timer.time("refine"):
            refiner = self.upsampler if self.matter.quality == "best" else self.refiner
            full = refiner.refine(alpha, picture)
            foreground = None
            if result.foreground is not None:
                foreground = result.foreground
                if foreground.shape[:2] != (height, width):
                    foreground = cv2.resize(
                        foreground, (width, height), interpolation=cv2.INTER_LINEAR
                    )
        return MatteOutput(full, foreground, refiner.work_copy, image)

    def _at_model_size(
        self, picture: Picture, size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The frame at ``size`` (RGB, a reused buffer), in grey, and a tiny grey thumbnail."""
        width, height = size
        if self._model_frame is None or self._model_frame.shape[:2] != (height, width):
            self._model_frame = np.empty((height, width, 3), np.uint8)
        shrunk = picture.model_input(width, height, dst=self._model_frame, scratch=self._scratch)
        grey = cv2.cvtColor(shrunk, cv2.COLOR_RGB2GRAY)
        return shrunk, grey, thumbnail(grey)

    def _can_reuse(self, thumb: np.ndarray | None) -> bool:
        """No block of the frame moved since the model last ran (and not too many in a row)."""
        cfg = self.config.model
        reference = self._model_thumb
        if (
            cfg.skip_still <= 0
            or thumb is None
            or reference is None
            or self._last is None
            or self._skip_run >= cfg.skip_max
            or reference.shape != thumb.shape
        ):
            return False
        return float(cv2.absdiff(thumb, reference).max()) <= cfg.skip_still * 255.0

    def composite(self, image: np.ndarray | Picture, matte: MatteOutput, out: Any) -> Any:
        """Blend ``image`` over the background into ``out``; safe on another thread than
        :meth:`matte` (the compositor's buffers are its own) given a :meth:`MatteOutput`
        whose buffers the next matte does not overwrite (see ``run.offline.MatteRing``).

        An :class:`~livematte.planar.I420Picture` is blended plane by plane into ``out``,
        another one (see :meth:`can_stay_planar`); an RGB frame into an RGB(A) array.
        """
        work_copy = matte.work_copy if matte.frame is image else None
        with self.timer.time("composite"):
            if isinstance(image, I420Picture):
                return self.compositor.composite_planar(image, matte.alpha, out, work_copy)
            rgb = image.rgb if isinstance(image, RgbPicture) else image
            return self.compositor.composite(rgb, matte.alpha, out, matte.foreground, work_copy)

    def can_stay_planar(self, width: int, height: int) -> bool:
        """Whether frames can go through as decoded 4:2:0 (see :mod:`livematte.planar`): a
        model fed a shrunk copy (not a full-frame one with its own foreground colours) and a
        background the planar blend can make."""
        return (
            self.matter.input_size(width, height) is not None and self.compositor.supports_planar()
        )

    def switch_quality(self, quality: str) -> None:
        """Swap the running ``--model auto`` for one at ``quality`` (the control page's
        switch): the new model is built, the stages start afresh, the old one is closed."""
        old = self.matter
        model = dataclasses.replace(self.config.model, quality=typing.cast(Quality, quality))
        self.matter = create_matter(model)
        self.reset()
        old.close()
        log.info("quality %s: model %s", quality, self.matter.name)

    def close(self) -> None:
        for background in self.backgrounds:
            background.close()
        self.matter.close()
