"""Pins each matte metric to hand-computed values on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from livematte import metrics as m

STEP = np.array([[0, 0, 1, 1]] * 4, dtype=np.float32)  # left half 0, right half 1


# --- IoU ---------------------------------------------------------------------------------


def test_iou_identical_disjoint_and_partial():
    left = np.zeros((4, 4), np.float32)
    left[:, :2] = 1  # columns 0-1: 8 pixels
    middle = np.zeros((4, 4), np.float32)
    middle[:, 1:3] = 1  # columns 1-2: 8 pixels
    right = 1 - left  # columns 2-3
    assert m.iou(left, left) == 1.0
    assert m.iou(left, right) == 0.0
    # intersection = column 1 = 4 px; union = columns 0-2 = 12 px -> 4/12
    assert m.iou(left, middle) == pytest.approx(1 / 3)
    # pred covers half of gt and nothing else: 4 / 8
    assert m.iou(left * (np.arange(4) == 1), left) == pytest.approx(0.5)


def test_iou_of_two_empty_masks_is_one():
    empty = np.zeros((3, 3), np.uint8)
    assert m.iou(empty, empty) == 1.0
    assert m.iou(empty, np.full((3, 3), 255, np.uint8)) == 0.0


def test_iou_thresholds_both_inputs_at_half():
    # uint8 128/255 = 0.502 counts as foreground, 127/255 = 0.498 does not.
    pred = np.array([[128, 127]], np.uint8)
    gt = np.array([[255, 255]], np.uint8)
    assert m.iou(pred, gt) == pytest.approx(0.5)  # 1 of 2
    assert m.iou(pred, gt, threshold=0.4) == 1.0


# --- MAD / MSE ---------------------------------------------------------------------------


def test_mad_and_mse_are_means_scaled_by_1e3():
    pred = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    gt = np.zeros((2, 2), np.float32)
    # MAD = (0 + 0.5 + 1 + 0.25) / 4 = 0.4375 -> x1e3 = 437.5
    assert m.mad(pred, gt) == pytest.approx(437.5)
    # MSE = (0 + 0.25 + 1 + 0.0625) / 4 = 0.328125 -> x1e3 = 328.125
    assert m.mse(pred, gt) == pytest.approx(328.125)
    assert m.mad(gt, gt) == 0.0
    assert m.mse(pred, pred) == 0.0


def test_uint8_and_float_inputs_give_the_same_values():
    pred8 = np.array([[0, 51], [102, 255]], np.uint8)  # = 0, 0.2, 0.4, 1.0
    gt8 = np.zeros((2, 2), np.uint8)
    # MAD = (0 + 0.2 + 0.4 + 1) / 4 = 0.4 -> 400; MSE = (0 + 0.04 + 0.16 + 1) / 4 = 0.3 -> 300
    assert m.mad(pred8, gt8) == pytest.approx(400.0, rel=1e-6)
    assert m.mse(pred8, gt8) == pytest.approx(300.0, rel=1e-6)
    predf = pred8 / 255.0
    assert m.mad(predf, gt8) == pytest.approx(m.mad(pred8, gt8), rel=1e-6)
    assert m.mse(predf, np.zeros((2, 2))) == pytest.approx(m.mse(pred8, gt8), rel=1e-6)
    assert m.grad(pred8, gt8) == pytest.approx(m.grad(predf, gt8 / 255.0), rel=1e-5)
    # A trailing channel axis of 1 is the same alpha.
    assert m.mad(pred8[:, :, None], gt8) == pytest.approx(400.0, rel=1e-6)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shape"):
        m.mad(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        m.grad(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))


# --- Grad --------------------------------------------------------------------------------


def test_gradient_kernel_has_rvm_size_and_unit_norm():
    smooth, deriv = m.gradient_kernels(1.4)
    # half = ceil(1.4 * sqrt(-2 ln(sqrt(2 pi) * 1.4 * 0.01))) = ceil(1.4 * sqrt(-2 ln 0.03509))
    #      = ceil(1.4 * sqrt(6.699)) = ceil(3.624) = 4 -> 9 taps
    assert smooth.shape == deriv.shape == (9,)
    assert np.linalg.norm(np.outer(smooth, deriv)) == pytest.approx(1.0, rel=1e-6)
    assert deriv[4] == 0 and deriv[0] == pytest.approx(-deriv[8])


def test_grad_is_zero_for_identical_inputs_and_positive_symmetric_otherwise():
    rng = np.random.default_rng(1)
    a = rng.random((12, 10)).astype(np.float32)
    b = rng.random((12, 10)).astype(np.float32)
    assert m.grad(a, a) == 0.0
    assert m.grad(a, a.copy()) == pytest.approx(0.0, abs=1e-12)  # alignment-dependent rounding
    assert m.grad(a, b) > 0
    assert m.grad(a, b) == pytest.approx(m.grad(b, a), rel=1e-6)
    # A flat image has no gradient, whatever its level.
    assert m.grad(np.full((5, 5), 0.3), np.full((5, 5), 0.9)) == pytest.approx(0.0, abs=1e-9)


def test_grad_matches_an_independent_scipy_computation():
    rng = np.random.default_rng(2)
    pred = rng.random((16, 20))
    gt = np.zeros((16, 20))
    gt[4:12, 6:15] = 1.0
    # scipy's order-1 Gaussian filter is the same kernel up to scale (and sign): the
    # derivative of a sampled Gaussian times a sampled Gaussian, radius round(4.0) = 4.
    # RVM divides the 2-D kernel by its L2 norm; measure that norm from scipy's impulse
    # response. mode="nearest" is cv2's BORDER_REPLICATE.
    options = {"sigma": 1.4, "truncate": 4 / 1.4, "mode": "nearest"}
    impulse = np.zeros((21, 21))
    impulse[10, 10] = 1.0
    norm = np.linalg.norm(ndimage.gaussian_filter(impulse, order=(0, 1), **options))

    def magnitude(img: np.ndarray) -> np.ndarray:
        gx = ndimage.gaussian_filter(img, order=(0, 1), **options)
        gy = ndimage.gaussian_filter(img, order=(1, 0), **options)
        return np.hypot(gx, gy) / norm

    expected = np.sum((magnitude(pred) - magnitude(gt)) ** 2) / 1000
    assert expected > 0.01
    assert m.grad(pred, gt) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(m.gradient_magnitude(gt), magnitude(gt), atol=1e-6)


def test_grad_minmax_variant_stretches_each_alpha():
    faint = STEP * 0.5  # same shape as STEP, half the contrast
    assert m.grad(faint, STEP) > 0
    assert m.grad(faint, STEP, minmax=True) == pytest.approx(0.0, abs=1e-9)


def test_gradient_error_reuses_buffers_across_sizes():
    scorer = m.GradientError()
    rng = np.random.default_rng(3)
    small = rng.random((8, 8)).astype(np.float32)
    large = rng.random((10, 14)).astype(np.float32)
    for a, b in [(small, small[::-1]), (large, large[::-1]), (small, small.T)]:
        assert scorer(a, b) == pytest.approx(m.grad(a, b), rel=1e-6)


# --- dtSSD -------------------------------------------------------------------------------


def test_dtssd_worked_examples():
    zeros = np.zeros((2, 2), np.float32)
    p1 = np.array([[1, 0], [0, 0]], np.float32)
    # d = p1 - 0 - (0 - 0) = [[1,0],[0,0]]; mean d^2 = 1/4; sqrt = 0.5 -> x100 = 50
    assert m.dtssd(zeros, p1, zeros, zeros) == pytest.approx(50.0)
    # pred moves by 0.5 on two pixels, gt by 0.5 on one: d = [[0, 0.5], [0, 0]]
    # mean d^2 = 0.25 / 4 = 0.0625; sqrt = 0.25 -> x100 = 25
    pred = np.array([[0.5, 0.5], [0, 0]], np.float32)
    gt = np.array([[0.5, 0], [0, 0]], np.float32)
    assert m.dtssd(zeros, pred, zeros, gt) == pytest.approx(25.0)
    # A prediction that changes exactly as the ground truth does scores 0.
    assert m.dtssd(zeros, gt, zeros, gt) == 0.0


def test_clip_dtssd_counts_frame_zero_as_zero():
    clip = m.ClipMetrics()
    zeros = np.zeros((2, 2), np.float32)
    clip.add(zeros, zeros)
    clip.add(np.array([[1, 0], [0, 0]], np.float32), zeros)
    assert clip.per_frame["dtssd"] == [0.0, pytest.approx(50.0)]
    # Frame 0 is in the mean, as in RVM: (0 + 50) / 2
    assert clip.summary()["dtssd"] == pytest.approx(25.0)


# --- flicker -----------------------------------------------------------------------------


def test_flicker_on_a_static_picture_is_the_mean_alpha_change():
    grey = np.full((4, 4), 0.5, np.float32)
    prev = np.zeros((4, 4), np.float32)
    cur = prev.copy()
    cur[:2, :2] = 0.1  # 4 of 16 pixels change by 0.1: mean 0.4/16 = 0.025 -> x1e3 = 25
    assert m.flicker(prev, cur, grey, grey) == pytest.approx(25.0, rel=1e-6)
    assert m.flicker(prev, prev, grey, grey) == 0.0


def test_flicker_counts_only_still_pixels():
    grey_prev = np.zeros((40, 40), np.float32)
    grey_cur = grey_prev.copy()
    grey_cur[:, 30:] = 1.0  # the right quarter of the picture changes: moving
    still = m.still_mask(grey_prev, grey_cur)
    assert still[:, :20].all() and not still[:, 28:].any()

    alpha_prev = np.zeros((40, 40), np.float32)
    moving_only = alpha_prev.copy()
    moving_only[:, 28:] = 1.0  # the alpha follows the motion: not flicker
    assert m.flicker(alpha_prev, moving_only, grey_prev, grey_cur) == 0.0

    both = moving_only.copy()
    both[:, :28] = 0.2  # and wobbles by 0.2 where nothing moved: flicker 0.2 -> x1e3 = 200
    assert m.flicker(alpha_prev, both, grey_prev, grey_cur) == pytest.approx(200.0, rel=1e-6)


def test_flicker_is_nan_when_nothing_is_still():
    black = np.zeros((8, 8), np.float32)
    white = np.ones((8, 8), np.float32)
    assert math.isnan(m.flicker(black, white, black, white))


def test_flicker_ignores_noise_below_threshold():
    rng = np.random.default_rng(4)
    grey = rng.random((32, 32)).astype(np.float32) * 0.5
    noisy = grey + rng.normal(0, 0.01, grey.shape).astype(np.float32)  # sensor noise, 1%
    assert m.still_mask(grey, noisy).mean() > 0.9


def test_luma_uses_bt601_weights_on_rgb():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    # 0.299 * 255 = 76.2 -> 76; 0.587 * 255 = 149.7 -> 150; 0.114 * 255 = 29.1 -> 29
    np.testing.assert_allclose(m.luma(rgb), [[76 / 255, 150 / 255, 29 / 255]], atol=1e-7)


# --- accumulation ------------------------------------------------------------------------


def _frames() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Three 4x4 frames of a still grey picture: (pred, gt, rgb)."""
    rgb = np.full((4, 4, 3), 128, np.uint8)
    gt = np.zeros((4, 4), np.float32)
    gt[:, 2:] = 1
    preds = [gt.copy(), gt.copy(), gt.copy()]
    preds[1][0, 0] = 1.0  # frame 1: one wrong pixel, flips on then off again
    return [(p, gt, rgb) for p in preds]


