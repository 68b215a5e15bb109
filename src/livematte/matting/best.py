"""``--quality best`` under ``--model auto``: MODNet's matte, steered by the fast model.

The fast model (selfie or pose per shot, a few ms; see :mod:`.auto`) finds the person, and
MODNet runs only on a crop around them, at the scale of MODNet's own demo input for the
whole frame: a talking head costs MODNet about half the pixels of the whole frame and gets
the same detail. The two answers are then joined per shot, as measured on the shared P3M
portraits and DAVIS clips:

- close-ups (the selfie model's shots): MODNet's matte, cleared outside the fast model's
  person grown by :data:`GATE` (MODNet marks statues and railings on busy backgrounds) and
  filled inside its confident core shrunk by :data:`CORE` (MODNet leaves holes in faces it
  cannot read, such as P3M's blurred ones);
- wider shots (the pose model's): the pose model's alpha, with MODNet's only in the band
  where the pose model is unsure (its edge). MODNet alone loses limbs in fast, large
  motion (DAVIS dance-twirl: MAD 26.6 against pose's 16.6); its edge on pose's body wins.

Where the fast model sees nobody, MODNet runs on the whole frame alone. The crop moves only
when the person leaves it or it grows much too large, and its sides are multiples of 32
(MODNet's stride), so a still person gets the same input every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .auto import AutoMatter
from .base import Matte, Matter
from .choice import POSE
from .model_spec import round_to
from .modnet import MULTIPLE, ModnetMatter, demo_size

# The fast model's alpha above this is the person whose surroundings MODNet may fill.
REGION_LEVEL = 0.1
# ... grown by this share of the frame's short side (hair, raised hands, fingers).
GATE = 0.08
# The fast model's alpha above this, shrunk by CORE of the short side, is surely person.
CORE_LEVEL = 0.7
CORE = 0.03
# Pose shots: MODNet's weight is BAND_GAIN x (1 - |2 pose - 1|), blurred by BAND_BLUR of the
# short side, so it covers the pose model's unsure edge and a little either side.
BAND_GAIN = 2.0
BAND_BLUR = 0.01
# A crop whose short side is longer than this is shrunk to it first: a large person loses
# nothing (P3M portraits, MODNet alone: MAD 31.3 at 512, 26.6 at 384; Grad 15.0, 12.7) and
# MODNet's cost falls with the pixels (a 720p talking head: about a third of them).
MAX_SHORT = 384
# Live, MODNet's own thread must reach 3 Hz beside the loop on a 2-core CPU: a 320 short
# side does (720p talking head at load 1: 3.3 Hz against 2.4 at 384, 30 fps out either
# way) at no measured cost on close-ups (benchmarks/live_carry.py --quality best --lag 9,
# P3M pans, live MAD 5.48 and 31.04 against 5.35 and 31.22 at 384).
LIVE_MAX_SHORT = 320
# A crop covering more than this share of the frame runs the whole frame instead.
WHOLE_FRAME = 0.8
# The crop is kept while it still holds the person and is at most this much larger.
KEEP_GROWTH = 1.5


@dataclass(frozen=True)
class Box:
    """A crop in pixels of the model canvas: x0, y0 inclusive, x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    def holds(self, other: Box) -> bool:
        return (
            self.x0 <= other.x0
            and self.y0 <= other.y0
            and self.x1 >= other.x1
            and self.y1 >= other.y1
        )


def crop_for(region: np.ndarray, width: int, height: int, pad: float) -> Box | None:
    """The box around ``region``'s nonzero pixels (any size: scaled to the canvas) grown
    by ``pad`` of the canvas's short side, its sides grown to multiples of 32."""
    points = cv2.findNonZero(region)
    if points is None:
        return None
    x, y, w, h = cv2.boundingRect(points)
    sy, sx = height / region.shape[0], width / region.shape[1]
    grow = pad * min(width, height)
    left, right = _span(x * sx - grow, (x + w) * sx + grow, width)
    top, bottom = _span(y * sy - grow, (y + h) * sy + grow, height)
    return Box(left, top, right, bottom)


