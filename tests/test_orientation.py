"""Phone clips and photos: stored sideways with a tag that says how to show them, matted
upright, written to show the same way round as the input does in a player or viewer.

The clips carry a display matrix (what a phone writes for a clip shot upright), the photos
an EXIF orientation (6 for a photo taken upright). The upright picture is a pattern of four
coloured quarters, so any turn or mirror shows; the background is that same upright
picture, so where the output is right it is that picture, whatever the matte.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from livematte import process_video
from livematte.config import Config
from livematte.io.images import image_size, read_image
from livematte.io.sources import VideoFileSource

WIDTH, HEIGHT = 160, 96  # as shown: landscape


def upright_picture() -> np.ndarray:
    """Four flat quarters of distinct colours: any turn or mirror moves one."""
    rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    h, w = HEIGHT // 2, WIDTH // 2
    rgb[:h, :w] = (220, 40, 40)
    rgb[:h, w:] = (40, 200, 40)
    rgb[h:, :w] = (40, 40, 220)
    rgb[h:, w:] = (230, 230, 40)
    return rgb


def stored_for(shown: np.ndarray, degrees: int, hflip: bool = False) -> np.ndarray:
    """The pixels a file stores so that turning them ``degrees`` anticlockwise, then
    mirroring (PyAV's set_display_rotation), shows ``shown``."""
    pixels = shown[:, ::-1] if hflip else shown
    return np.ascontiguousarray(np.rot90(pixels, k=-(degrees // 90)))


def rotated_clip(path: Path, degrees: int, hflip: bool = False, frames: int = 4) -> Path:
    stored = stored_for(upright_picture(), degrees, hflip)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = stored.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(degrees, hflip=hflip)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# How a viewer shows each EXIF orientation, and which orientation undoes which.
_SHOWN_BY = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_UNDONE_BY = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def tagged_photo(path: Path, orientation: int) -> Path:
    """A JPEG whose EXIF orientation makes a viewer show upright_picture() (checked with
    Pillow's exif_transpose, a viewer's reading of the tag)."""
    stored = Image.fromarray(upright_picture()).transpose(_SHOWN_BY[_UNDONE_BY[orientation]])
    tag = Image.Exif()
    tag[0x0112] = orientation
    stored.save(path, exif=tag, quality=95)
    with Image.open(path) as img:
        shown = np.asarray(ImageOps.exif_transpose(img)).astype(int)
    assert shown.shape[:2] == (HEIGHT, WIDTH) and np.median(np.abs(shown - upright_picture())) < 8
    return path


def assert_upright(rgb: np.ndarray) -> None:
    assert rgb.shape[:2] == (HEIGHT, WIDTH), f"{rgb.shape[1]}x{rgb.shape[0]}, not upright"
    difference = np.abs(rgb.astype(int) - upright_picture().astype(int))
    inner = difference[4:-4, 4:-4]  # the quarters' edges blur in 4:2:0 and JPEG
    assert np.median(inner) < 12 and np.percentile(inner, 95) < 60


@pytest.mark.parametrize(
    ("degrees", "hflip"),
    [(90, False), (180, False), (270, False), (90, True)],
    ids=["90", "180", "270", "90-mirrored"],
)
def test_a_turned_clip_is_read_upright(tmp_path: Path, degrees: int, hflip: bool) -> None:
    source = VideoFileSource(rotated_clip(tmp_path / "phone.mp4", degrees, hflip))
    try:
        assert (source.width, source.height) == (WIDTH, HEIGHT)
        frames = [frame.rgb for frame in source]
    finally:
        source.close()
    assert len(frames) == 4
    for rgb in frames:
        assert_upright(rgb)


@pytest.mark.parametrize("planar", [True, False], ids=["4:2:0", "RGB"])
@pytest.mark.parametrize("degrees", [90, 270])
def test_a_phone_clip_comes_out_as_the_player_shows_it(
    tmp_path: Path, degrees: int, planar: bool
) -> None:
    """1280x720 as played in, 1280x720 out (here 160x96), the right way up, no tag left
    that would turn it again; on the 4:2:0 path (each plane turned) and the RGB one."""
    clip = rotated_clip(tmp_path / "phone.mp4", degrees)
    background = tmp_path / "upright.png"
    cv2.imwrite(str(background), cv2.cvtColor(upright_picture(), cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mp4"
    config = Config()
    config.output.planar = planar
    report = process_video(clip, out, background=str(background), config=config)
    assert report.frames == 4 and report.planar == planar
    assert (report.width, report.height) == (WIDTH, HEIGHT)
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        assert frame.rotation == 0  # shown as stored: upright
        assert_upright(frame.to_ndarray(format="rgb24"))


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_a_tagged_photo_is_read_as_a_viewer_shows_it(tmp_path: Path, orientation: int) -> None:
    photo = tagged_photo(tmp_path / "photo.jpg", orientation)
    assert image_size(photo) == (WIDTH, HEIGHT)
    assert_upright(read_image(photo))


def test_a_phone_photo_comes_out_upright_without_a_tag(tmp_path: Path) -> None:
    """Orientation 6, how phones store upright photos: the cut-out is 160x96 as shown,
    the right way up, in a PNG that has no orientation to apply again."""
    photo = tagged_photo(tmp_path / "photo.jpg", 6)
    background = tmp_path / "upright.png"
    cv2.imwrite(str(background), cv2.cvtColor(upright_picture(), cv2.COLOR_RGB2BGR))
    out = tmp_path / "cutout.png"
    process_video(photo, out, background=str(background))
    with Image.open(out) as img:
        assert img.getexif().get(0x0112, 1) == 1
        shown = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    assert_upright(shown)


def test_a_folder_of_phone_photos_has_each_shown_size(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    tagged_photo(photos / "a.jpg", 6)
    tagged_photo(photos / "b.jpg", 8)
    out = tmp_path / "cutouts"
    process_video(photos, out, background="#00ff00")
    for name in ("a", "b"):
        image = cv2.imread(str(out / f"{name}.png"))
        assert image.shape[:2] == (HEIGHT, WIDTH)


@pytest.mark.parametrize(("tag", "turns"), [("90", -1), ("180", 2), ("270", 1), ("0", 0)])
def test_the_older_rotate_tag_turns_clockwise(tag: str, turns: int) -> None:
    """FFmpeg before 7 gave a phone clip's turn as a ``rotate`` tag (degrees clockwise)."""
    from livematte.io.orientation import rotate_tag_turn, upright

    stored = upright_picture()
    assert np.array_equal(upright(stored, rotate_tag_turn(tag)), np.rot90(stored, k=turns))
