"""Alpha smoothing across frames: steady where the picture is still, instant where it moves.

A plain exponential average trades flicker for lag. Here the weight given to the previous
alpha is decided per pixel, from two things the model's own output cannot tell us: how
still that part of the picture is (frame difference at the model's resolution) and how
unsure the model is there (alpha near 0.5). Still, unsure pixels lean on the past; moving
or confident pixels take the new value at once. A scene cut starts afresh.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import TemporalConfig


class TemporalFilter:
    """Works at the model's resolution on float32 alpha, so it costs well under 1 ms."""

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config
        self._alpha: np.ndarray | None = None
        self._grey: np.ndarray | None = None

    def reset(self) -> None:
        self._alpha = None
        self._grey = None

    def smooth(self, alpha: np.ndarray, grey: np.ndarray) -> np.ndarray:
        """Return the smoothed alpha for this frame.

        ``grey`` is the frame in grey, float32 in [0, 1], at the same size as ``alpha``. Scene
        cuts are spotted by the caller, which then calls :meth:`reset`.
        """
        cfg = self.config
        prev_alpha, prev_grey = self._alpha, self._grey
        if (
            not cfg.enabled
            or prev_alpha is None
            or prev_grey is None
            or prev_alpha.shape != alpha.shape
        ):
            self._remember(alpha, grey)
            return alpha
        motion = cv2.GaussianBlur(cv2.absdiff(grey, prev_grey), (5, 5), 0)
        stillness = np.clip(1.0 - motion / cfg.motion_threshold, 0.0, 1.0)
        # Uncertainty 1 at alpha 0.5, 0 at 0 or 1: confident pixels need no help.
        uncertainty = 1.0 - np.abs(2.0 * alpha - 1.0)
        keep = cfg.strength * stillness * np.sqrt(uncertainty)
        out = alpha + keep * (prev_alpha - alpha)
        self._remember(out, grey)
        return out

    def _remember(self, alpha: np.ndarray, grey: np.ndarray) -> None:
        self._alpha = alpha.astype(np.float32, copy=True)
        self._grey = grey.astype(np.float32, copy=True)