def _span(start: float, stop: float, size: int) -> tuple[int, int]:
    """[start, stop) in pixels of a side ``size`` long (a multiple of 32), its length a
    multiple of 32, centred on the request and kept inside the side."""
    first, last = max(0, int(start)), min(size, int(np.ceil(stop)))
    length = min(size, -(-(last - first) // MULTIPLE) * MULTIPLE)
    first = max(0, min(first - (length - (last - first)) // 2, size - length))
    return first, first + length


def _disc(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


class BestMatter(Matter):
    """MODNet on a crop around the person the fast model finds (see the module docstring)."""

    quality = "best"

    def __init__(self, modnet: ModnetMatter, finder: AutoMatter) -> None:
        self.modnet, self.finder = modnet, finder
        self.device, self.provider = modnet.device, modnet.provider
        self.info = modnet.info
        self.crop: Box | None = None  # the last crop (None: the whole frame ran)
        self.group = False  # the shot holds several people: MODNet alone
        self.max_short = MAX_SHORT  # a crop's short side is shrunk to this (live: smaller)
        self._canvas: tuple[int, ...] = ()
        self._modnet = np.zeros((0, 0), np.float32)

    @property
    def name(self) -> str:  # type: ignore[override]  # computed: says how MODNet ran
        return f"best: {self.finder.name.removeprefix('auto: ')}"

    def for_live(self) -> None:
        """Crops at :data:`LIVE_MAX_SHORT`, so MODNet keeps pace on its live thread."""
        self.max_short = LIVE_MAX_SHORT

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        return demo_size(width, height)

    def infer(self, rgb: np.ndarray) -> Matte:
        height, width = rgb.shape[:2]
        fast = self.finder.infer(self._finder_input(rgb)).alpha
        region = np.greater(fast, REGION_LEVEL).view(np.uint8)
        box = crop_for(region, width, height, GATE)
        if box is None:
            self.crop = None
            return self.modnet.infer(rgb)
        short = min(fast.shape[:2])
        if rgb.shape != self._canvas:  # another source: a new shot
            self._canvas, self.group = rgb.shape, False
        self.group = self.group or self.finder.people >= 2
        if self.group:
            # A group shot: MODNet alone on the whole frame, which keeps each person far
            # better than any join with the fast model (group set, MODNet alone against
            # best joined: MAD 19.7 / 67.3 on close-ups, 28.7 / 69.2 on full bodies, 31.1 /
            # 79.6 sliding over the Earth); single people keep the join (DAVIS, P3M). Once
            # a group, the shot stays one: a count that wavers must not switch mattes.
            self.crop = None
            out = self.modnet.infer(rgb).alpha.copy()
        elif self.finder.choice == POSE:
            # A moving body moves its crop, and MODNet's edge jitters with it (DAVIS hike:
            # flicker 2.06 cropped, 1.27 whole): wider shots give MODNet the whole frame, at
            # its own demo size (MAD 4.54, against 4.76 shrunk to 384).
            self.crop = None
            out = self._on_band(self.modnet.infer(rgb).alpha, fast, short * BAND_BLUR)
        else:
            self.crop = self._steady(box)
            out = self._in_region(self._crop_matte(rgb, self.crop), fast, region, short)
        # Blurs and resizes may step past 1 by a rounding error; the stages expect [0, 1].
        return Matte(np.clip(out, 0.0, 1.0, out=out))

    def _finder_input(self, rgb: np.ndarray) -> np.ndarray:
        """The canvas shrunk to the size the fast model asks for (it shrinks no further)."""
        size = self.finder.input_size(rgb.shape[1], rgb.shape[0])
        if size is None or size == (rgb.shape[1], rgb.shape[0]):
            return rgb
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

    def _steady(self, box: Box) -> Box:
        """The last crop while it still holds the person and is not much too large, so a
        still person gets the same MODNet input frame after frame."""
        last = self.crop
        if last is not None and last.holds(box) and last.area <= KEEP_GROWTH * box.area:
            return last
        return box

    def _crop_matte(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """MODNet's alpha over the canvas: its answer inside ``box``, 0 outside."""
        height, width = rgb.shape[:2]
        if box.area > WHOLE_FRAME * width * height:
            return self._shrunk_matte(rgb)
        if self._modnet.shape != (height, width):
            self._modnet = np.zeros((height, width), np.float32)
        else:
            self._modnet.fill(0.0)
        crop = rgb[box.y0 : box.y1, box.x0 : box.x1]
        self._modnet[box.y0 : box.y1, box.x0 : box.x1] = self._shrunk_matte(crop)
        return self._modnet

    def _shrunk_matte(self, crop: np.ndarray) -> np.ndarray:
        """MODNet on ``crop``, shrunk first to ``max_short`` on its short side."""
        height, width = crop.shape[:2]
        scale = self.max_short / min(height, width)
        if scale >= 1.0:
            return self.modnet.infer(np.ascontiguousarray(crop)).alpha
        size = (round_to(width * scale, MULTIPLE), round_to(height * scale, MULTIPLE))
        alpha = self.modnet.infer(cv2.resize(crop, size, interpolation=cv2.INTER_AREA)).alpha
        return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)

    def _fit(self, plane: np.ndarray, like: np.ndarray) -> np.ndarray:
        """``plane`` (the fast model's size) at the canvas's size."""
        if plane.shape == like.shape:
            return plane
        return cv2.resize(plane, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_LINEAR)

    def _in_region(
        self, modnet: np.ndarray, fast: np.ndarray, region: np.ndarray, short: int
    ) -> np.ndarray:
        """Close-ups: MODNet inside the grown person, at least the person's sure core."""
        dilated = cv2.dilate(region, _disc(GATE * short)).astype(np.float32)
        grown = cv2.GaussianBlur(dilated, (0, 0), max(1.0, GATE * short / 3))
        core = cv2.erode(np.greater(fast, CORE_LEVEL).view(np.uint8), _disc(CORE * short))
        sure = cv2.GaussianBlur(core.astype(np.float32), (0, 0), max(1.0, CORE * short / 3))
        out = np.multiply(modnet, self._fit(grown, modnet))
        return np.maximum(out, self._fit(sure, modnet), out=out)

    def _on_band(self, modnet: np.ndarray, fast: np.ndarray, blur: float) -> np.ndarray:
        """Pose shots: the pose alpha, with MODNet's where the pose model is unsure."""
        weight = np.abs(fast * np.float32(2.0) - np.float32(1.0))
        np.subtract(np.float32(1.0), weight, out=weight)
        cv2.GaussianBlur(weight, (0, 0), max(0.5, blur), dst=weight)
        np.multiply(weight, np.float32(BAND_GAIN), out=weight)
        np.minimum(weight, np.float32(1.0), out=weight)
        pose = self._fit(fast, modnet)
        weight = self._fit(weight, modnet)
        # out = pose + weight * (modnet - pose)
        out = np.subtract(modnet, pose)
        np.multiply(out, weight, out=out)
        return np.add(out, pose, out=out)

    def reset(self) -> None:
        self.finder.reset()
        self.modnet.reset()
        self.crop = None
        self.group = False

    def close(self) -> None:
        self.finder.close()
        self.modnet.close()