def test_clip_metrics_keeps_per_frame_values_and_means():
    clip = m.ClipMetrics("c")
    for i, (pred, gt, rgb) in enumerate(_frames()):
        clip.add(pred, gt, rgb, ms=2.0 * (i + 1))
    pf = clip.per_frame
    # frame 1: one wrong pixel of 16 -> MAD = MSE = 1/16 -> 62.5; IoU = 8/9
    assert pf["mad"] == [0.0, pytest.approx(62.5), 0.0]
    assert pf["mse"] == [0.0, pytest.approx(62.5), 0.0]
    assert pf["iou"] == [1.0, pytest.approx(8 / 9), 1.0]
    # the pixel changes by 1 at t=1 and back at t=2 while gt does not: sqrt(1/16) x100 = 25
    assert pf["dtssd"] == [0.0, pytest.approx(25.0), pytest.approx(25.0)]
    # still picture: flicker = mean |da| = 1/16 -> 62.5 at t=1 and t=2; undefined at t=0
    assert math.isnan(pf["flicker"][0])
    assert pf["flicker"][1:] == [pytest.approx(62.5), pytest.approx(62.5)]
    assert pf["grad"][0] == 0.0 and pf["grad"][1] > 0

    s = clip.summary()
    assert s["name"] == "c" and s["frames"] == 3
    assert s["mad"] == pytest.approx(62.5 / 3)
    assert s["iou"] == pytest.approx((2 + 8 / 9) / 3)
    assert s["dtssd"] == pytest.approx(50.0 / 3)
    assert s["flicker"] == pytest.approx(62.5)  # over the two defined frames
    assert s["ms"] == pytest.approx(4.0)  # (2 + 4 + 6) / 3
    assert s["counts"] == {
        "iou": 3,
        "mad": 3,
        "mse": 3,
        "grad": 3,
        "dtssd": 3,
        "flicker": 2,
        "ms": 3,
    }


