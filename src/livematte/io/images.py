"""Still images in and out: read any picture as RGB uint8, upright as a viewer shows it
(its EXIF orientation applied; absurd headers refused before allocating), write PNG or
JPEG from RGB, RGBA or grey."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError, reason_of
from ..frame import to_rgb8
from .orientation import EXIF_ORIENTATION, UPRIGHT, Turn, exif_turn, turned_size, upright

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
# Refuse absurd image headers before any pixel memory is allocated (about 268 megapixels).
MAX_IMAGE_PIXELS = 1 << 28


def read_image(path: Path) -> np.ndarray:
    """Load any still image as RGB uint8, upright, refusing unreadable or absurdly large files."""
    if not path.is_file():
        raise UserError(f"Image {path} does not exist; check the path.")
    width, height, turn = _image_header(path)
    if width * height > MAX_IMAGE_PIXELS:
        raise UserError(
            f"Image {path} claims {width}x{height} pixels, more than livematte will load; "
            "scale it down first."
        )
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise UserError(f"Image {path} cannot be decoded; check that it is a valid image file.")
    return to_rgb8(upright(image, turn))


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) as the picture is shown (its EXIF orientation applied), from the
    file's header without decoding its pixels; (0, 0) for a file whose header cannot be
    read (reading it later says why)."""
    try:
        width, height, turn = _image_header(path)
    except UserError:
        return 0, 0
    return turned_size(width, height, turn)


def _image_header(path: Path) -> tuple[int, int, Turn]:
    """Stored width, height and EXIF turn from the header alone (Pillow opens lazily)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, without Pillow's warning
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                # Refused anyway; and a PNG's EXIF is read by decoding the whole picture,
                # which for a header claiming 60000x60000 allocates gigabytes.
                return width, height, UPRIGHT
            try:
                turn = exif_turn(img.getexif().get(EXIF_ORIENTATION))
            except Exception:  # noqa: BLE001 - a damaged EXIF block: shown as stored
                turn = UPRIGHT
            return width, height, turn
    except Exception:  # noqa: BLE001 - any failure here means "not an image we can read"
        raise UserError(
            f"Image {path} cannot be read; check that it is a valid image file."
        ) from None


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return cv2.cvtColor(image, code)


def write_png(path: Path, image: np.ndarray) -> None:
    # Level 1: PNGs stay lossless and are written several times faster than the default.
    write_image(path, image, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def encode_image(suffix: str, image: np.ndarray, params: list[int] | None = None) -> np.ndarray:
    """The picture encoded as ``suffix`` says (PNG at level 1 when it says nothing)."""
    if suffix.lower() in ("", ".png") and not params:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, data = cv2.imencode(suffix or ".png", _to_bgr(image), params or [])
    if not ok:
        raise UserError(f"Cannot encode a {suffix or 'PNG'} picture; use a .png or .jpg name.")
    return data


def write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    data = encode_image(path.suffix, image, params)
    try:
        data.tofile(str(path))
    except OSError as exc:
        raise UserError(
            f"Writing {path} failed ({reason_of(exc)}); check free disk space and that the "
            "output folder still exists."
        ) from None
