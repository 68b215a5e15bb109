"""The one interface every matting model sits behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class Matter(Protocol):
    """Frame in, alpha out.

    ``infer`` takes an RGB uint8 frame (h, w, 3) at full resolution. ``reset`` forgets any
    state carried between frames (recurrent models), called on a scene cut, a seek or a
    restart of the source. ``name`` and ``device`` are shown to the user; ``provider`` is
    what really runs the model (onnxruntime's provider name, e.g. ``CPUExecutionProvider``,
    or e.g. ``LiteRT CPU`` for the built-in model), for reports.
    """

    name: str
    device: str
    provider: str

    def infer(self, rgb: np.ndarray) -> Matte: ...

    def reset(self) -> None: ...
