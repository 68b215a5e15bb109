"""A folder of pictures is a set of pictures: each matted as if it were run alone.

The pictures are the package's astronaut portrait (public domain) and two studio shots of
things drawn here, of three different sizes, so a matte carried from one to the next, or
a size taken from the first, shows up as a difference.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import write_clip

from livematte import process_batch, process_video
from livematte.cli import main
from livematte.demo import astronaut
from livematte.io.images import read_image, write_image
from livematte.io.sources import ImageFolderSource, looks_like_clip


def studio_shot(width: int, height: int, colour: tuple[int, int, int], round_: bool) -> np.ndarray:
    """A product on a light studio background: a mug-like box or a round vase."""
    rgb = np.full((height, width, 3), 228, np.uint8)
    cx, cy = width // 2, height // 2
    if round_:
        cv2.ellipse(rgb, (cx, cy), (width // 6, height // 3), 0, 0, 360, colour, -1)
    else:
        cv2.rectangle(
            rgb,
            (cx - width // 7, cy - height // 4),
            (cx + width // 7, cy + height // 4),
            colour,
            -1,
        )
        cv2.circle(rgb, (cx + width // 7, cy), height // 9, colour, height // 30)
    shade = np.linspace(0.85, 1.08, width, dtype=np.float32)[None, :, None]
    return np.clip(rgb * shade, 0, 255).astype(np.uint8)


def reshot(rgb: np.ndarray) -> np.ndarray:
    """The same picture taken again: a little sensor noise on every pixel."""
    noise = np.random.default_rng(3).normal(0.0, 4.0, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8)


# The second astronaut is the first one taken again: no scene cut between them, so a clip
# would smooth the second matte with the first.
PICTURES = {
    "astronaut.jpg": lambda: astronaut(),
    "astronaut2.jpg": lambda: reshot(astronaut()),
    "mug.png": lambda: studio_shot(480, 360, (190, 30, 40), round_=False),
    "vase.jpg": lambda: studio_shot(640, 400, (40, 90, 170), round_=True),
}
PRODUCTS = ("mug", "vase")


def make_pictures(folder: Path) -> dict[str, tuple[int, int]]:
    """Four pictures of three sizes; their (height, width) by stem."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, make in PICTURES.items():
        rgb = make()
        write_image(folder / name, rgb)
        sizes[Path(name).stem] = rgb.shape[:2]
    assert len(set(sizes.values())) == 3
    return sizes


def grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def alpha_of(path: Path) -> np.ndarray:
    """The alpha channel of an RGBA picture."""
    image = grey(path)
    assert image.ndim == 3 and image.shape[2] == 4, f"{path} has no alpha channel"
    return image[:, :, 3]


def run_alone(tmp_path: Path, photos: Path, model: str) -> dict[str, np.ndarray]:
    """Each picture run on its own: its matte, by stem."""
    alone = {}
    for name in PICTURES:
        stem = Path(name).stem
        matte = tmp_path / "alone" / f"{stem}.png"
        matte.parent.mkdir(exist_ok=True)
        process_video(
            photos / name,
            tmp_path / "alone" / f"{stem}-out.png",
            background="transparent",
            alpha_out=matte,
            model=model,
        )
        alone[stem] = grey(matte)
    return alone


@pytest.mark.slow
@pytest.mark.parametrize("model", ["auto", "object"])
def test_run_on_a_folder_of_photos_mattes_each_as_if_alone(tmp_path: Path, model: str) -> None:
    photos = tmp_path / "photos"
    sizes = make_pictures(photos)
    status = main(
        [
            "run",
            str(photos),
            "-o",
            str(tmp_path / "cutouts"),
            "--model",
            model,
            "-b",
            "transparent",
            "--alpha-out",
            str(tmp_path / "mattes"),
            "-q",
        ]
    )
    assert status == 0
    alone = run_alone(tmp_path, photos, model)
    for stem, (height, width) in sizes.items():
        cutout = grey(tmp_path / "cutouts" / f"{stem}.png")
        assert cutout.shape == (height, width, 4)  # name and size kept, transparent
        matte = grey(tmp_path / "mattes" / f"{stem}.png")
        assert np.array_equal(matte, alone[stem]), f"{stem}: differs from its own run"
        assert np.array_equal(cutout[:, :, 3], matte)


