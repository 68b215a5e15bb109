"""Selfie or pose, chosen per shot, with the switch blended over a few frames, and groups.

``AutoMatter`` runs the selfie model on close-up shots and the pose tracker on wider ones
(see :mod:`.choice`); while selfie is chosen, the pose detector alone looks at the frame
every ``probe_every`` frames to notice when the framing widens. A shot's first frame
comes at the work size and is counted: two people or more of about one size (the detector
on the whole frame and on squares across it, or the tiled selfie matte's person-sized
parts) make it a group, whose selfie matte is tiled (``Selfie.tiled``). In a pose shot the
tiled selfie matte is searched every LOOK_EVERY frames for people the pose model does not
explain: the pose detector, on a crop, confirms and follows them (up to MAX_PEOPLE), and
beyond that their part of the selfie matte joins the pose matte. The selfie matte stands in
whenever the pose model finds nobody, and a change between the two is blended.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..boxes import tiles
from ..frame import shrink_to
from .base import Matte, Matter
from .choice import POSE, SELFIE, ShotChoice
from .pose import PoseResult, PoseTracker, work_size
from .selfie import Selfie

# Frames over which the output moves from one model's matte to the other's.
BLEND_FRAMES = 6
PROBE_EVERY = 30  # about once a second
# In a pose shot, the tiled selfie matte looks for people the pose model does not follow
# this often (a fifth of a second): someone entering is matted within a few frames, for
# three selfie runs (a few ms) every sixth frame.
LOOK_EVERY = 6
# Selfie-matte blobs outside the pose regions smaller than this share of the frame are not
# looked at as possible further people.
MIN_OTHER_AREA = 0.003
# ... nor those under this share of a followed person's area (a person of half the size has
# a quarter of the area; a neighbour partly hidden shows less).
OTHER_SHARE = 0.15
# A part of the tiled selfie matte counts as a person in a head count at this share of the
# frame and of the largest part or more (see people_in).
PERSON_AREA = 0.01
PERSON_SHARE = 0.4
# Where the selfie and pose mattes differ by less than this share of the short side (an
# edge drawn a little apart), the selfie model has not seen another person.
EDGE = 0.015


def people_in(alpha: np.ndarray) -> int:
    """The parts of a matte that are people by their size: each at least PERSON_AREA of
    the frame and PERSON_SHARE of the largest part (tiled selfie matte: one on each of the
    P3M portraits and on frames of the four shared single-person videos; two or more on 7
    of the group set's 12 close-ups, where the detector finds few blurred faces)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(np.greater(alpha, 0.5).view(np.uint8))
    areas = stats[1:, cv2.CC_STAT_AREA]
    if not areas.size:
        return 0
    return int(
        np.count_nonzero(
            (areas >= PERSON_SHARE * areas.max()) & (areas >= PERSON_AREA * alpha.size)
        )
    )


def _meets(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two boxes (x0, y0, x1, y1) overlap."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _square(cx: float, cy: float, side: float) -> tuple[int, int, int, int]:
    half = side / 2
    return int(cx - half), int(cy - half), int(cx + half) + 1, int(cy + half) + 1


def _area(box: tuple[int, ...]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _disc(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


class AutoMatter(Matter):
    """``mode`` "auto" chooses per shot; "pose" uses pose wherever it finds a person."""

    def __init__(
        self,
        selfie: Selfie,
        tracker: PoseTracker,
        mode: str = "auto",
        probe_every: int = PROBE_EVERY,
        blend_frames: int = BLEND_FRAMES,
    ) -> None:
        self.selfie, self.tracker, self.mode = selfie, tracker, mode
        self.device, self.provider = selfie.device, selfie.provider
        self.chooser = ShotChoice() if mode == "auto" else ShotChoice(math.inf, math.inf)
        self.probe_every = max(1, probe_every)
        self.step = 1.0 / max(1, blend_frames)
        self.weight = 0.0  # share of the pose matte in the output
        self.scale: float | None = None  # last measured subject scale
        self._since_probe = 0
        self._since_look = probe_every  # look for other people on a shot's first frame
        self._pose: np.ndarray | None = None  # last pose matte (held while fading out)
        self.group = False  # several people: the selfie matte is tiled and joins pose's
        self._since_count = 0
        self._followed = 0  # people the pose model followed on the last frame
        self._heads = 0  # a selfie shot's last head count
        self._frame_size = (0, 0)  # the full frame's (width, height), as input_size saw it
        # Boxes of people the detector confirmed that the pose model does not follow.
        self._confirmed: list[tuple[int, int, int, int]] = []
        self._last_choice = SELFIE

    @property
    def choice(self) -> str:
        """The model the current (or, between shots, the last) shot uses: "selfie"/"pose"."""
        return self.chooser.choice or self._last_choice

    @property
    def name(self) -> str:  # type: ignore[override]  # computed: it names the shot's choice
        """``pose``, or under ``auto`` the model the shot uses, named as ``--model`` names
        it when chosen by hand: ``auto: pose``, ``auto: selfie (landscape)``."""
        if self.mode != "auto":
            return "pose"
        return f"auto: {self.selfie.name if self.choice == SELFIE else 'pose'}"

    @property
    def people(self) -> int:
        """How many people the shot holds, as far as it knows: those pose follows and those
        the detector confirmed beyond them, or the last probe's head count."""
        if self.chooser.choice == POSE:
            return len(self.tracker.rois) + len(self._confirmed)
        return self._heads if self.group else min(1, self.tracker.seen)

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        if (width, height) != self._frame_size:
            # Frames of another size come from another source: a new shot (a folder of
            # stills passes through one pipeline, and its sizes differ).
            if self._frame_size != (0, 0):
                self.reset()
            self._frame_size = (width, height)
        # A shot's first frame comes at the work size: a still has only that frame, and
        # the detector finds small people there that the selfie-size copy makes too small.
        close_up = self.chooser.choice == SELFIE and self.weight == 0.0
        if close_up and not self.group:
            return self.selfie.input_size(width, height)
        return work_size(width, height)

    def infer(self, rgb: np.ndarray) -> Matte:
        new_shot = self.chooser.choice is None
        result = self._observe(rgb)
        target = 1.0 if self.chooser.choice == POSE and result is not None else 0.0
        if new_shot:
            self.weight = target  # nothing shown yet in this shot: no blend
        elif target > self.weight:
            self.weight = min(target, self.weight + self.step)
        else:
            self.weight = max(target, self.weight - self.step)
        if self.weight == 0.0 and result is None:
            self._pose = None
            return Matte(self._selfie(rgb, count=True))
        lost = len(self.tracker.rois) < self._followed  # someone left, or was lost: look now
        self._followed = len(self.tracker.rois)
        look = result is not None and (self._look_due() or lost)
        if result is not None and self.weight == 1.0 and not look and not self.group:
            # A steady pose shot: the selfie model is not needed on this frame.
            self._pose = self._held(result.alpha.shape)
            np.copyto(self._pose, result.alpha)
            return Matte(self._pose.copy())
        height, width = rgb.shape[:2]
        # Looking for people the pose model does not follow takes the tiled matte, where
        # a group's people are large enough to be seen.
        selfie = self.selfie.tiled(rgb) if look and result is not None else self._selfie(rgb)
        if selfie.shape != (height, width):
            selfie = cv2.resize(selfie, (width, height), interpolation=cv2.INTER_LINEAR)
        if result is not None:
            gate = self._others(rgb, result, selfie, look) if look or self.group else None
            self.group = gate is not None
            self._pose = self._held(selfie.shape)
            np.copyto(self._pose, result.alpha)
            if gate is not None:
                # People the pose model does not follow keep the selfie model's matte.
                np.maximum(self._pose, selfie * gate, out=self._pose)
        held = self._pose
        if held is None or held.shape != selfie.shape:
            return Matte(selfie.copy())
        out = np.empty_like(selfie)
        # out = selfie + weight * (pose - selfie)
        np.subtract(held, selfie, out=out)
        np.multiply(out, np.float32(self.weight), out=out)
        np.add(out, selfie, out=out)
        return Matte(out)

    def _selfie(self, rgb: np.ndarray, count: bool = False) -> np.ndarray:
        """The selfie matte: tiled across a wide frame in a group shot (see
        :meth:`Selfie.tiled`), else the model on the whole frame. ``count``: a selfie shot,
        where this matte is the answer: the last probe's head count says whether the shot
        holds a group."""
        if count and self._count_due():
            self.group = False
            if len(tiles(rgb.shape[1], rgb.shape[0])) > 1:
                # The detector's count, or the tiled matte's: the detector finds people by
                # their faces and misses blurred or turned ones.
                tiled = self.selfie.tiled(rgb)
                self._heads = max(self.tracker.seen, people_in(tiled))
                self.group = self._heads >= 2
                if self.group:
                    return tiled
        if self.group:
            return self.selfie.tiled(rgb)
        return self.selfie.infer(rgb).alpha

    def _count_due(self) -> bool:
        """On a shot's first frame and every ``probe_every`` frames after."""
        due = self._since_count % self.probe_every == 0
        self._since_count += 1
        return due

    def _observe(self, rgb: np.ndarray) -> PoseResult | None:
        """Measure the subject's scale where this frame calls for it, update the choice, and
        give the pose result where the pose model ran."""
        result: PoseResult | None = None
        if self.chooser.choice is None:
            # The detector alone decides, on the selfie-size frame, so a close-up costs the
            # selfie model's run and one detection; a pose shot starts on this frame.
            self.scale = self.tracker.probe(rgb, count=True)
            if self.chooser.observe(self.scale) == POSE:
                result = self._first_track(rgb)
            # The people found that the pose model does not follow (too many, or lost).
            self._confirmed = [
                _square(r.cx, r.cy, r.body_size)
                for r in self.tracker.people
                if not self.tracker.holds(r, rgb.shape[1])
            ]
        elif self.chooser.choice != SELFIE or self.weight > 0.0:
            result = self.tracker.track(rgb)
            self.scale = None if result is None else result.scale
            self.chooser.observe(self.scale)
            self._since_probe = 0
        else:
            self._since_probe += 1
            if self._since_probe >= self.probe_every:
                self._since_probe = 0
                self.scale = self.tracker.probe(rgb)
                if self.chooser.observe(self.scale) == POSE:
                    self.tracker.reset()
        self._last_choice = self.chooser.choice or SELFIE
        return result

    def _first_track(self, rgb: np.ndarray) -> PoseResult | None:
        """A pose shot's first frame. One person is first found on the frame at the selfie
        model's size, as before groups were followed (the landmark model then steers the
        region from frame to frame; started on the whole work copy, the DAVIS clips' MAD
        was 3% higher: 7.93 against 7.71); a group on the work copy, where each is larger."""
        height, width = rgb.shape[:2]
        if self.tracker.seen >= 2:
            return self.tracker.track(rgb)
        result = self.tracker.track(shrink_to(rgb, *self.selfie.input_size(width, height)))
        if result is not None:
            size = (width, height)
            result.alpha = cv2.resize(result.alpha, size, interpolation=cv2.INTER_LINEAR)
            result.coverage = cv2.resize(result.coverage, size, interpolation=cv2.INTER_LINEAR)
        return result

    def _held(self, shape: tuple[int, ...]) -> np.ndarray:
        """The buffer holding the last pose matte (kept to fade out from)."""
        if self._pose is None or self._pose.shape != shape:
            return np.empty(shape, np.float32)
        return self._pose

    def _look_due(self) -> bool:
        """Every LOOK_EVERY frames of a pose shot (and on its first), look for others."""
        self._since_look += 1
        if self._since_look < min(LOOK_EVERY, self.probe_every):
            return False
        self._since_look = 0
        return True

    def _others(
        self, rgb: np.ndarray, result: PoseResult, selfie: np.ndarray, look: bool
    ) -> np.ndarray | None:
        """Where the selfie model sees a person the pose model's people do not explain
        and the pose detector confirms (uint8, 1 there and a little around), or None: the
        shot is then a group, and the selfie matte there joins the pose matte. The selfie
        model alone is not believed: on a dark or busy background it marks planets, walls
        and railings. ``look``: run the detector on such parts (on a crop: a small person
        is found there) and follow whom it finds, up to MAX_PEOPLE."""
        labels, boxes = self._unexplained(selfie, result.alpha, len(self.tracker.rois))
        kept = [i for i, box in enumerate(boxes) if any(_meets(box, c) for c in self._confirmed)]
        if boxes and look:
            order = sorted(range(len(boxes)), key=lambda i: -_area(boxes[i]))
            before = len(self.tracker.rois)
            found = self.tracker.look_in(rgb, result, [boxes[i] for i in order])
            kept = sorted(set(kept) | {order[i] for i in found})
            if len(self.tracker.rois) > before:  # followed now: pose explains them
                confirmed = [boxes[i] for i in kept]
                labels, boxes = self._unexplained(selfie, result.alpha, len(self.tracker.rois))
                kept = [i for i, box in enumerate(boxes) if any(_meets(box, c) for c in confirmed)]
        self._confirmed = [boxes[i] for i in kept]  # followed from frame to frame by overlap
        if not kept:
            return None
        mask = np.isin(labels, [i + 1 for i in kept]).view(np.uint8)
        return cv2.dilate(mask, _disc(2 * EDGE * min(selfie.shape)))

    @staticmethod
    def _unexplained(
        selfie: np.ndarray, pose: np.ndarray, followed: int
    ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
        """The selfie matte's sizeable parts outside the pose matte: labels (int32, part
        ``i`` of the boxes labelled ``i + 1``) and boxes (x0, y0, x1, y1). A part is at least
        MIN_OTHER_AREA of the frame and OTHER_SHARE of the area of an average person the
        pose model follows (``followed`` of them), so bystanders much smaller than the
        people of the shot stay background, as they do for the pose model."""
        inside = np.greater(pose, 0.5)
        seen = np.greater(selfie, 0.5)
        seen &= ~inside
        # The two models' edges differ by a few pixels all round a person: not a person.
        edge = _disc(EDGE * min(selfie.shape))
        opened = cv2.morphologyEx(seen.view(np.uint8), cv2.MORPH_OPEN, edge)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(opened)
        least = MIN_OTHER_AREA * selfie.size
        if followed:
            least = max(least, OTHER_SHARE * np.count_nonzero(inside) / followed)
        big = [i for i in range(1, len(stats)) if stats[i, cv2.CC_STAT_AREA] >= least]
        relabel = np.zeros(len(stats), np.int32)
        relabel[big] = np.arange(1, len(big) + 1)
        boxes = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, _ in stats[big].tolist()]
        return relabel[labels], boxes

    def reset(self) -> None:
        """A new shot: decide again; forget the tracked person and the blend."""
        self.chooser.reset()
        self.tracker.reset()
        self.weight = 0.0
        self._pose = None
        self.group = False
        self._confirmed = []
        self._since_probe = self._since_count = 0
        self._since_look = self.probe_every

    def close(self) -> None:
        self.selfie.close()
