"""Selfie or pose, chosen per shot, with the switch blended over a few frames.

``AutoMatter`` runs the selfie model on close-up shots and the pose tracker on wider ones
(see :mod:`.choice`); while selfie is chosen, the pose detector alone looks at the frame
every ``probe_every`` frames to notice when the framing widens. In a pose shot the selfie
model runs only every ``probe_every`` frames: a sizeable selfie blob outside the people
followed then sends the pose detector to look there (on a crop, where a small person is big
enough to find), so a second person is followed too. The selfie matte stands in whenever
the pose model finds nobody, and a change between the two is blended over a few frames.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .base import Matte, Matter
from .choice import POSE, SELFIE, ShotChoice
from .pose import PoseResult, PoseTracker, work_size
from .selfie import Selfie

# Frames over which the output moves from one model's matte to the other's.
BLEND_FRAMES = 6
PROBE_EVERY = 30  # about once a second
# Selfie-matte blobs outside the pose regions smaller than this share of the frame are not
# looked at as possible further people.
MIN_OTHER_AREA = 0.003


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

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        if self.chooser.choice != POSE and self.weight == 0.0:
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
            return self.selfie.infer(rgb)
        look = result is not None and self._look_due()
        if result is not None and self.weight == 1.0 and not look:
            # A steady pose shot: the selfie model is not needed on this frame.
            self._pose = self._held(result.alpha.shape)
            np.copyto(self._pose, result.alpha)
            return Matte(self._pose.copy())
        height, width = rgb.shape[:2]
        selfie = self.selfie.infer(rgb).alpha
        selfie = cv2.resize(selfie, (width, height), interpolation=cv2.INTER_LINEAR)
        if result is not None:
            if look:
                self._others(rgb, result, selfie)
            self._pose = self._held(selfie.shape)
            np.copyto(self._pose, result.alpha)
        held = self._pose
        if held is None or held.shape != selfie.shape:
            return Matte(selfie)
        out = np.empty_like(selfie)
        # out = selfie + weight * (pose - selfie)
        np.subtract(held, selfie, out=out)
        np.multiply(out, np.float32(self.weight), out=out)
        np.add(out, selfie, out=out)
        return Matte(out)

    def _observe(self, rgb: np.ndarray) -> PoseResult | None:
        """Measure the subject's scale where this frame calls for it, update the choice, and
        give the pose result where the pose model ran."""
        result: PoseResult | None = None
        if self.chooser.choice is None:
            # The detector alone decides, on the selfie-size frame, so a close-up costs the
            # selfie model's run and one detection; a pose shot starts on this frame.
            self.scale = self.tracker.probe(rgb)
            if self.chooser.observe(self.scale) == POSE:
                result = self.tracker.track(rgb)
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

    def _held(self, shape: tuple[int, ...]) -> np.ndarray:
        """The buffer holding the last pose matte (kept to fade out from)."""
        if self._pose is None or self._pose.shape != shape:
            return np.empty(shape, np.float32)
        return self._pose

    def _look_due(self) -> bool:
        """Every ``probe_every`` frames of a pose shot (and on its first), look for others."""
        self._since_look += 1
        if self._since_look < self.probe_every:
            return False
        self._since_look = 0
        return True

    def _others(self, rgb: np.ndarray, result: PoseResult, selfie: np.ndarray) -> None:
        """Where the selfie model sees a sizeable person outside the pose model's regions,
        ask the pose detector to confirm (on a crop) and follow them. The selfie matte
        itself is not added: outside a person it often holds walls and railings."""
        seen = np.greater(selfie, 0.5)
        seen &= np.less(result.coverage, 0.5)
        count, _, stats, _ = cv2.connectedComponentsWithStats(seen.view(np.uint8))
        least = MIN_OTHER_AREA * selfie.size
        boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:] if area >= least]
        if boxes:
            boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
            self.tracker.look_in(rgb, result, boxes)

    def reset(self) -> None:
        """A new shot: decide again; forget the tracked person and the blend."""
        self.chooser.reset()
        self.tracker.reset()
        self.weight = 0.0
        self._pose = None
        self._since_probe = 0
        self._since_look = self.probe_every

    def close(self) -> None:
        self.selfie.close()