def test_clip_without_ground_truth_has_only_flicker_and_time():
    clip = m.ClipMetrics()
    for pred, _, rgb in _frames():
        clip.add(pred, rgb=rgb)
    s = clip.summary()
    assert all(math.isnan(s[k]) for k in ("iou", "mad", "mse", "grad", "dtssd", "ms"))
    assert s["flicker"] == pytest.approx(62.5)


def test_mixing_frames_with_and_without_ground_truth_is_refused():
    clip = m.ClipMetrics()
    pred, gt, _ = _frames()[0]
    clip.add(pred, gt)
    with pytest.raises(ValueError, match="ground truth"):
        clip.add(pred)


def test_combine_summaries_weights_by_frames_measured():
    def row(frames: int, mad: float, flick: float, gt: bool = True) -> dict:
        n = frames if gt else 0
        counts = dict.fromkeys(m.METRICS, n) | {"flicker": frames - 1, "ms": frames}
        values = dict.fromkeys(m.METRICS, mad if gt else math.nan) | {"flicker": flick}
        return {"name": "x", "frames": frames, **values, "ms": 1.0, "counts": counts}

    a, b, c = row(3, 10.0, 4.0), row(1, 50.0, math.nan), row(5, math.nan, 1.0, gt=False)
    b["counts"]["flicker"] = 0
    total = m.combine_summaries([a, b, c])
    assert total["frames"] == 9
    # MAD over the 4 frames with ground truth: (3 * 10 + 1 * 50) / 4 = 20; clip c adds nothing
    assert total["mad"] == pytest.approx(20.0)
    assert total["counts"]["mad"] == 4
    # flicker over 2 + 0 + 4 frame pairs: (2 * 4 + 4 * 1) / 6 = 2
    assert total["flicker"] == pytest.approx(2.0)
    assert total["ms"] == pytest.approx(1.0)
    assert math.isnan(m.combine_summaries([c])["mad"])


