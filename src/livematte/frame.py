"""The unit that flows through the pipeline, and the few pixel helpers every stage shares.

Channel order inside livematte is RGB (what PyAV, MediaPipe and pyvirtualcam use); BGR
from OpenCV is converted at the edges only.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np


@dataclass
class Frame:
    """One RGB uint8 picture with where it sits in time.

    ``pts``/``time_base`` are the source's own timestamps, kept so an encoded output has the
    same timing (variable frame rate included). ``captured_at`` is ``time.perf_counter()``
    when the frame arrived, for live latency figures. A video source asked for planar
    frames (see :mod:`livematte.planar`) sets ``yuv`` instead and leaves ``rgb`` None.
    """

    rgb: np.ndarray | None
    index: int
    pts: int | None = None
    time_base: Fraction | None = None
    captured_at: float = 0.0
    yuv: Any = None  # an I420Picture (typed loosely: planar.py imports this module)
    # The source picture's own name (a folder of photos), for outputs named after it.
    name: str | None = None

    @property
    def time(self) -> float | None:
        """Seconds from the start of the source, when known."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    @property
    def image(self) -> np.ndarray:
        """The RGB pixels. A frame from a source asked for planar frames carries ``yuv``
        instead (``rgb`` is None): only the drivers that asked for those read them."""
        if self.rgb is None:
            raise ValueError("this frame is decoded 4:2:0 (frame.yuv), not RGB")
        return self.rgb

    @property
    def height(self) -> int:
        return int(self.yuv.height if self.rgb is None else self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.yuv.width if self.rgb is None else self.rgb.shape[1])


def to_rgb8(image: np.ndarray, bgr: bool = True) -> np.ndarray:
    """Any image OpenCV can load (grey, BGRA, 16-bit, float) as contiguous RGB uint8."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 4:
        code = cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(image, code)
    if bgr:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def cover_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover width x height, keeping its aspect ratio, centred and cropped."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


class Halvings:
    """One frame's exact 2x area halvings, each made at most once.

    The model's shrink and the refiner's both start by halving the same full-resolution
    frame (the costliest step, ~0.26 ms at 720p); sharing this object lets the second one
    reuse the first one's result.
    """

    def __init__(self, image: np.ndarray) -> None:
        self._levels = [image]

    def level(self, count: int) -> np.ndarray:
        """The frame halved ``count`` times (callers only ask for even-sized levels)."""
        while len(self._levels) <= count:
            previous = self._levels[-1]
            height, width = previous.shape[:2]
            self._levels.append(
                cv2.resize(previous, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
            )
        return self._levels[count]


def shrink_to(
    image: np.ndarray,
    width: int,
    height: int,
    dst: np.ndarray | None = None,
    halvings: Halvings | None = None,
) -> np.ndarray:
    """``image`` averaged down to exactly width x height, cheaply at any ratio.

    OpenCV's area average is fast only for an exact halving (0.26 ms at 720p); 720p straight
    to 256x144 costs 1.4 ms. So: exact halvings while the frame is 4x too big, bilinear to
    twice the target (a mild step, little aliasing), then one last halving by area.
    ``halvings`` (of this same ``image``) shares the exact halvings with other shrinks.
    """
    height_in, width_in = image.shape[:2]
    count = 0
    while (
        width_in % 2 == 0
        and height_in % 2 == 0
        and width_in >= 4 * width
        and height_in >= 4 * height
    ):
        width_in, height_in = width_in // 2, height_in // 2
        count += 1
    if count:
        image = (halvings or Halvings(image)).level(count)
    if width_in > 2 * width and height_in > 2 * height:
        image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, (width, height), dst=dst, interpolation=cv2.INTER_AREA)
