"""Temporal smoothing: steady where the picture is still, no lag where it moves."""

from __future__ import annotations

import numpy as np

from livematte.config import Config, TemporalConfig
from livematte.matting.base import Matte, Matter
from livematte.stages import Stages
from livematte.temporal import TemporalFilter

H, W = 72, 128


def textured_grey(seed: int = 0) -> np.ndarray:
    """A still picture with some texture, grey in [0, 1]."""
    return np.random.default_rng(seed).uniform(0.2, 0.8, (H, W)).astype(np.float32)


def soft_edge(x: float) -> np.ndarray:
    """An alpha that is 1 left of column ``x`` and 0 right of it, over a 6-pixel ramp."""
    columns = np.arange(W, dtype=np.float32)
    row = np.clip((x - columns) / 6.0 + 0.5, 0.0, 1.0)
    return np.repeat(row[None, :], H, axis=0)


def test_moving_edge_is_followed_within_one_frame():
    temporal = TemporalFilter(TemporalConfig())
    grey = textured_grey()
    for _ in range(5):
        temporal.smooth(soft_edge(40), grey)
    # The person moves right by 20 pixels: the picture changes where they moved.
    moved_grey = grey.copy()
    moved_grey[:, 30:70] = np.clip(grey[:, 30:70] + 0.3, 0.0, 1.0)
    target = soft_edge(60)
    out = temporal.smooth(target, moved_grey)
    assert np.abs(out - target).max() < 0.02
    # A plain exponential average (the same strength everywhere) would still lag here.
    ema = 0.85 * soft_edge(40) + 0.15 * target
    assert np.abs(ema - target).max() > 0.5


def test_noise_on_a_still_picture_is_damped():
    rng = np.random.default_rng(1)
    temporal = TemporalFilter(TemporalConfig())
    grey = textured_grey()
    clean = soft_edge(64)
    ins, outs = [], []
    for _ in range(30):
        noisy = np.clip(clean + rng.normal(0.0, 0.08, clean.shape), 0.0, 1.0).astype(np.float32)
        ins.append(noisy)
        outs.append(temporal.smooth(noisy, grey).copy())
    flicker_in = np.mean([np.abs(np.diff(ins[10:], axis=0)).mean()])
    flicker_out = np.mean([np.abs(np.diff(outs[10:], axis=0)).mean()])
    assert flicker_out < 0.5 * flicker_in
    # Steady is not stuck: when the model's answer changes for good, certain values are
    # taken at once and unsure ones end within the dead band of it.
    target = soft_edge(80)
    out = temporal.smooth(target, grey)
    certain = (target == 0.0) | (target == 1.0)
    assert np.abs(out - target)[certain].max() < 1e-6
    for _ in range(30):
        out = temporal.smooth(target, grey)
    assert np.abs(out - target).max() <= TemporalConfig().deadband + 0.01


def test_disabled_filter_passes_alpha_through():
    temporal = TemporalFilter(TemporalConfig(enabled=False))
    grey = textured_grey()
    temporal.smooth(soft_edge(40), grey)
    second = soft_edge(41)
    np.testing.assert_array_equal(temporal.smooth(second, grey), second)


class ScriptedMatter(Matter):
    """Answers the alphas it is given, one per frame."""

    name = "scripted"
    device = "cpu"

    def __init__(self, alphas: list[np.ndarray]) -> None:
        self.alphas = list(alphas)

    def infer(self, rgb: np.ndarray) -> Matte:
        return Matte(self.alphas.pop(0))

    def reset(self) -> None:
        pass


def test_scene_cut_starts_afresh():
    config = Config()
    config.refine.enabled = False  # plain bilinear: what we read back is the temporal output
    before = np.full((H, W), 0.3, np.float32)
    after = np.full((H, W), 0.6, np.float32)
    frame = (textured_grey() * 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)
    cut = frame.copy()
    cut[:, : W * 3 // 4] = 0  # most of the picture changes
    matter = ScriptedMatter([before, before, before, after, after])
    stages = Stages(config, matter=matter)
    for _ in range(3):
        stages.matte(frame)
    # The unchanged right quarter would lean on the past (0.3) without the reset.
    out = stages.matte(cut).alpha
    assert stages.scene_cuts == 1
    assert np.abs(out[:, -10:].astype(int) - 153).max() <= 1
    # Same jump without a cut: damped in the still part.
    stages_no_cut = Stages(config, matter=ScriptedMatter([before, before, before, after]))
    for _ in range(3):
        stages_no_cut.matte(frame)
    damped = stages_no_cut.matte(frame).alpha
    assert stages_no_cut.scene_cuts == 0
    assert damped[:, -10:].mean() < 140
