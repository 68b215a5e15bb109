"""Carrying a model's matte to a newer frame: the live driver's answer to a slow model.

The heavy model runs at its own rate on its own thread, so the frame being sent is usually
newer than the frame the newest matte was made for. Reusing that matte as it is leaves a
ghost of the old pose beside every moving limb. Here it is brought onto the new frame:

- **Motion.** OpenCV's DIS optical flow (its "fast" preset) between the two frames in
  grey at :data:`FLOW_WIDTH` pixels wide (1.9 ms at 320x180 on one core; "ultrafast",
  0.7 ms, loses a square moved by a tenth of the frame; "medium", 11 ms, is too dear), measured
  backwards (for each pixel of the new frame, where it was in the model's frame), and the
  model's alpha is warped along it at :data:`CARRY_WIDTH` (half of 720p: the detail a
  cropped MODNet matte has) and upsampled.
- **Trust.** The model frame's grey warped the same way is compared with the new frame's;
  where they differ by more than :data:`RESIDUAL` grey levels the flow is wrong there (an
  arm that swung, a part of the room that came into view). Where a cheap matte of the new
  frame exists (the fast model, run on every frame beside the heavy one) it replaces the
  carried alpha there, and wherever the two disagree by more than :data:`AGREE` the cheap
  model's shape wins while the heavy model keeps its edge where they agree. When too much
  of the person's region is untrustworthy (:data:`LOST_SHARE`: a scene cut, a fast swing)
  the carried matte is dropped for the cheap one whole: never a ghost.

The carrier holds reused buffers and is used from one thread; :meth:`MatteCarrier.keyframe`,
which prepares a model result, only allocates its own arrays and may run on the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Width of the grey frames the flow is measured on (height follows the frame's shape).
FLOW_WIDTH = 320
# Width the alpha is warped at before it is upsampled to the frame.
CARRY_WIDTH = 640
# Tuned with benchmarks/live_carry.py (best, lag 8 frames) on DAVIS hike and two panned P3M
# portraits: MAD 5.65 / 5.06 / 30.74 here, 5.61 / 6.12 / 32.15 at (28, 72, 0.30).
# Grey levels (0..255) of warping error above which the flow is not trusted at a pixel.
RESIDUAL = 40
# Alpha levels (0..255) of disagreement with the cheap matte above which its shape wins,
# and the width of the ramp between the heavy edge and the cheap shape.
AGREE = 128
AGREE_RAMP = 64
# Share of the person's region (carried alpha above 10%) whose flow is untrusted, above
# which the carried matte is dropped for the cheap one.
LOST_SHARE = 0.50


def _size(width: int, height: int, target: int) -> tuple[int, int]:
    """(w, h) at most ``target`` wide with the frame's shape (never larger than it)."""
    scale = min(1.0, target / width)
    return max(8, round(width * scale)), max(8, round(height * scale))


@dataclass(frozen=True)
class Keyframe:
    """A model result ready to be carried: made for frame ``index``, captured ``captured_at``."""

    index: int
    captured_at: float
    alpha: np.ndarray  # full resolution, uint8 (the model's matte of that frame)
    small: np.ndarray  # the same at the carry size, uint8
    key: np.ndarray  # that frame in grey at the flow size, uint8


@dataclass
class Carried:
    """What :meth:`MatteCarrier.carry` did for one frame (for the figures)."""

    lost: bool = False  # the carried matte was dropped for the cheap one
    untrusted: float = 0.0  # share of the person's region whose flow failed
    motion: float = 0.0  # mean flow magnitude in the person's region, flow-size pixels


