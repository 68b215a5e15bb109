"""Turning pictures upright: a video's display matrix and a photo's EXIF orientation.

Phones store the sensor's pixels as they come and say in a tag how to show them: a clip's
display matrix (``rotate`` 90 for a clip shot upright), a photo's EXIF orientation (6 for
a photo taken upright). Players and viewers apply the tag; livematte turns the pixels
upright as they are read, so the model sees the person standing and every output, written
without a tag, shows the same way round as the input does.

A turn is the matrix's 2x2 part reduced to signs, ``(a, b, c, d)``: a pixel at (x, y) is
shown at (a·x + c·y, b·x + d·y), FFmpeg's convention (``libavutil/display.h``).
"""

from __future__ import annotations

import cv2
import numpy as np

Turn = tuple[int, int, int, int]
UPRIGHT: Turn = (1, 0, 0, 1)

# EXIF orientation (TIFF tag 274) -> the turn that shows the stored pixels as meant.
_EXIF_TURNS: dict[int, Turn] = {
    1: UPRIGHT,
    2: (-1, 0, 0, 1),  # mirrored left to right
    3: (-1, 0, 0, -1),  # upside down
    4: (1, 0, 0, -1),  # mirrored top to bottom
    5: (0, 1, 1, 0),  # transposed
    6: (0, 1, -1, 0),  # shown turned 90° clockwise: a phone held upright
    7: (0, -1, -1, 0),  # transverse
    8: (0, -1, 1, 0),  # shown turned 90° anticlockwise
}
EXIF_ORIENTATION = 0x0112


def exif_turn(orientation: int | None) -> Turn:
    """The turn an EXIF orientation asks for (unknown values: none)."""
    return _EXIF_TURNS.get(int(orientation or 1), UPRIGHT)


def display_turn(matrix: bytes | None) -> Turn | None:
    """The turn a display matrix (nine int32, 16.16 fixed point) asks for; UPRIGHT for
    none, None for a turn that is not a multiple of 90° (livematte does not shear)."""
    if not matrix or len(matrix) < 36:
        return UPRIGHT
    a, b, _, c, d = np.frombuffer(matrix[:20], dtype="<i4").astype(np.float64) / 65536.0
    signs = tuple(int(np.sign(v)) if abs(v) > 0.5 else 0 for v in (a, b, c, d))
    if abs(abs(a) + abs(b) + abs(c) + abs(d) - 2.0) > 0.1 or signs[0] * signs[1] != 0:
        return None
    turn = (signs[0], signs[1], signs[2], signs[3])
    if (turn[0] == 0) != (turn[3] == 0) or (turn[1] == 0) != (turn[2] == 0):
        return None
    return turn


# FFmpeg's older "rotate" stream tag: degrees clockwise to turn the picture to show it.
_ROTATE_TAG_TURNS: dict[int, Turn] = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}


def rotate_tag_turn(tag: str | None) -> Turn | None:
    """The turn a ``rotate`` tag asks for; UPRIGHT for none, None for an odd angle."""
    try:
        degrees = round(float(tag or 0)) % 360
    except ValueError:
        return UPRIGHT
    return UPRIGHT if degrees == 0 else _ROTATE_TAG_TURNS.get(degrees)


def swaps_sides(turn: Turn) -> bool:
    """Whether the turn makes the picture's width its height (90° or 270°)."""
    return turn[0] == 0


def turned_size(width: int, height: int, turn: Turn) -> tuple[int, int]:
    return (height, width) if swaps_sides(turn) else (width, height)


def describe(turn: Turn) -> str:
    """In words, for a log line ("turned 90° clockwise")."""
    names = {
        (-1, 0, 0, 1): "mirrored",
        (-1, 0, 0, -1): "turned 180°",
        (1, 0, 0, -1): "flipped upside down",
        (0, 1, 1, 0): "transposed",
        (0, 1, -1, 0): "turned 90° clockwise",
        (0, -1, -1, 0): "transposed the other way",
        (0, -1, 1, 0): "turned 90° anticlockwise",
    }
    return names.get(turn, "kept as stored")


# The turns one OpenCV call makes (each ~1 ms at 720p; a transpose and a flip in two calls
# cost ~5 ms, measured, for the fresh buffer each writes).
_ONE_CALL = {
    (0, -1, 1, 0): cv2.ROTATE_90_COUNTERCLOCKWISE,
    (0, 1, -1, 0): cv2.ROTATE_90_CLOCKWISE,
    (-1, 0, 0, -1): cv2.ROTATE_180,
}
_FLIPS = {(-1, 0, 0, 1): 1, (1, 0, 0, -1): 0}


def upright(image: np.ndarray, turn: Turn) -> np.ndarray:
    """``image`` as it is meant to be shown (one OpenCV call, two for a mirrored quarter
    turn; no Python loop)."""
    if turn == UPRIGHT:
        return image
    if turn in _ONE_CALL:
        return cv2.rotate(image, _ONE_CALL[turn])
    if turn in _FLIPS:
        return cv2.flip(image, _FLIPS[turn])
    transposed = cv2.transpose(image)
    return transposed if turn == (0, 1, 1, 0) else cv2.flip(transposed, -1)
