"""The one interface every matting model sits behind."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Matte:
    """A model's answer for one frame.

    ``alpha`` is float32 in [0, 1], shape (h, w), at whatever resolution the model works in
    (the refiner brings it to the frame's size). ``foreground`` is the model's own estimate
    of the person's colours (RGB uint8, same size as ``alpha``) where the model has one
    (Robust Video Matting's ``fgr``); the compositor uses it to remove colour spill.
    """

    alpha: np.ndarray
    foreground: np.ndarray | None = None


class Matter:
    """Frame in, alpha out; subclasses override :meth:`infer` and what else they need.

    The defaults describe the simplest model: it takes the full RGB frame, keeps no state
    between frames and holds nothing that needs closing.
    """

    name: str = "matter"
    """Shown to the user (run summary, statistics, preview)."""
    device: str = "cpu"
    """Where it runs, as the user names devices (cpu, cuda, ...)."""
    provider: str = ""
    """The runtime that really runs it (an onnxruntime provider name)."""
    quality: str = "fast"
    """"best" for a true matte (a matting network: MODNet, RVM), "fast" for a segmenter's
    person/background guess; the stages treat the two differently (see stages)."""

    def input_size(self, width: int, height: int) -> tuple[int, int] | None:
        """The (width, height) the model wants its input shrunk to for a frame of this size,
        so the caller shrinks once and shares the small frame; None takes the full frame."""
        return None

    def infer(self, rgb: np.ndarray) -> Matte:
        """The matte for one RGB uint8 frame (h, w, 3), at :meth:`input_size` when that is
        not None, else at full resolution."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any state carried between frames: a scene cut, a seek, a new source."""

    def close(self) -> None:
        """Release the runtime's resources."""

    def describe(self) -> dict[str, str]:
        """What ran, for reports: model, device, runtime provider and quality."""
        return {
            "model": self.name,
            "device": self.device,
            "provider": self.provider,
            "quality": self.quality,
        }
