"""The 4:2:0 path: colour maths, the plane-by-plane blend, and when a run takes it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import person_frames, write_clip

from livematte.composite import BlurBackground, ColourBackground, Compositor
from livematte.config import BackgroundConfig, Config, RefineConfig
from livematte.planar import ColourSpace, I420Picture, RgbPicture, rgb_to_planes
from livematte.refine import Refiner
from livematte.run.offline import process_video

BT601 = ColourSpace(matrix=6)
BT709 = ColourSpace(matrix=1)


def _codes(colour: ColourSpace, rgb: tuple[int, int, int]) -> list[int]:
    pixel = np.array([[rgb]], np.uint8)
    return [int(c) for c in cv2.transform(pixel, colour.from_rgb())[0, 0]]


@pytest.mark.parametrize(
    ("colour", "rgb", "expected"),
    [
        # Published limited-range values (ITU-R BT.601 / BT.709 tables).
        (BT601, (255, 255, 255), [235, 128, 128]),
        (BT601, (0, 0, 0), [16, 128, 128]),
        (BT601, (255, 0, 0), [81, 90, 240]),
        (BT709, (255, 0, 0), [63, 102, 240]),
        (BT709, (0, 0, 255), [32, 240, 118]),
        (ColourSpace(matrix=6, full_range=True), (255, 255, 255), [255, 128, 128]),
    ],
)
def test_rgb_to_ycbcr_codes_match_the_standards(colour, rgb, expected):
    assert _codes(colour, rgb) == pytest.approx(expected, abs=1)


@pytest.mark.parametrize("colour", [BT601, BT709, ColourSpace(matrix=9, full_range=True)])
def test_to_rgb_undoes_from_rgb(colour):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    back = cv2.transform(cv2.transform(rgb, colour.from_rgb()), colour.to_rgb())
    assert np.abs(back.astype(int) - rgb).max() <= 2


def test_untagged_streams_are_read_as_players_read_them():
    hd = ColourSpace.of_stream(2, 0, 2, 2, "yuv420p", 720)
    sd = ColourSpace.of_stream(2, 0, 2, 2, "yuv420p", 480)
    jpeg = ColourSpace.of_stream(5, 0, 2, 2, "yuvj420p", 480)
    assert (hd.matrix, hd.full_range) == (1, False)
    assert (sd.matrix, sd.full_range) == (6, False)
    assert (jpeg.matrix, jpeg.full_range) == (5, True)


def _picture(rgb: np.ndarray, colour: ColourSpace = BT709) -> I420Picture:
    y, u, v = rgb_to_planes(rgb, colour)
    packed = np.concatenate([y.ravel(), u.ravel(), v.ravel()])
    height, width = rgb.shape[:2]
    return I420Picture.from_packed(packed.reshape(height * 3 // 2, width), width, height, colour)


def _person(width: int = 320, height: int = 180) -> tuple[np.ndarray, np.ndarray]:
    rgb = next(iter(person_frames(1, width, height)))
    alpha = np.zeros((height, width), np.uint8)
    cv2.ellipse(alpha, (width // 2, height // 2), (width // 6, height // 3), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (9, 9), 3)
    return rgb, alpha


def test_planar_blend_keeps_the_persons_pixels_bit_for_bit():
    rgb, alpha = _person()
    picture = _picture(rgb)
    out = I420Picture.empty(picture.width, picture.height, picture.colour)
    Compositor(BlurBackground(25.0)).composite_planar(picture, alpha, out)
    inside = alpha == 255
    assert inside.sum() > 1000
    assert np.array_equal(out.y[inside], picture.y[inside])
    # Chroma blocks whose four pixels are all opaque are the decoded chroma unchanged.
    solid = cv2.resize(alpha, (160, 90), interpolation=cv2.INTER_AREA) == 255
    assert np.array_equal(out.u[solid], picture.u[solid])
    assert np.array_equal(out.v[solid], picture.v[solid])


def test_planar_blend_shows_the_new_background_where_alpha_is_zero():
    rgb, alpha = _person()
    picture = _picture(rgb)
    out = I420Picture.empty(picture.width, picture.height, picture.colour)
    config = BackgroundConfig(decontaminate=False, light_wrap=0.0)
    Compositor(ColourBackground((0, 0, 255)), config).composite_planar(picture, alpha, out)
    y, u, v = _codes(BT709, (0, 0, 255))
    outside = alpha == 0
    assert np.abs(out.y[outside].astype(int) - y).max() <= 1
    half = cv2.resize(alpha, (160, 90), interpolation=cv2.INTER_AREA) == 0
    assert np.abs(out.u[half].astype(int) - u).max() <= 1
    assert np.abs(out.v[half].astype(int) - v).max() <= 1


@pytest.mark.parametrize(
    ("make_background", "config"),
    [
        (lambda: BlurBackground(25.0), BackgroundConfig()),
        # Decontamination and light wrap on (the defaults), against a replaced background.
        (lambda: ColourBackground((0, 177, 64)), BackgroundConfig()),
        (lambda: ColourBackground((0, 177, 64)), BackgroundConfig(light_wrap=0.0)),
    ],
)
def test_planar_and_rgb_blends_give_the_same_picture(make_background, config):
    rgb, alpha = _person()
    picture = _picture(rgb)
    out = I420Picture.empty(picture.width, picture.height, picture.colour)
    Compositor(make_background(), config).composite_planar(picture, alpha, out)
    via_planes = out.to_rgb()
    # The same frame as the decoder would give it in RGB, blended the RGB way.
    decoded = picture.to_rgb()
    via_rgb = Compositor(make_background(), config).composite(
        decoded, alpha, np.empty_like(decoded)
    )
    difference = np.abs(via_planes.astype(int) - via_rgb)
    assert difference.mean() < 1.5
    assert np.percentile(difference, 99) <= 6


def test_planar_decontamination_removes_the_old_background_from_the_edge():
    # A person in blue against a red room; the new background is green. Without the
    # correction the edge keeps a red fringe (ideal: 20, both colours hold 20 red); the
    # planar correction takes as much of it away as the RGB one does.
    height, width = 180, 320
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = (220, 20, 20)
    alpha = np.zeros((height, width), np.uint8)
    cv2.circle(alpha, (160, 90), 50, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (21, 21), 6)
    a = alpha[..., None].astype(np.float32) / 255
    rgb = (a * np.array([20, 20, 220]) + (1 - a) * rgb).round().astype(np.uint8)
    picture = _picture(rgb)
    edge = (alpha > 40) & (alpha < 215)

    def red_on_edge(decontaminate: bool, planar: bool = True) -> float:
        config = BackgroundConfig(decontaminate=decontaminate, light_wrap=0.0)
        compositor = Compositor(ColourBackground((20, 200, 20)), config)
        if not planar:
            return float(compositor.composite(rgb, alpha, np.empty_like(rgb))[..., 0][edge].mean())
        out = I420Picture.empty(width, height, picture.colour)
        compositor.composite_planar(picture, alpha, out)
        return float(out.to_rgb()[..., 0][edge].mean())

    fringe, corrected = red_on_edge(False), red_on_edge(True)
    assert fringe > 55
    assert corrected < fringe - 12
    assert abs(corrected - red_on_edge(True, planar=False)) < 3


def test_refiner_gives_the_same_alpha_from_luma_as_from_rgb():
    rgb, alpha = _person(640, 360)
    low = cv2.resize(alpha, (256, 144), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    refiner = Refiner(RefineConfig())
    from_rgb = refiner.refine(low, rgb).astype(int)
    from_planes = refiner.refine(low, _picture(rgb)).astype(int)
    assert np.abs(from_rgb - from_planes).mean() < 1.0
    assert np.abs(from_rgb - from_planes).max() <= 40


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])  # from full size / from half size
def test_model_input_from_planes_is_the_frame_in_rgb(size):
    rgb, _ = _person(*size)
    small = _picture(rgb).model_input(256, 144)
    expected = RgbPicture(rgb).model_input(256, 144)
    assert small.shape == (144, 256, 3)
    assert np.abs(small.astype(int) - expected).mean() < 2.0


def _video_tags(path: Path) -> tuple[int, int, str]:
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        return int(ctx.colorspace), int(ctx.color_range), ctx.pix_fmt


@pytest.mark.parametrize("background", ["blur", "#00b140"])
def test_reencode_stays_planar_and_keeps_the_sources_colour_tags(tmp_path, background):
    clip = write_clip(tmp_path / "hd.mp4", frames=8, colorspace=1)
    report = process_video(clip, tmp_path / "out.mp4", background=background)
    assert report.planar is True
    assert _video_tags(tmp_path / "out.mp4") == (1, 1, "yuv420p")


def test_untagged_sd_source_is_tagged_bt601(tmp_path):
    clip = write_clip(tmp_path / "sd.mp4", frames=6)
    report = process_video(clip, tmp_path / "out.mp4")
    assert report.planar is True
    assert _video_tags(tmp_path / "out.mp4")[:2] == (6, 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("output", "background", "overrides"),
    [
        ("out.mov", "transparent", {}),  # RGBA output
        ("out.mp4", "blur", {"planar": False}),  # asked for the RGB path
        ("frames", "blur", {}),  # PNG folder
    ],
)
def test_runs_that_need_rgb_take_the_rgb_path(tmp_path, output, background, overrides):
    clip = write_clip(tmp_path / "in.mp4", frames=4)
    config = Config()
    for key, value in overrides.items():
        setattr(config.output, key, value)
    report = process_video(clip, tmp_path / output, background=background, config=config)
    assert report.planar is False
    assert report.frames == 4


def test_planar_and_rgb_runs_agree(tmp_path):
    clip = write_clip(tmp_path / "in.mp4", frames=12, width=320, height=180)
    process_video(clip, tmp_path / "planar.mp4")
    config = Config()
    config.output.planar = False
    process_video(clip, tmp_path / "rgb.mp4", config=config)

    def frames(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]

    planar, rgb = frames(tmp_path / "planar.mp4"), frames(tmp_path / "rgb.mp4")
    assert len(planar) == len(rgb) == 12
    assert np.mean([np.abs(a - b).mean() for a, b in zip(planar, rgb, strict=True)]) < 3.0
