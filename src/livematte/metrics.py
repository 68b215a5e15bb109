"""Matte quality metrics: per-frame figures, a streaming per-clip accumulator, an overall row.

The error metrics follow Robust Video Matting's evaluation scripts
(PeterL1n/RobustVideoMatting, ``evaluation/evaluate_hr.py`` and ``evaluate_lr.py``) so our
numbers can be read beside published ones:

- MAD   = mean |p - g| x 1e3
- MSE   = mean (p - g)^2 x 1e3
- Grad  = sum over pixels of (|nabla p| - |nabla g|)^2 x 1e-3, where nabla is a pair of
  first-order Gaussian derivative filters (sigma 1.4, 9x9 kernel, L2-normalised, replicated
  border). Grad is a *sum*, so it grows with the image area.
- dtSSD = sqrt(mean(((p_t - p_{t-1}) - (g_t - g_{t-1}))^2)) x 1e2, with frame 0 counted as 0
  and included in the clip mean, as RVM does.

Differences from RVM, on purpose:

- RVM's low-resolution script min-max normalises each alpha to [0, 1] before Grad; its
  high-resolution script does not. We follow the high-resolution script (an alpha already
  lies in [0, 1], and stretching a faint prediction would hide its error); ``minmax=True``
  gives the low-resolution variant.
- RVM averages clips by frame index in a spreadsheet; :func:`combine_summaries` pools all
  frames of all clips instead (a frame-weighted mean), which equals RVM's figure when every
  clip has the same length.

IoU and flicker are ours: IoU compares the masks at a threshold; flicker measures how much the
alpha changes where the picture does not, and needs no ground truth, so it works on any clip.
So is :func:`halo`, which looks at a composite over a key colour rather than at an alpha: how
much of the ring just outside the person still shows something other than the key.

Inputs may be uint8 (0..255) or float (0..1); they are compared in float32 and reduced in
float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

GRAD_EPSILON = 1e-2
"""Tail mass RVM uses to size the Gaussian derivative kernel (9x9 at sigma 1.4)."""

STILL_BLUR_SIGMA = 2.0
STILL_THRESHOLD = 0.01
"""A pixel is still when its blurred grey change between frames is below this (grey in [0, 1])."""

METRICS = ("iou", "mad", "mse", "grad", "dtssd", "flicker", "ms")
"""Names of the per-frame values :class:`ClipMetrics` keeps, in table order."""


def _squeeze(image: np.ndarray) -> np.ndarray:
    """Drop a trailing channel axis of size 1, so (H, W, 1) alphas compare with (H, W) ones."""
    array = np.asarray(image)
    return array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array


def _check_shapes(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two alphas of one (H, W) shape, got {a.shape} and {b.shape}")


def to_unit(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as float32 in [0, 1]: integers are divided by their type's maximum."""
    array = _squeeze(image)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    return array.astype(np.float32, copy=False)


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalise a prediction and its ground truth, refusing shapes that cannot be compared."""
    p, g = to_unit(pred), to_unit(gt)
    _check_shapes(p, g)
    return p, g


def iou(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of ``pred >= threshold`` and ``gt >= threshold``.

    Two empty masks agree perfectly, so the empty-union case is 1.0.
    """
    p, g = _pair(pred, gt)
    pm, gm = p >= threshold, g >= threshold
    union = np.count_nonzero(pm | gm)
    if union == 0:
        return 1.0
    return np.count_nonzero(pm & gm) / union


def mad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute difference x 1e3."""
    p, g = _pair(pred, gt)
    return float(np.mean(np.abs(p - g), dtype=np.float64) * 1e3)


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared difference x 1e3."""
    p, g = _pair(pred, gt)
    d = p - g
    return float(np.mean(d * d, dtype=np.float64) * 1e3)


