"""Compositing: halo-free blur, an exact uint8 blend, transparency, edge decontamination."""

from __future__ import annotations

import cv2
import numpy as np

from livematte.composite import (
    Background,
    BlurBackground,
    ColourBackground,
    Compositor,
    TransparentBackground,
)
from livematte.config import BackgroundConfig

H, W = 180, 320
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (20, 40, 230)


class FixedBackground(Background):
    """A given picture as the background."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        return self.image


def person_on_green() -> tuple[np.ndarray, np.ndarray]:
    """A red disc (the person) on green, with its hard alpha."""
    alpha = np.zeros((H, W), np.uint8)
    cv2.circle(alpha, (W // 2, H // 2), 50, 255, -1)
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = GREEN
    rgb[alpha > 0] = RED
    return rgb, alpha


def test_blur_keeps_the_persons_colour_out_of_the_background():
    rgb, alpha = person_on_green()
    background = BlurBackground(25).render(rgb, alpha)
    ring = cv2.dilate(alpha, np.ones((21, 21), np.uint8)) - cv2.dilate(alpha, np.ones((7, 7)))
    near = ring > 0
    # A plain blur of the frame smears the red person over the green around them...
    plain = cv2.GaussianBlur(rgb, (0, 0), 25 * H / 720)
    assert plain[near, 0].mean() > GREEN[0] + 15
    # ...the halo-free blur keeps the surroundings green.
    assert background[near, 0].max() < GREEN[0] + 5
    assert np.abs(background[near].astype(int) - GREEN).max() < 25


def test_uint8_blend_matches_a_float_reference():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
    config = BackgroundConfig(decontaminate=False, light_wrap=0.0)
    out = Compositor(FixedBackground(bg), config).composite(rgb, alpha, np.empty_like(rgb))
    a = alpha[:, :, None] / 255.0
    reference = rgb * a + bg * (1.0 - a)
    assert np.abs(out - reference).max() <= 1.5


def test_transparent_output_is_rgba_with_the_alpha():
    rgb, alpha = person_on_green()
    out = np.empty((H, W, 4), np.uint8)
    Compositor(TransparentBackground()).composite(rgb, alpha, out)
    np.testing.assert_array_equal(out[:, :, :3], rgb)
    np.testing.assert_array_equal(out[:, :, 3], alpha)


def soft_edge_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red person left, green old background right, mixed over an 8-pixel soft edge."""
    columns = np.arange(W, dtype=np.float32)
    ramp = np.clip((W / 2 - columns) / 8.0 + 0.5, 0.0, 1.0)
    a = np.repeat(ramp[None, :], H, axis=0)
    alpha = np.round(a * 255).astype(np.uint8)
    a3 = alpha[:, :, None] / 255.0
    rgb = np.round(a3 * RED + (1 - a3) * np.array(GREEN)).astype(np.uint8)
    return rgb, alpha, a3


def test_decontamination_removes_the_old_background_from_edge_pixels():
    rgb, alpha, a3 = soft_edge_scene()
    ideal = a3 * RED + (1 - a3) * np.array(BLUE)  # the person truly over the new background
    band = (alpha > 40) & (alpha < 215)
    errors = {}
    for decontaminate in (False, True):
        config = BackgroundConfig(decontaminate=decontaminate, light_wrap=0.0)
        compositor = Compositor(ColourBackground(BLUE), config)
        out = compositor.composite(rgb, alpha, np.empty_like(rgb)).astype(float)
        errors[decontaminate] = np.abs(out - ideal)[band, 1].mean()  # green: the old colour
    assert errors[False] > 15
    assert errors[True] < 0.4 * errors[False]


def test_a_faint_wrong_alpha_does_not_paint_the_old_backgrounds_texture_back():
    # A segmenter's soft edge spills a faint alpha (here 20/255) over a textured old
    # background (a bright and dark checkerboard: a window behind leaves). Those pixels are
    # background, so over a key colour they must stay close to it; decontamination used to
    # add back (1 - a)(I - B_old) there, the old texture itself, at nearly full strength.
    rgb, alpha = person_on_green()
    squares = ((np.arange(H)[:, None] // 6 + np.arange(W)[None, :] // 6) % 2).astype(bool)
    rgb[alpha == 0] = np.where(squares[alpha == 0, None], 230, 40)
    spill = cv2.dilate(alpha, np.ones((31, 31), np.uint8)) > 0
    spill &= alpha == 0
    alpha[spill] = 20
    config = BackgroundConfig(decontaminate=True, light_wrap=0.0)
    out = Compositor(ColourBackground(BLUE), config).composite(rgb, alpha, np.empty_like(rgb))
    away = np.abs(out[spill].astype(int) - BLUE).max(axis=1)
    # The plain blend alone moves them by a (I - B_new): up to 17 here; the old background's
    # texture added back moved them by over 100.
    assert away.max() <= 17 + 20


def test_transparent_output_carries_the_persons_colour_at_the_edge():
    # Editors composite the RGBA elsewhere: a red/green mix at the edge would be a green halo.
    rgb, alpha, _ = soft_edge_scene()
    band = (alpha > 40) & (alpha < 215)
    reds = {}
    for decontaminate in (False, True):
        config = BackgroundConfig(decontaminate=decontaminate)
        out = np.empty((H, W, 4), np.uint8)
        Compositor(TransparentBackground(), config).composite(rgb, alpha, out)
        np.testing.assert_array_equal(out[:, :, 3], alpha)
        np.testing.assert_array_equal(out[alpha == 255, :3], rgb[alpha == 255])
        error = np.abs(out[:, :, :3].astype(float) - RED)[band].max(axis=1)
        reds[decontaminate] = error.mean()
    assert reds[False] > 60  # the plain frame: half green at the edge
    assert reds[True] < 12


def test_transparent_output_uses_the_models_foreground():
    rgb, alpha, _ = soft_edge_scene()
    foreground = np.empty_like(rgb)
    foreground[:] = RED
    out = np.empty((H, W, 4), np.uint8)
    Compositor(TransparentBackground()).composite(rgb, alpha, out, foreground)
    np.testing.assert_array_equal(out[:, :, :3], foreground)


def test_decontamination_leaves_the_background_and_solid_person_alone():
    rgb, alpha, _ = soft_edge_scene()
    config = BackgroundConfig(decontaminate=True, light_wrap=0.0)
    out = Compositor(ColourBackground(BLUE), config).composite(rgb, alpha, np.empty_like(rgb))
    np.testing.assert_array_equal(out[alpha == 0], np.broadcast_to(BLUE, out[alpha == 0].shape))
    np.testing.assert_array_equal(out[alpha == 255], rgb[alpha == 255])


def test_light_wrap_tints_only_the_persons_edge():
    rgb, alpha = person_on_green()
    outs = {}
    for wrap in (0.0, 0.5):
        config = BackgroundConfig(decontaminate=False, light_wrap=wrap)
        outs[wrap] = Compositor(ColourBackground(BLUE), config).composite(
            rgb, alpha, np.empty_like(rgb)
        )
    inner_edge = (alpha > 0) & (cv2.erode(alpha, np.ones((9, 9), np.uint8)) == 0)
    core = cv2.erode(alpha, np.ones((61, 61), np.uint8)) > 0
    blue_gain = outs[0.5][:, :, 2].astype(int) - outs[0.0][:, :, 2]
    assert blue_gain[inner_edge].mean() > 10
    assert np.abs(blue_gain[core]).max() <= 1
    np.testing.assert_array_equal(outs[0.5][alpha == 0], outs[0.0][alpha == 0])
