"""The pictures a live run shows instead of the camera: privacy ("p") and on-demand pause.

Privacy shows the chosen still picture (``--privacy-image``, loaded at start so a bad path
fails then rather than when "p" is pressed mid-call), else freezes on the last output
(black before the first one). With on-demand and nobody watching, a still "paused" picture
goes out once a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..frame import cover_resize
from ..io.images import read_image

# Seconds between two "paused" pictures while nobody watches (on demand).
PAUSED_SECONDS = 1.0


class PrivacyPictures:
    """The frozen picture and the paused one, at the output's size (reused buffers)."""

    def __init__(self, width: int, height: int, privacy_image: str = "") -> None:
        self.width, self.height = width, height
        self.frozen = np.zeros((height, width, 3), np.uint8)
        self._image = (
            cover_resize(read_image(Path(privacy_image)), width, height) if privacy_image else None
        )
        self._paused: np.ndarray | None = None
        self.paused_at = -PAUSED_SECONDS  # when the paused picture last went out

    def freeze(self, last: np.ndarray | None) -> None:
        """Privacy on: the chosen still, else ``last`` (the last output), else black."""
        if self._image is not None:
            np.copyto(self.frozen, self._image)
        elif last is not None:
            np.copyto(self.frozen, last)
        else:
            self.frozen[:] = 0

    def paused_due(self, now: float) -> np.ndarray | None:
        """The paused picture if a second has passed since the last one went out, else None."""
        if now - self.paused_at < PAUSED_SECONDS:
            return None
        if self._paused is None:
            from .on_demand import paused_picture

            self._paused = paused_picture(self.width, self.height)
        self.paused_at = now
        return self._paused
