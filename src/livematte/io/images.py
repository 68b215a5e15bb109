"""Still images in and out: read any picture as RGB uint8 (refusing absurd headers before
allocating), write PNG or JPEG from RGB, RGBA or grey."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError, reason_of
from ..frame import to_rgb8

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
# Refuse absurd image headers before any pixel memory is allocated (about 268 megapixels).
MAX_IMAGE_PIXELS = 1 << 28


def read_image(path: Path) -> np.ndarray:
    """Load any still image as RGB uint8, refusing unreadable or absurdly large files."""
    if not path.is_file():
        raise UserError(f"Image {path} does not exist; check the path.")
    width, height = _image_header_size(path)
    if width * height > MAX_IMAGE_PIXELS:
        raise UserError(
            f"Image {path} claims {width}x{height} pixels, more than livematte will load; "
            "scale it down first."
        )
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise UserError(f"Image {path} cannot be decoded; check that it is a valid image file.")
    return to_rgb8(image)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding its pixels; (0, 0) for a
    file whose header cannot be read (reading it later says why)."""
    try:
        return _image_header_size(path)
    except UserError:
        return 0, 0


def _image_header_size(path: Path) -> tuple[int, int]:
    """Read width and height from the header alone (Pillow opens lazily)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, without Pillow's warning
    try:
        with Image.open(path) as img:
            return img.size
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


def write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    ok, data = cv2.imencode(path.suffix or ".png", _to_bgr(image), params or [])
    if not ok:
        raise UserError(f"Cannot encode {path.name}; use a .png or .jpg name.")
    try:
        data.tofile(str(path))
    except OSError as exc:
        raise UserError(
            f"Writing {path} failed ({reason_of(exc)}); check free disk space and that the "
            "output folder still exists."
        ) from None