def test_combine_of_real_clips_equals_pooled_frames():
    clips = []
    frames = _frames()
    for n in (1, 3):
        clip = m.ClipMetrics()
        for pred, gt, rgb in frames[:n]:
            clip.add(pred, gt, rgb)
        clips.append(clip)
    pooled = clips[0].per_frame["mad"] + clips[1].per_frame["mad"]
    total = m.combine_summaries(c.summary() for c in clips)
    assert total["mad"] == pytest.approx(sum(pooled) / len(pooled))


# --- properties --------------------------------------------------------------------------


alphas = arrays(np.uint8, (6, 7), elements=st.integers(0, 255))


@settings(max_examples=40, deadline=None)
@given(alphas, alphas)
def test_metrics_are_symmetric_bounded_and_dtype_blind(a: np.ndarray, b: np.ndarray):
    assert 0.0 <= m.iou(a, b) <= 1.0
    assert m.iou(a, b) == m.iou(b, a)
    assert 0.0 <= m.mse(a, b) <= m.mad(a, b) <= 1000.0  # |d| <= 1 so d^2 <= |d|
    assert m.mad(a, b) == pytest.approx(m.mad(a / 255.0, b / 255.0), rel=1e-5, abs=1e-6)
    assert m.grad(a, b) == pytest.approx(m.grad(b, a), rel=1e-5, abs=1e-9)