@lru_cache(maxsize=8)
def gradient_kernels(sigma: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """The 1-D factors (smooth, derivative) of RVM's 2-D Gaussian derivative kernel.

    RVM builds ``k[i, j] = G(i) * G'(j)`` on a square of half size
    ``ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma eps)))`` (eps = 0.01; 4 at sigma 1.4) and
    divides it by its L2 norm. The norm of an outer product is the product of the factors'
    norms, so normalising each factor gives the same kernel and lets us filter separably.
    The constant 1 / (sigma sqrt(2 pi)) of G cancels in the normalisation.
    """
    root = math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * GRAD_EPSILON))
    half = math.ceil(sigma * root)
    x = np.arange(-half, half + 1, dtype=np.float64)
    smooth = np.exp(-(x**2) / (2 * sigma**2))
    deriv = -x * smooth / sigma**2
    unit = [(k / np.linalg.norm(k)).astype(np.float32) for k in (smooth, deriv)]
    return unit[0], unit[1]


class GradientError:
    """RVM's Grad metric, reusing its work images between calls.

    Writing into freshly allocated full-frame buffers costs more than the filtering itself
    (page faults), so a scorer called once per frame keeps four float32 images of the last
    frame size: it takes about half the time of :func:`grad`. Integer inputs are filtered
    directly with a kernel scaled by 1/max, which saves a conversion pass. Not thread-safe.
    """

    def __init__(self, sigma: float = 1.4) -> None:
        self.sigma = sigma
        self.smooth, self.deriv = gradient_kernels(sigma)
        self._work: list[np.ndarray] = []

    def _buffers(self, shape: tuple[int, ...]) -> list[np.ndarray]:
        if not self._work or self._work[0].shape != shape:
            self._work = [np.empty(shape, np.float32) for _ in range(4)]
        return self._work

    def magnitude(self, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """|nabla alpha| by RVM's Gaussian derivative filters (correlation, replicated border)."""
        a = _squeeze(alpha)
        if a.dtype in (np.uint8, np.uint16):
            deriv = self.deriv / np.float32(np.iinfo(a.dtype).max)
        else:
            a, deriv = to_unit(a), self.deriv
        gx, gy = (None, None) if out is None else self._buffers(a.shape)[:2]
        border = cv2.BORDER_REPLICATE
        gx = cv2.sepFilter2D(a, cv2.CV_32F, deriv, self.smooth, dst=gx, borderType=border)
        gy = cv2.sepFilter2D(a, cv2.CV_32F, self.smooth, deriv, dst=gy, borderType=border)
        return cv2.magnitude(gx, gy, magnitude=out)

    def __call__(self, pred: np.ndarray, gt: np.ndarray, minmax: bool = False) -> float:
        """Sum of squared differences of the gradient magnitudes x 1e-3.

        ``minmax=True`` first stretches each alpha to [0, 1] (a constant one becomes 0), as
        RVM's low-resolution script does.
        """
        p, g = _squeeze(pred), _squeeze(gt)
        _check_shapes(p, g)
        if minmax:
            # (OpenCV's stubs require dst; its bindings take None for a new array.)
            p = cv2.normalize(to_unit(p), None, 1.0, 0.0, cv2.NORM_MINMAX)  # type: ignore[call-overload]
            g = cv2.normalize(to_unit(g), None, 1.0, 0.0, cv2.NORM_MINMAX)  # type: ignore[call-overload]
        work = self._buffers(p.shape)
        mag_p = self.magnitude(p, out=work[2])
        mag_g = self.magnitude(g, out=work[3])
        # cv2.norm accumulates in float64 without a temporary difference image.
        return cv2.norm(mag_p, mag_g, cv2.NORM_L2SQR) * 1e-3


def gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """|nabla alpha| by RVM's Gaussian derivative filters, in a new float32 array."""
    return GradientError(sigma).magnitude(alpha)


def grad(pred: np.ndarray, gt: np.ndarray, sigma: float = 1.4, minmax: bool = False) -> float:
    """Gradient error (RVM's Grad): sum of squared gradient-magnitude differences x 1e-3.

    To score many frames keep one :class:`GradientError`; it reuses its buffers. Equal alphas
    held in different arrays may score about 1e-20 rather than 0, since OpenCV's filters round
    differently with memory alignment.
    """
    return GradientError(sigma)(pred, gt, minmax=minmax)


def dtssd(
    pred_prev: np.ndarray, pred_cur: np.ndarray, gt_prev: np.ndarray, gt_cur: np.ndarray
) -> float:
    """Temporal coherence error of one frame pair: sqrt(mean((dp - dg)^2)) x 1e2.

    It punishes alpha changes the ground truth does not have (flicker) and missing ones (lag).
    """
    p0, g0 = _pair(pred_prev, gt_prev)
    p1, g1 = _pair(pred_cur, gt_cur)
    _check_shapes(p0, p1)
    d = (p1 - p0) - (g1 - g0)
    return float(math.sqrt(np.mean(d * d, dtype=np.float64)) * 1e2)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Grey level in [0, 1] of an RGB frame (BT.601 weights, as cv2's RGB2GRAY on uint8)."""
    frame = np.asarray(rgb)
    if frame.ndim == 2:
        return to_unit(frame)
    if frame.dtype != np.uint8:
        frame = np.clip(to_unit(frame) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / np.float32(255.0)


def still_mask(grey_prev: np.ndarray, grey_cur: np.ndarray) -> np.ndarray:
    """Pixels whose neighbourhood did not change: |GaussianBlur(grey_t - grey_{t-1}, 2)| < 0.01.

    Blurring first keeps sensor noise and compression grain from marking a pixel as moving.
    """
    change = to_unit(grey_cur) - to_unit(grey_prev)
    blurred = cv2.GaussianBlur(change, (0, 0), STILL_BLUR_SIGMA)
    return np.abs(blurred) < STILL_THRESHOLD


def flicker(
    alpha_prev: np.ndarray, alpha_cur: np.ndarray, grey_prev: np.ndarray, grey_cur: np.ndarray
) -> float:
    """Mean |alpha_t - alpha_{t-1}| x 1e3 over the still pixels; needs no ground truth.

    Where the picture does not change the alpha should not either, so any change there is
    flicker. Returns NaN when no pixel is still (a cut, a camera pan): such a frame pair says
    nothing about flicker, and the clip mean skips it.
    """
    a0, a1 = _pair(alpha_prev, alpha_cur)
    still = still_mask(grey_prev, grey_cur)
    if still.shape != a1.shape:
        raise ValueError(f"alpha shape {a1.shape} does not match frame shape {still.shape}")
    if not still.any():
        return math.nan
    return float(np.mean(np.abs(a1 - a0)[still], dtype=np.float64) * 1e3)


def halo(
    output: np.ndarray,
    body: np.ndarray,
    key: tuple[int, int, int],
    near: int = 4,
    far: int = 30,
    tolerance: int = 40,
) -> float:
    """Share of the ring just outside ``body`` that is not the plain ``key`` colour.

    ``output`` is a frame composited over a solid ``key`` colour (RGB uint8) and ``body`` a
    mask of where the person is (e.g. the model's own 0.5 level, before any later stage).
    The ring holds the pixels more than ``near`` and at most ``far`` pixels outside it: a
    clean key shows only ``key`` there, while a halo of the old background (a soft, wide
    edge) leaves other colours. A pixel counts when any channel differs from the key by
    more than ``tolerance``. NaN when the ring is empty.
    """
    outside = np.ascontiguousarray(~np.asarray(body, bool)).view(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    ring = (distance > near) & (distance <= far)
    if not ring.any():
        return math.nan
    colours = np.asarray(output)[ring].astype(np.int16)
    difference = np.abs(colours - np.array(key, np.int16)).max(axis=1)
    return float(np.count_nonzero(difference > tolerance) / difference.size)


def _nanmean(values: Iterable[float]) -> tuple[float, int]:
    """Mean of the values that are not NaN, and how many there were (NaN, 0 when none)."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return math.nan, 0
    return math.fsum(kept) / len(kept), len(kept)


class ClipMetrics:
    """Accumulates per-frame metrics of one clip, frame by frame, holding only the last frame.

    Feed frames in order with :meth:`add`; read :attr:`per_frame` or :meth:`summary`. A missing
    value is NaN: the ground-truth metrics when the clip has no ground truth, flicker on frame 0
    or when no pixel is still, ms when no time is given. dtSSD is 0 on frame 0 and counts in
    the mean, as in RVM; flicker on frame 0 does not count.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.per_frame: dict[str, list[float]] = {key: [] for key in METRICS}
        self._grad = GradientError()
        self._prev_pred: np.ndarray | None = None
        self._prev_gt: np.ndarray | None = None
        self._prev_grey: np.ndarray | None = None
        self._has_gt: bool | None = None

    @property
    def frames(self) -> int:
        """How many frames were added."""
        return len(self.per_frame["ms"])

    def add(
        self,
        pred: np.ndarray,
        gt: np.ndarray | None = None,
        rgb: np.ndarray | None = None,
        ms: float | None = None,
    ) -> dict[str, float]:
        """Score one frame (alpha, optional ground truth, optional RGB frame) and return its row.

        A clip has ground truth on every frame or on none: mixing would leave dtSSD undefined,
        so it raises ValueError.
        """
        has_gt = gt is not None
        if self._has_gt is None:
            self._has_gt = has_gt
        elif self._has_gt != has_gt:
            raise ValueError("give ground truth for every frame of a clip or for none")
        p = to_unit(pred)
        g = to_unit(gt) if gt is not None else None
        grey = luma(rgb) if rgb is not None else None
        if self._prev_pred is not None and self._prev_pred.shape != p.shape:
            # A folder of stills of different sizes: no frame pair to compare across.
            self._prev_pred = self._prev_gt = self._prev_grey = None

        row = dict.fromkeys(METRICS, math.nan)
        if gt is not None and g is not None:
            row.update(iou=iou(p, g), mad=mad(p, g), mse=mse(p, g), grad=self._grad(pred, gt))
            prev_p, prev_g = self._prev_pred, self._prev_gt
            row["dtssd"] = 0.0 if prev_p is None or prev_g is None else dtssd(prev_p, prev_g, p, g)
        if grey is not None and self._prev_grey is not None and self._prev_pred is not None:
            row["flicker"] = flicker(self._prev_pred, p, self._prev_grey, grey)
        if ms is not None:
            row["ms"] = float(ms)

        for key, value in row.items():
            self.per_frame[key].append(value)
        self._prev_pred, self._prev_gt, self._prev_grey = p, g, grey
        return row

    def summary(self) -> dict[str, Any]:
        """Per-clip means, with ``counts`` saying how many frames each mean is over."""
        result: dict[str, Any] = {"name": self.name, "frames": self.frames}
        counts: dict[str, int] = {}
        for key in METRICS:
            result[key], counts[key] = _nanmean(self.per_frame[key])
        result["counts"] = counts
        return result


def combine_summaries(
    summaries: Iterable[Mapping[str, Any]], name: str = "overall"
) -> dict[str, Any]:
    """Average several clips' summaries into one row, weighting each clip by its frame count.

    Each metric is weighted by the number of frames it was measured on in that clip
    (``counts``), so the result is the mean over all frames pooled: a long clip weighs more
    than a short one, and a clip without ground truth does not dilute IoU, MAD and the rest.
    A metric measured on no frame is NaN.
    """
    rows = list(summaries)
    result: dict[str, Any] = {"name": name, "frames": sum(int(r["frames"]) for r in rows)}
    counts: dict[str, int] = {}
    for key in METRICS:
        pairs = [(float(r[key]), int(r["counts"][key])) for r in rows if r["counts"][key] > 0]
        total = sum(n for _, n in pairs)
        counts[key] = total
        result[key] = math.fsum(v * n for v, n in pairs) / total if total else math.nan
    result["counts"] = counts
    return result