class MatteCarrier:
    """Keyframe alpha + newer frame → that frame's alpha (see the module docstring)."""

    def __init__(self, width: int, height: int, warp: bool = True) -> None:
        self.width, self.height = width, height
        self.warp = warp  # False: the old matte as it is (for comparison)
        self.flow_size = _size(width, height, FLOW_WIDTH)
        self.carry_size = _size(width, height, CARRY_WIDTH)
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        fw, fh = self.flow_size
        cw, ch = self.carry_size
        grid_x, grid_y = np.meshgrid(
            np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32)
        )
        self._grid = np.dstack((grid_x, grid_y))
        fx, fy = np.meshgrid(np.arange(fw, dtype=np.float32), np.arange(fh, dtype=np.float32))
        self._flow_grid = np.dstack((fx, fy))
        self._scale = np.float32(cw / fw)
        self._map = np.empty((ch, cw, 2), np.float32)
        self._flow_map = np.empty((fh, fw, 2), np.float32)
        self._warped = np.empty((ch, cw), np.uint8)
        self._out = np.empty((ch, cw), np.uint8)
        self._grey = np.empty((height, width), np.uint8)
        self._full = np.empty((height, width), np.uint8)
        self._float = np.empty((ch, cw), np.float32)
        self._small: np.ndarray | None = None  # the last carried alpha at the carry size

    def key(self, rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The frame in grey at the flow size (a new array unless ``out`` is given)."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, self.flow_size, dst=out, interpolation=cv2.INTER_AREA)

    def keyframe(
        self, index: int, captured_at: float, rgb: np.ndarray, alpha: np.ndarray
    ) -> Keyframe:
        """A model result as the carrier needs it (its own arrays: safe on another thread)."""
        full = np.array(alpha, np.uint8, copy=True)
        small = cv2.resize(full, self.carry_size, interpolation=cv2.INTER_AREA)
        return Keyframe(index, captured_at, full, small, self.key(rgb))

    def carry(
        self,
        keyframe: Keyframe,
        key: np.ndarray,
        cheap: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Carried]:
        """``keyframe``'s alpha on the frame whose grey is ``key``, at full resolution (a
        reused buffer, valid until the next call); ``cheap``: that frame's own matte from
        the fast model (full resolution, uint8), or None where there is none."""
        if not self.warp:
            return keyframe.alpha, Carried()
        flow = self._dis.calc(key, keyframe.key, None)  # type: ignore[call-overload]
        # Trust: the model frame's grey warped along the flow against the new frame's.
        np.add(self._flow_grid, flow, out=self._flow_map)
        warped_key = cv2.remap(keyframe.key, self._flow_map, None, cv2.INTER_LINEAR,  # type: ignore[call-overload]
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        residual = cv2.absdiff(warped_key, key)
        bad = np.greater(residual, RESIDUAL).view(np.uint8)
        bad = cv2.dilate(bad, None)  # type: ignore[call-overload]
        # The alpha, warped at the carry size along the flow scaled up to it.
        cw, ch = self.carry_size
        up = cv2.resize(flow, (cw, ch), interpolation=cv2.INTER_LINEAR)
        cv2.scaleAdd(up, float(self._scale), self._grid, dst=self._map)
        cv2.remap(keyframe.small, self._map, None, cv2.INTER_LINEAR, dst=self._warped,  # type: ignore[call-overload]
                  borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        person = cv2.resize(self._warped, self.flow_size, interpolation=cv2.INTER_AREA) > 25
        area = int(np.count_nonzero(person))
        untrusted = float(np.count_nonzero(bad[person])) / area if area else 0.0
        moved = float(np.hypot(flow[..., 0], flow[..., 1])[person].mean()) if area else 0.0
        report = Carried(untrusted=untrusted, motion=moved)
        self._small = self._warped
        if cheap is None:
            return self._upsample(self._warped), report
        cheap_small = cv2.resize(cheap, self.carry_size, interpolation=cv2.INTER_AREA)
        if untrusted > LOST_SHARE:
            report.lost = True
            return cheap, report
        # The cheap shape's weight: where the two disagree, and where the flow failed.
        weight = cv2.absdiff(self._warped, cheap_small)
        cv2.GaussianBlur(weight, (0, 0), 2.0, dst=weight)
        cv2.subtract(weight, AGREE, dst=weight)  # type: ignore[call-overload]
        cv2.multiply(weight, 255.0 / AGREE_RAMP, dst=weight)  # type: ignore[call-overload]
        bad_up = cv2.resize(bad, self.carry_size, interpolation=cv2.INTER_NEAREST)
        np.maximum(weight, bad_up * np.uint8(255), out=weight)
        share = weight.astype(np.float32)
        blended = cv2.blendLinear(self._warped, cheap_small, 255.0 - share, share)
        np.copyto(self._out, blended)
        self._small = self._out
        return self._upsample(self._out), report

    def _upsample(self, small: np.ndarray) -> np.ndarray:
        cv2.resize(small, (self.width, self.height), dst=self._full, interpolation=cv2.INTER_LINEAR)
        return self._full

    def small_float(self) -> np.ndarray:
        """The last carried alpha at the carry size as float32 in [0, 1] (for the refiner)."""
        assert self._small is not None, "carry() first"
        np.multiply(self._small, np.float32(1.0 / 255.0), out=self._float, dtype=np.float32)
        return self._float
