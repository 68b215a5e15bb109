"""The per-frame work, shared by the offline and live drivers: matte, smooth, refine, blend.

``Stages`` owns one instance of each stage and times each call, so every driver reports
the same per-stage figures. It knows the order of the stages; the stages know nothing of
each other.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from .composite import Background, Compositor, parse_backgrounds
from .config import Config
from .matting import Matter, create_matter
from .refine import Refiner
from .temporal import TemporalFilter

STAGE_NAMES = ("decode", "model", "temporal", "refine", "composite", "encode")
# Width of the thumbnail used to spot scene cuts before the model runs.
_CUT_THUMB_WIDTH = 64


class StageTimer:
    """Milliseconds per stage per frame, over the most recent frames (bounded memory)."""

    def __init__(self, keep: int = 20000) -> None:
        self.samples: dict[str, deque[float]] = {name: deque(maxlen=keep) for name in STAGE_NAMES}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, (time.perf_counter() - start) * 1000.0)

    def add(self, stage: str, ms: float) -> None:
        self.samples.setdefault(stage, deque(maxlen=20000)).append(ms)

    def summary(self) -> dict[str, dict[str, float]]:
        """Median and p95 per stage that ran, in ms."""
        out: dict[str, dict[str, float]] = {}
        for name, values in self.samples.items():
            if values:
                array = np.fromiter(values, dtype=np.float64)
                out[name] = {
                    "median_ms": float(np.median(array)),
                    "p95_ms": float(np.percentile(array, 95)),
                    "mean_ms": float(array.mean()),
                    "frames": int(array.size),
                }
        return out

    def last(self, stage: str) -> float:
        values = self.samples.get(stage)
        return values[-1] if values else 0.0


@dataclass
class MatteOutput:
    """Full-resolution alpha (uint8) and, where the model gives one, its foreground colours."""

    alpha: np.ndarray
    foreground: np.ndarray | None = None


class Stages:
    """Matter → TemporalFilter → Refiner → Compositor, with timings."""

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
        self.backgrounds = backgrounds or parse_backgrounds(
            config.background.specs, config.background.blur
        )
        self.compositor = Compositor(self.backgrounds[0], config.background)
        self.timer = StageTimer()
        self._thumb: np.ndarray | None = None
        self.scene_cuts = 0

    @property
    def transparent(self) -> bool:
        return self.compositor.transparent

    def reset(self) -> None:
        """Forget everything carried between frames (new clip, seek, camera restart)."""
        self.matter.reset()
        self.temporal.reset()
        self._thumb = None

    def matte(self, rgb: np.ndarray) -> MatteOutput:
        """The refined, smoothed, full-resolution alpha for one frame."""
        if self._is_scene_cut(rgb):
            self.scene_cuts += 1
            self.matter.reset()
            self.temporal.reset()
        with self.timer.time("model"):
            result = self.matter.infer(rgb)
        with self.timer.time("temporal"):
            alpha = result.alpha
            grey = _small_grey(rgb, alpha.shape[1], alpha.shape[0])
            alpha = self.temporal.smooth(alpha, grey)
        with self.timer.time("refine"):
            full = self.refiner.refine(alpha, rgb)
            foreground = None
            if result.foreground is not None:
                foreground = result.foreground
                if foreground.shape[:2] != rgb.shape[:2]:
                    foreground = cv2.resize(
                        foreground, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR
                    )
        return MatteOutput(full, foreground)

    def composite(self, rgb: np.ndarray, matte: MatteOutput, out: np.ndarray) -> np.ndarray:
        with self.timer.time("composite"):
            return self.compositor.composite(rgb, matte.alpha, out, matte.foreground)

    def output_channels(self) -> int:
        return 4 if self.transparent else 3

    def _is_scene_cut(self, rgb: np.ndarray) -> bool:
        """Mean grey difference of a tiny thumbnail against the previous frame's."""
        height, width = rgb.shape[:2]
        thumb_h = max(1, round(height * _CUT_THUMB_WIDTH / width))
        thumb = _small_grey(rgb, _CUT_THUMB_WIDTH, thumb_h)
        previous, self._thumb = self._thumb, thumb
        if previous is None or previous.shape != thumb.shape:
            return False
        return float(cv2.absdiff(thumb, previous).mean()) > self.config.temporal.scene_cut

    def close(self) -> None:
        for background in self.backgrounds:
            background.close()
        close = getattr(self.matter, "close", None)
        if close is not None:
            close()


def _small_grey(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame shrunk to (width, height), grey, float32 in [0, 1]."""
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return grey.astype(np.float32) * (1.0 / 255.0)