@pytest.mark.slow
def test_white_listing_background_keeps_names_and_sizes(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    sizes = make_pictures(photos)
    process_video(photos, tmp_path / "listing", background="#ffffff", model="object")
    for stem, (height, width) in sizes.items():
        listing = grey(tmp_path / "listing" / f"{stem}.png")
        assert listing.shape == (height, width, 3)
        if stem in PRODUCTS:  # the studio's corners are background, so white
            assert listing[0, 0].min() > 240 and listing[-1, -1].min() > 240


@pytest.mark.slow
def test_process_video_on_a_folder_equals_each_picture_alone(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_pictures(photos)
    process_video(photos, tmp_path / "out", background="transparent", alpha_out=tmp_path / "m")
    alone = run_alone(tmp_path, photos, "auto")
    for stem, matte in alone.items():
        assert np.array_equal(grey(tmp_path / "m" / f"{stem}.png"), matte), stem


@pytest.mark.slow
def test_treating_photos_as_a_clip_carries_the_matte_over(tmp_path: Path) -> None:
    """The override is real: as a clip, a picture's matte carries into the next one's."""
    photos = tmp_path / "photos"
    make_pictures(photos)
    status = main(
        [
            "run",
            str(photos),
            "-o",
            str(tmp_path / "out"),
            "--folder-as",
            "clip",
            "-b",
            "transparent",
            "--alpha-out",
            str(tmp_path / "m"),
            "-q",
        ]
    )
    assert status == 0
    alone = run_alone(tmp_path, photos, "auto")
    first, second = "astronaut", "astronaut2"
    assert np.array_equal(grey(tmp_path / "m" / f"{first}.png"), alone[first])
    assert not np.array_equal(grey(tmp_path / "m" / f"{second}.png"), alone[second])


def check_batch_outputs(
    out: Path, sizes: dict[str, tuple[int, int]], alone: dict[str, np.ndarray]
) -> None:
    """One cut-out per picture (name and size kept, its matte as if run alone), the clip's
    output beside them, nothing else."""
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert written == sorted([f"{stem}.png" for stem in sizes] + ["turntable.mov"])
    for stem, (height, width) in sizes.items():
        alpha = alpha_of(out / f"{stem}.png")
        assert alpha.shape == (height, width)
        assert np.array_equal(alpha, alone[stem]), stem


@pytest.mark.slow
def test_batch_mattes_pictures_alone_beside_clips(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    sizes = make_pictures(shop)
    write_clip(shop / "turntable.mp4", frames=4, audio=None, width=64, height=48)
    (shop / "notes.txt").write_text("prices\n")
    status = main(
        ["batch", str(shop), "-o", str(tmp_path / "out"), "--model", "object", "-b",
         "transparent", "--jobs", "1", "-q"]
    )  # fmt: skip
    assert status == 0
    check_batch_outputs(tmp_path / "out", sizes, run_alone(tmp_path, shop, "object"))


@pytest.mark.slow
def test_process_batch_mattes_pictures_alone(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    sizes = make_pictures(shop)
    write_clip(shop / "turntable.mp4", frames=4, audio=None, width=64, height=48)
    report = process_batch(shop, tmp_path / "out", background="transparent", jobs=1)
    assert report.exit_code == 0
    check_batch_outputs(tmp_path / "out", sizes, run_alone(tmp_path, shop, "auto"))


def test_batch_refuses_a_transparent_jpeg_for_a_picture(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    make_pictures(shop)
    manifest = tmp_path / "list.csv"
    manifest.write_text("input,output\nshop/vase.jpg,vase.jpg\n")
    with pytest.raises(Exception, match="JPEG"):
        process_batch([], tmp_path / "out", background="transparent", manifest=manifest)


def frames_folder(folder: Path, count: int = 5) -> Path:
    """A slow pan across a photograph, numbered as a video's frames are when exported."""
    folder.mkdir(parents=True)
    still = astronaut()
    for index in range(count):
        write_image(folder / f"frame_{index + 1:04d}.png", still[100:280, 3 * index :][:, :320])
    return folder


def test_numbered_frames_of_one_size_are_a_clip(tmp_path: Path) -> None:
    frames = frames_folder(tmp_path / "frames")
    assert looks_like_clip(sorted(frames.iterdir()))[0]
    assert not ImageFolderSource(frames).pictures
    assert ImageFolderSource(frames, folder_as="pictures").pictures


def test_a_camera_folder_of_product_shots_is_pictures(tmp_path: Path) -> None:
    """IMG_0001 ... from one camera: numbered and of one size, yet separate shots."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    shots = [
        studio_shot(600, 400, (190, 30, 40), round_=False),
        studio_shot(600, 400, (40, 90, 170), round_=True),
        cv2.resize(astronaut(), (600, 400)),
    ]
    for index, rgb in enumerate(shots):
        write_image(shoot / f"IMG_{index + 1:04d}.jpg", rgb)
    clip, why = looks_like_clip(sorted(shoot.iterdir()))
    assert not clip and "shots" in why
    gaps = tmp_path / "gaps"  # every tenth frame of something: not one run of numbers
    frames_folder(gaps)
    (gaps / "frame_0003.png").unlink()
    assert not looks_like_clip(sorted(gaps.iterdir()))[0]


def test_photos_are_pictures_whatever_their_names(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_pictures(photos)
    assert not looks_like_clip(sorted(photos.iterdir()))[0]
    # Numbered like a camera's files, but of three sizes: still pictures.
    numbered = tmp_path / "numbered"
    numbered.mkdir()
    for index, name in enumerate(PICTURES):
        write_image(numbered / f"IMG_{index:04d}.png", read_image(photos / name))
    clip, why = looks_like_clip(sorted(numbered.iterdir()))
    assert not clip and "sizes" in why
    assert ImageFolderSource(numbered).pictures
    assert not ImageFolderSource(numbered, folder_as="clip").pictures


def test_the_choice_is_said_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    photos = tmp_path / "photos"
    make_pictures(photos)
    with caplog.at_level(logging.INFO, logger="livematte"):
        ImageFolderSource(photos)
    lines = [r.getMessage() for r in caplog.records if "--folder-as" in r.getMessage()]
    assert len(lines) == 1 and "each matted on its own" in lines[0]


def test_folder_as_on_a_video_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    clip = write_clip(tmp_path / "a.mp4", frames=2, audio=None, width=64, height=48)
    status = main(["run", str(clip), "-o", str(tmp_path / "b.mp4"), "--folder-as", "pictures"])
    assert status != 0
    assert "--folder-as" in capsys.readouterr().err


@pytest.mark.parametrize("output", ["null", "cutouts"])
def test_alpha_out_keeps_each_pictures_size(tmp_path: Path, output: str) -> None:
    """``-o null --alpha-out DIR`` writes the mattes alone: each at its picture's size, as
    with ``-o FOLDER``."""
    photos = tmp_path / "photos"
    sizes = make_pictures(photos)
    mattes = tmp_path / "mattes"
    target = output if output == "null" else str(tmp_path / output)
    assert main(["run", str(photos), "-o", target, "--alpha-out", str(mattes), "-q"]) == 0
    for stem, size in sizes.items():
        assert grey(mattes / f"{stem}.png").shape[:2] == size, stem


@pytest.mark.parametrize(("width", "height"), [(4001, 3), (3, 4001), (1000, 10)])
def test_a_picture_too_thin_to_matte_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], width: int, height: int
) -> None:
    strip = tmp_path / "strip.png"
    write_image(strip, np.full((height, width, 3), 128, np.uint8))
    assert main(["run", str(strip), "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and "cv2" not in err
    assert f"{width}x{height}" in err and "crop it" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(("width", "height"), [(4001, 63), (63, 4001), (1, 1), (64, 1)])
def test_a_long_but_not_too_thin_picture_is_matted(tmp_path: Path, width: int, height: int) -> None:
    strip = tmp_path / "strip.png"
    write_image(strip, np.full((height, width, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    process_video(strip, out, background="#00ff00", alpha_out=tmp_path / "a.png")
    assert cv2.imread(str(out)).shape[:2] == (height, width)


def test_a_folder_holding_a_thin_strip_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    make_pictures(photos)
    write_image(photos / "zz_strip.png", np.full((3, 4001, 3), 128, np.uint8))
    out = tmp_path / "cutouts"
    assert main(["run", str(photos), "-o", str(out)]) == 2
    assert "zz_strip.png is 4001x3" in capsys.readouterr().err
    assert not out.exists()
