"""Alpha smoothing across frames: steady where the picture is still, instant where it moves.

A plain exponential average trades flicker for lag. Here the weight given to the previous
alpha is decided per pixel, from two things the model's output alone cannot tell us:

- how still that part of the picture is (blurred frame difference at the model's size):
  where the image changed, the alpha follows the new value at once, so nothing trails a
  moving person;
- how unsure the model is (alpha near 0.5), as MediaPipe's own smoothing calculator does:
  confident values need no help.

On top, a small dead band (hysteresis) in still, unsure regions swallows the frame-to-frame
jitter of a hair or shoulder edge that chatters around 0.5: such a pixel changes only when
the model moves it by more than ``deadband`` (so it may rest up to that far from the
model's value). Confident values are never held back. A scene cut starts afresh (the
caller detects it and calls :meth:`TemporalFilter.reset`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import TemporalConfig


class TemporalFilter:
    """Works at the model's resolution (a few thousand pixels), so it costs a fraction of a ms.

    The buffers are kept between frames and reused; the returned array is one of them and is
    only valid until the next call.
    """

    def __init__(self, config: TemporalConfig) -> None:
        self.config = config
        self._alpha: np.ndarray | None = None
        self._grey: np.ndarray | None = None
        self._work: list[np.ndarray] = []

    def reset(self) -> None:
        """Forget the past: the next frame is taken as it is."""
        self._alpha = None
        self._grey = None

    def smooth(self, alpha: np.ndarray, grey: np.ndarray) -> np.ndarray:
        """Return the smoothed alpha (float32 in [0, 1]) for this frame.

        ``grey`` is the frame in grey, float32 in [0, 1], at the same size as ``alpha``.
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
        still, doubt, delta, scratch = self._buffers(alpha.shape)
        # Stillness: 1 where the neighbourhood did not change, 0 beyond motion_threshold.
        cv2.absdiff(grey, prev_grey, dst=scratch)
        cv2.GaussianBlur(scratch, (0, 0), 1.0, dst=still)
        np.multiply(still, -1.0 / cfg.motion_threshold, out=still)
        np.add(still, 1.0, out=still)
        np.clip(still, 0.0, 1.0, out=still)
        # doubt = still * (1 - certainty^4), certainty = |2 alpha - 1|: 1 for an unsure
        # value in a still region, 0 for a certain one (0 or 1) or a moving region. The 4th
        # power keeps doubt high up to about 0.1 / 0.9 (measured: the 2nd power leaves a
        # third more flicker on talking heads).
        np.multiply(alpha, 2.0, out=doubt)
        np.subtract(doubt, 1.0, out=doubt)
        np.multiply(doubt, doubt, out=doubt)
        np.multiply(doubt, doubt, out=doubt)
        np.subtract(1.0, doubt, out=doubt)
        np.multiply(doubt, still, out=doubt)
        # Dead band (hysteresis): where in doubt, changes smaller than deadband are noise.
        # A confident new value is never held back, so solid regions reach 0 or 1 at once.
        np.subtract(alpha, prev_alpha, out=delta)
        np.multiply(doubt, cfg.deadband, out=scratch)
        _shrink(delta, scratch)
        # past = strength * doubt: how much of the past survives (reusing doubt's buffer).
        past = np.multiply(doubt, cfg.strength, out=doubt)
        # out = prev + delta * (1 - past), written over the remembered alpha.
        np.subtract(1.0, past, out=past)
        np.multiply(delta, past, out=delta)
        np.add(prev_alpha, delta, out=prev_alpha)
        np.copyto(prev_grey, grey)
        return prev_alpha

    def _buffers(self, shape: tuple[int, ...]) -> list[np.ndarray]:
        if not self._work or self._work[0].shape != shape:
            self._work = [np.empty(shape, np.float32) for _ in range(4)]
        return self._work

    def _remember(self, alpha: np.ndarray, grey: np.ndarray) -> None:
        self._alpha = alpha.astype(np.float32, copy=True)
        self._grey = grey.astype(np.float32, copy=True)


def _shrink(delta: np.ndarray, band: np.ndarray) -> None:
    """Soft threshold in place: move ``delta`` towards 0 by ``band``, stopping at 0."""
    magnitude = np.abs(delta)
    np.subtract(magnitude, band, out=magnitude)
    np.maximum(magnitude, 0.0, out=magnitude)
    np.copysign(magnitude, delta, out=delta)
