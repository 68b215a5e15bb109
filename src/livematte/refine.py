"""Bringing the model's low-resolution alpha to the frame's full resolution.

Bilinear upsampling of a 256x144 mask gives soft, blocky edges. A guided filter with the
frame as guide snaps the edge to the real contour (hair, shoulders). It runs at a reduced
"work" size (a fast guided filter) and its result is applied only where the model is
unsure, so confident regions keep the model's answer and MAD does not rise.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import RefineConfig


class Refiner:
    """Low-res float alpha + full-res RGB frame → full-res uint8 alpha."""

    def __init__(self, config: RefineConfig) -> None:
        self.config = config
        self._full: np.ndarray | None = None

    def refine(self, alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        cfg = self.config
        height, width = rgb.shape[:2]
        if self._full is None or self._full.shape != (height, width):
            self._full = np.empty((height, width), np.uint8)
        if not cfg.enabled:
            up = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
            return self._to_u8(up)
        work_w, work_h = _work_size(width, height, cfg.work_size)
        guide = cv2.resize(rgb, (work_w, work_h), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(alpha, (work_w, work_h), interpolation=cv2.INTER_LINEAR)
        guided = cv2.ximgproc.guidedFilter(guide, coarse, cfg.radius, cfg.eps * 255.0 * 255.0)
        # Trust the guided edge only where the model was unsure.
        uncertainty = 1.0 - np.abs(2.0 * coarse - 1.0)
        snapped = coarse + uncertainty * (guided - coarse)
        if cfg.feather > 0:
            snapped = cv2.GaussianBlur(snapped, (0, 0), cfg.feather * work_w / width)
        up = cv2.resize(snapped, (width, height), interpolation=cv2.INTER_LINEAR)
        return self._to_u8(up)

    def _to_u8(self, alpha: np.ndarray) -> np.ndarray:
        out = self._full
        assert out is not None
        cv2.convertScaleAbs(np.clip(alpha, 0.0, 1.0, out=alpha), out, alpha=255.0)
        return out


def _work_size(width: int, height: int, work_size: int) -> tuple[int, int]:
    longest = max(width, height)
    if work_size <= 0 or longest <= work_size:
        return width, height
    scale = work_size / longest
    return max(1, round(width * scale)), max(1, round(height * scale))
