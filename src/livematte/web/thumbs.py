"""Small pictures of the gallery's backgrounds for the page, made once per spec.

Made from the files themselves (never from the background objects, which the live loop
uses at the same time: a video background's position must not move for a thumbnail).
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..frame import cover_resize
from ..io.sources import IMAGE_EXTENSIONS, VideoFileSource, read_image

SIZE = (160, 90)


class Thumbnails:
    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, spec: str) -> bytes:
        with self._lock:
            if spec not in self._cache:
                self._cache[spec] = encode_jpeg(picture(spec))
            return self._cache[spec]


def picture(spec: str) -> np.ndarray:
    """An RGB thumbnail for a background spec (a labelled tile when there is no picture)."""
    width, height = SIZE
    if spec.startswith("#") and len(spec) == 7:
        tile = np.empty((height, width, 3), np.uint8)
        tile[:] = [int(spec[i : i + 2], 16) for i in (1, 3, 5)]
        return tile
    path = Path(spec)
    try:
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return cover_resize(read_image(path), width, height)
        if path.is_file():
            source = VideoFileSource(path)
            try:
                first = next(iter(source), None)
            finally:
                source.close()
            if first is not None:
                return cover_resize(first.image, width, height)
    except UserError:
        pass
    return _label(spec.split(":")[0] if spec.startswith("blur") else path.name or spec)


def _label(text: str) -> np.ndarray:
    width, height = SIZE
    ramp = np.linspace(70, 150, width, dtype=np.uint8)
    tile: np.ndarray = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)
    tile = cv2.GaussianBlur(tile, (0, 0), 3)
    cv2.putText(
        tile,
        text[:14],
        (8, height // 2 + 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return tile


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    ok, data = cv2.imencode(
        ".jpg",
        cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, quality],
    )
    return data.tobytes() if ok else b""
