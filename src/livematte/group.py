"""Group pictures with exact ground truth: people cut out with their own alphas, laid side
by side (partly overlapping) over a background, and each person's own score.

A real group photo comes with, at best, one hand-made mask for everyone; composited people
give the whole alpha *and* each person's visible part, so a model that drops one person of
seven is seen to, where the whole-frame IoU would hardly move. Used by
``tools/make_group_set.py`` (the set built from the shared data) and by the tests (a group
built from the packaged astronaut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# A person whose own IoU is under this counts as lost.
LOST_IOU = 0.5
# Widest share of the canvas a row of people may take (the rest is margin).
ROW_WIDTH = 0.96


@dataclass(frozen=True)
class Cutout:
    """A person's pixels (RGB uint8) and alpha (float32 in [0, 1]), cropped to the alpha."""

    rgb: np.ndarray
    alpha: np.ndarray

    @classmethod
    def from_alpha(cls, rgb: np.ndarray, alpha: np.ndarray, level: int = 8) -> Cutout:
        """The box around ``alpha`` (uint8, 0-255) above ``level``, as a cutout."""
        points = cv2.findNonZero(np.greater(alpha, level).view(np.uint8))
        if points is None:
            raise ValueError("the alpha holds no person")
        x, y, w, h = cv2.boundingRect(points)
        crop = alpha[y : y + h, x : x + w].astype(np.float32) / 255.0
        return cls(np.ascontiguousarray(rgb[y : y + h, x : x + w]), crop)

    def scaled(self, height: int) -> Cutout:
        """The cutout resized to ``height`` pixels tall, its aspect kept."""
        factor = height / self.rgb.shape[0]
        size = (max(1, round(self.rgb.shape[1] * factor)), max(1, height))
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        rgb = cv2.resize(self.rgb, size, interpolation=interpolation)
        alpha = cv2.resize(self.alpha, size, interpolation=interpolation)
        return Cutout(rgb, np.clip(alpha, 0.0, 1.0))


@dataclass(frozen=True)
class Placement:
    """Where a scaled cutout's top-left corner goes (may lie partly outside the canvas)."""

    cutout: Cutout
    x: int
    y: int


@dataclass(frozen=True)
class Group:
    """A composited picture: RGB uint8, the whole alpha and each person's visible alpha
    (float32, front people hiding those behind), in the order they were placed."""

    rgb: np.ndarray
    alpha: np.ndarray
    people: list[np.ndarray]


def _window(place: Placement, height: int, width: int) -> tuple[slice, slice, slice, slice]:
    """(canvas rows, canvas columns, cutout rows, cutout columns) where they overlap."""
    h, w = place.cutout.alpha.shape
    top, left = max(0, place.y), max(0, place.x)
    bottom, right = min(height, place.y + h), min(width, place.x + w)
    if bottom <= top or right <= left:
        return slice(0, 0), slice(0, 0), slice(0, 0), slice(0, 0)
    return (
        slice(top, bottom),
        slice(left, right),
        slice(top - place.y, bottom - place.y),
        slice(left - place.x, right - place.x),
    )


def compose(background: np.ndarray, placements: Sequence[Placement]) -> Group:
    """People over ``background`` (RGB uint8), back to front in the order given."""
    height, width = background.shape[:2]
    rgb = background.astype(np.float32)
    alpha = np.zeros((height, width), np.float32)
    people: list[np.ndarray] = []
    for place in placements:
        rows, cols, crows, ccols = _window(place, height, width)
        own = np.zeros((height, width), np.float32)
        own[rows, cols] = place.cutout.alpha[crows, ccols]
        for behind in people:  # whoever stands in front hides this much of the others
            behind *= 1.0 - own
        people.append(own)
        a = own[rows, cols, None]
        rgb[rows, cols] = place.cutout.rgb[crows, ccols] * a + rgb[rows, cols] * (1.0 - a)
        alpha = own + alpha * (1.0 - own)
    out = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return Group(out, alpha, people)


def regions(people: Sequence[np.ndarray]) -> np.ndarray:
    """Each pixel's nearest person (int32 labels 0..n-1): a person is scored on their own
    region, so a matte spilling into the background next to them counts against them."""
    labels = np.zeros(people[0].shape, np.int32)
    if len(people) == 1:
        return labels
    distances = np.stack(
        [
            cv2.distanceTransform(np.less_equal(p, 0.5).view(np.uint8), cv2.DIST_L2, 3)
            for p in people
        ]
    )
    return np.argmin(distances, axis=0).astype(np.int32)


def person_ious(alpha: np.ndarray, people: Sequence[np.ndarray]) -> list[float]:
    """Each person's IoU: the matte (float in [0, 1], or uint8) over half against their
    visible part over 0.5, both within the region nearest to them (see :func:`regions`)."""
    found = np.greater(alpha, 127.5 if alpha.dtype == np.uint8 else 0.5)
    labels = regions(people)
    scores = []
    for index, person in enumerate(people):
        mine = labels == index
        truth = np.greater(person, 0.5) & mine
        guess = found & mine
        union = np.count_nonzero(truth | guess)
        scores.append(float(np.count_nonzero(truth & guess) / union) if union else 1.0)
    return scores


def side_by_side(
    background: np.ndarray,
    cutouts: Sequence[Cutout],
    height: float,
    overlap: float = 0.15,
    ground: float = 1.0,
    offset: float = 0.0,
    fit: bool = True,
) -> Group:
    """``cutouts`` scaled to ``height`` (share of the canvas height) and laid in a row
    centred on the canvas, each overlapping its neighbour by ``overlap`` of its width, their
    feet at ``ground`` (share of the height; over 1 cuts them at the bottom), the row moved
    right by ``offset`` (share of the width). Alternate people stand in front. The height
    is lowered where the row would not fit ROW_WIDTH of the canvas (``fit``: a row that
    slides in and out is not fitted)."""
    canvas_h, canvas_w = background.shape[:2]
    aspects = [c.alpha.shape[1] / c.alpha.shape[0] for c in cutouts]
    row = canvas_h * (sum(aspects) - overlap * sum(aspects[1:]))
    if fit:
        height = min(height, ROW_WIDTH * canvas_w / row)
    scaled = [c.scaled(max(2, round(height * canvas_h))) for c in cutouts]
    widths = [c.alpha.shape[1] for c in scaled]
    total = sum(widths) - overlap * sum(widths[1:])
    x = (canvas_w - total) / 2 + offset * canvas_w
    places = []
    for cutout, w in zip(scaled, widths, strict=True):
        y = round(ground * canvas_h) - cutout.alpha.shape[0]
        places.append(Placement(cutout, round(x), y))
        x += w * (1.0 - overlap)
    order = sorted(range(len(places)), key=lambda i: i % 2)  # odd ones in front
    group = compose(background, [places[i] for i in order])
    people = [group.people[order.index(i)] for i in range(len(places))]
    return Group(group.rgb, group.alpha, people)
