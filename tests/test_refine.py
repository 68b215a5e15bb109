"""Edge refinement: unsure edges snap to the picture's edge, confident regions stay put."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livematte.config import Config, RefineConfig, validate
from livematte.errors import UserError
from livematte.refine import Refiner

H, W = 180, 320
EDGE = 161  # the true edge: the person is left of this column


def frame(texture: float = 0.0) -> np.ndarray:
    """A dark person on the left, a bright background on the right, optional texture."""
    rng = np.random.default_rng(0)
    grey = np.where(np.arange(W) < EDGE, 60.0, 190.0)[None, :].repeat(H, axis=0)
    grey = grey + rng.normal(0.0, texture, (H, W))
    return np.clip(grey, 0, 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)


def model_alpha(offset: float = 2.0) -> np.ndarray:
    """What a low-resolution model gives: a soft ramp, its middle a little off the edge."""
    small_w, small_h = 80, 45  # a quarter of the frame
    columns = (np.arange(small_w) + 0.5) * W / small_w
    ramp = np.clip((EDGE + offset - columns) / 24.0 + 0.5, 0.0, 1.0)
    return np.repeat(ramp[None, :], small_h, axis=0).astype(np.float32)


def bilinear(alpha: np.ndarray) -> np.ndarray:
    return Refiner(RefineConfig(enabled=False)).refine(alpha, frame()).copy()


def test_unsure_edge_snaps_to_the_true_edge():
    alpha = model_alpha()
    refined = Refiner(RefineConfig()).refine(alpha, frame()).astype(int)
    plain = bilinear(alpha).astype(int)
    row_refined, row_plain = refined[H // 2], plain[H // 2]
    # Bilinear upsampling keeps the model's wide ramp: no step anywhere near the edge...
    assert np.abs(np.diff(row_plain)).max() <= 15
    # ...the refined alpha steps down right at the picture's edge,
    assert row_refined[EDGE - 1] - row_refined[EDGE] >= 80
    crossing = int(np.argmax(row_refined < 128))
    assert abs(crossing - EDGE) <= 1
    # and on each side it is closer to the truth (255 left, 0 right) than bilinear.
    left, right = slice(EDGE - 6, EDGE), slice(EDGE, EDGE + 6)
    assert (row_refined[left] >= row_plain[left]).all()
    assert (row_refined[right] <= row_plain[right]).all()


def test_confident_regions_are_unchanged_even_on_texture():
    alpha = model_alpha()
    textured = frame(texture=25.0)
    refined = Refiner(RefineConfig()).refine(alpha, textured)
    plain = bilinear(alpha)
    full_model = cv2.resize(alpha, (W, H), interpolation=cv2.INTER_LINEAR)
    confident = (full_model <= 0.0) | (full_model >= 1.0)
    assert confident.mean() > 0.5
    np.testing.assert_array_equal(refined[confident], plain[confident])


def test_an_alpha_finer_than_the_work_image_keeps_its_own_detail():
    # The pose model's alpha comes at (nearly) the frame's size: a 3 px gap between an arm
    # and the body, on a flat picture where the guide has nothing to snap to, must survive;
    # through the 160-px work copy it would be smeared into a shallow dip.
    big_h, big_w = 360, 640
    alpha = np.ones((big_h, big_w), np.float32)
    alpha[:, 400:403] = 0.0
    flat = np.full((big_h, big_w, 3), 120, np.uint8)
    refined = Refiner(RefineConfig(work_size=160)).refine(alpha, flat)
    assert refined[:, 401].max() <= 10
    assert refined[:, 390].min() >= 245 and refined[:, 410].min() >= 245


def test_an_alpha_a_rounding_step_past_one_stays_solid():
    # A sigmoid in float32 may give 1.0000001: the person must stay solid there, not turn
    # into a hole (a NaN weight used to make such pixels 0).
    alpha = np.full((45, 80), np.float32(1.0000001))
    alpha[:, :20] = 0.0
    refined = Refiner(RefineConfig()).refine(alpha, frame(texture=5.0))
    assert refined[:, 160:].min() == 255


def test_output_is_full_size_uint8_and_disabled_is_bilinear():
    alpha = model_alpha()
    refined = Refiner(RefineConfig()).refine(alpha, frame())
    assert refined.shape == (H, W) and refined.dtype == np.uint8
    expected = cv2.resize(alpha, (W, H), interpolation=cv2.INTER_LINEAR) * 255.0
    assert np.abs(bilinear(alpha).astype(float) - expected).max() <= 2.0


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("temporal.deadband", -0.1),
        ("temporal.deadband", 0.8),
        ("temporal.scene_cut", 0.0),
        ("refine.confidence_power", 0.0),
        ("refine.work_size", 8),
        ("refine.work_size", -1),
        ("refine.feather", -2),
        ("background.light_wrap", 1.5),
        ("model.skip_still", -0.01),
        ("model.skip_max", -1),
    ],
)
def test_out_of_range_quality_knobs_are_refused_in_one_sentence(setting: str, value: float) -> None:
    config = Config()
    section, key = setting.split(".")
    setattr(getattr(config, section), key, value)
    with pytest.raises(UserError) as raised:
        validate(config)
    message = str(raised.value)
    assert key in message and str(value) in message and "\n" not in message
    validate(Config())  # the defaults themselves pass
