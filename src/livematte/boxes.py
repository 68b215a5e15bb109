"""Boxes on images: the band around an edge, split into few boxes, and mapped between sizes.

Shared by the refiner and the compositor, which both work only where the alpha is
fractional and must agree on where that is on frames of any size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[tuple[int, int], tuple[int, int]]

# How the edge band is cut into boxes (see band_regions): row strips, and the widest empty
# gap (work pixels) kept inside one box.
_STRIPS = 6
_GAP = 12
# Split boxes are used only when they cover less than this fraction of the single box.
_SPLIT_GAIN = 0.6


def band_box(mask: np.ndarray, pad: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(rows, columns) half-open ranges of the box around ``mask``, padded; None if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (
        (max(0, rows[0] - pad), min(height, rows[-1] + 1 + pad)),
        (max(0, cols[0] - pad), min(width, cols[-1] + 1 + pad)),
    )


def band_regions(
    mask: np.ndarray, pad: int, strips: int = _STRIPS, gap: int = _GAP
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Disjoint boxes that together cover ``mask`` grown by ``pad`` pixels.

    One box around a person's edge band would take in their whole face or body, most of a
    frame when they fill it; so the rows are cut into ``strips`` bands and each band's
    columns into runs split at empty gaps wider than ``gap``: the two sides of a head become
    two narrow boxes. Few boxes, so the per-box cost of the callers stays small.
    """
    if pad > 0:
        mask = cv2.dilate(mask.view(np.uint8), np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    height = mask.shape[0]
    regions: list[tuple[tuple[int, int], tuple[int, int]]] = []
    edges = np.linspace(0, height, min(strips, height) + 1).round().astype(int)
    for top, bottom in zip(edges[:-1], edges[1:], strict=True):
        band = mask[top:bottom]
        rows = np.flatnonzero(band.any(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(band.any(axis=0))
        breaks = np.flatnonzero(np.diff(cols) > gap)
        starts = [cols[0], *cols[breaks + 1]]
        ends = [*cols[breaks], cols[-1]]
        y_range = (top + int(rows[0]), top + int(rows[-1]) + 1)
        regions.extend((y_range, (int(a), int(b) + 1)) for a, b in zip(starts, ends, strict=True))
    if len(regions) > 1:
        # Each box has a fixed cost: worth it only when they leave out much of the frame.
        box = band_box(mask, 0)
        assert box is not None
        area = sum((y1 - y0) * (x1 - x0) for (y0, y1), (x0, x1) in regions)
        (y0, y1), (x0, x1) = box
        if area > _SPLIT_GAIN * (y1 - y0) * (x1 - x0):
            return [box]
    return regions


def upsample_region(
    image: np.ndarray, box: tuple[tuple[int, int], tuple[int, int]], full: tuple[int, ...]
) -> np.ndarray:
    """``image[box]`` bilinearly upsampled onto the box's part of a ``full``-shaped image,
    as upsampling the whole image would give it (so neighbouring boxes join seamlessly):
    the box is resized with one pixel of context around it, which is then cut off."""
    (y0, y1), (x0, x1) = box
    height, width = image.shape[:2]
    outer = ((max(0, y0 - 1), min(height, y1 + 1)), (max(0, x0 - 1), min(width, x1 + 1)))
    rows, cols = scale_box(box, image.shape, full)
    outer_rows, outer_cols = scale_box(outer, image.shape, full)
    (oy0, oy1), (ox0, ox1) = outer
    size = (outer_cols.stop - outer_cols.start, outer_rows.stop - outer_rows.start)
    up = cv2.resize(image[oy0:oy1, ox0:ox1], size, interpolation=cv2.INTER_LINEAR)
    top, left = rows.start - outer_rows.start, cols.start - outer_cols.start
    return up[top : top + rows.stop - rows.start, left : left + cols.stop - cols.start]


def scale_box(
    box: tuple[tuple[int, int], tuple[int, int]],
    small: tuple[int, ...],
    full: tuple[int, ...],
) -> tuple[slice, slice]:
    """The (rows, columns) slices of a box of a ``small`` image on the ``full`` image."""
    (y0, y1), (x0, x1) = box
    sy, sx = full[0] / small[0], full[1] / small[1]
    rows = slice(round(y0 * sy), min(full[0], round(y1 * sy)))
    cols = slice(round(x0 * sx), min(full[1], round(x1 * sx)))
    return rows, cols


def shrink_factor(width: int, height: int, work_size: int) -> int:
    """The whole factor that brings the long side to at most ``work_size`` (1 = unchanged)."""
    if work_size <= 0:
        return 1
    return max(1, math.ceil(max(width, height) / work_size))


def tiles(width: int, height: int, overlap: float = 0.5) -> list[tuple[int, int, int]]:
    """(x, y, side) of the squares that cover a frame: one (the frame's short side) at each
    end of the long side and enough between for neighbours to share ``overlap`` of a side."""
    side = min(width, height)
    length = max(width, height)
    count = 1 + math.ceil((length - side) / (side * (1.0 - overlap)))
    starts = np.linspace(0, length - side, count).round().astype(int)
    if width >= height:
        return [(int(x), 0, side) for x in starts]
    return [(0, int(y), side) for y in starts]
