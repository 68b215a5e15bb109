"""The page's icon, drawn once at import (a green disc: the chroma-key green of the colour
mode) and packed as a one-image .ico holding a PNG, which every browser reads."""

from __future__ import annotations

import struct

import cv2
import numpy as np

_SIZE = 32


def _icon() -> bytes:
    picture = np.zeros((_SIZE, _SIZE, 4), np.uint8)
    centre = (_SIZE // 2, _SIZE // 2)
    cv2.circle(picture, centre, _SIZE // 2 - 1, (64, 177, 0, 255), -1, cv2.LINE_AA)  # BGRA
    cv2.circle(picture, centre, _SIZE // 5, (255, 255, 255, 255), -1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", picture)
    if not ok:  # pragma: no cover - OpenCV always encodes PNG
        raise RuntimeError("the page icon could not be encoded")
    data = png.tobytes()
    header = struct.pack("<HHH", 0, 1, 1)  # reserved, type 1 = icon, one image
    entry = struct.pack("<BBBBHHII", _SIZE, _SIZE, 0, 0, 1, 32, len(data), 6 + 16)
    return header + entry + data


FAVICON = _icon()
