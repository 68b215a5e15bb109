"""Which model suits the shot: selfie segmentation for close-ups, pose for wider framings.

The decision rests on the subject's scale: the diameter of the circle around the whole body
(MediaPipe's pose alignment circle, hip centre to body-circle point, twice) over the frame's
height. A body that fits in the frame (about 1 or less: standing, walking, sitting in full
view) is what the pose model is made for; a head-and-shoulders framing puts the hips far
below the frame and the circle at 2 or more, which is the selfie model's home ground. In
between, hysteresis holds the current choice, and a switch needs ``patience`` observations in
a row past the threshold, so a noisy scale never makes the choice flip back and forth.
"""

from __future__ import annotations

import math

SELFIE, POSE = "selfie", "pose"
# Body circle over frame height: under TO_POSE the whole body is about in view; over
# TO_SELFIE it is a medium shot or closer. Between the two the choice stays as it is.
TO_POSE = 1.25
TO_SELFIE = 1.6


class ShotChoice:
    """Pure choice logic, fed one observation at a time (a scale, or None for nobody found).

    The first observation of a shot decides at once (nobody found: selfie); after that the
    choice changes only after ``patience`` observations in a row that ask for the other
    model. Nobody found counts towards selfie. :meth:`reset` starts a new shot.
    """

    def __init__(
        self, to_pose: float = TO_POSE, to_selfie: float = TO_SELFIE, patience: int = 3
    ) -> None:
        if to_pose > to_selfie:
            raise ValueError("to_pose must not exceed to_selfie (hysteresis band)")
        self.to_pose, self.to_selfie, self.patience = to_pose, to_selfie, max(1, patience)
        self.choice: str | None = None
        self._against = 0

    def reset(self) -> None:
        self.choice = None
        self._against = 0

    def wants(self, scale: float | None) -> str | None:
        """The model this observation asks for, or None where it sits in the band."""
        if scale is None or math.isnan(scale):
            return SELFIE
        if scale < self.to_pose:
            return POSE
        if scale > self.to_selfie:
            return SELFIE
        return None

    def observe(self, scale: float | None) -> str:
        wanted = self.wants(scale)
        if self.choice is None:
            self.choice = wanted or SELFIE
            self._against = 0
        elif wanted is not None and wanted != self.choice:
            self._against += 1
            if self._against >= self.patience:
                self.choice, self._against = wanted, 0
        else:
            self._against = 0
        return self.choice
