"""What goes behind the person: an image, a video, a colour, the room blurred, or nothing.

Each background renders at the frame's size (or, for the blur, from the frame itself at the
work size). The blurred background is "halo-free": the person is masked out before
blurring (normalised convolution), so their colours never bleed into the blur around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..config import blur_problem
from ..errors import UserError
from ..frame import cover_resize
from ..io.sources import IMAGE_EXTENSIONS, read_image
from ..planar import ColourSpace, I420Picture, rgb_to_planes
from .work import Planes, WorkView

_BLUR_RE = re.compile(r"^blur(?::(\d+(?:\.\d+)?))?$")
_COLOUR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")


class Background:
    """Makes the picture that goes behind the person for one frame."""

    spec: str = ""
    transparent = False
    # Made from the frame itself (the blur): its colours near the person are the old
    # background's own, so the edge needs no decontamination or light wrap against it.
    from_frame = False

    # A new picture every frame (a video): its 4:2:0 planes are not worth keeping.
    moving = False
    # The last still picture's planes, keyed by (its id, its shape, the colour space).
    _planes: tuple[tuple[int, tuple[int, ...], ColourSpace], Planes] | None = None

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """A background the size of ``rgb`` (RGB uint8); may depend on the frame itself."""
        return self.render_size(rgb.shape[1], rgb.shape[0])

    def render_size(self, width: int, height: int) -> np.ndarray:
        """A background of this size (RGB uint8), for those that do not look at the frame."""
        raise NotImplementedError

    def render_layer(self, rgb: np.ndarray, alpha: np.ndarray, work: WorkView) -> np.ndarray:
        """Like :meth:`render`, given the frame already shrunk to the work size (``work``)."""
        return self.render(rgb, alpha)

    def render_planes(self, picture: I420Picture, work: WorkView) -> Planes:
        """The background as (Y, Cb, Cr) planes in ``picture``'s size and colour space
        (converted once for a still one)."""
        rgb = self.render_size(picture.width, picture.height)
        key = (id(rgb), rgb.shape, picture.colour)
        if not self.moving and self._planes is not None and self._planes[0] == key:
            return self._planes[1]
        planes = rgb_to_planes(rgb, picture.colour)
        if not self.moving:
            self._planes = (key, planes)
        return planes

    def close(self) -> None:
        """Release files held open (video backgrounds)."""


class ColourBackground(Background):
    def __init__(self, colour: tuple[int, int, int], spec: str = "") -> None:
        self.colour = colour
        self.spec = spec or "#{:02x}{:02x}{:02x}".format(*colour)
        self._canvas: np.ndarray | None = None

    def render_size(self, width: int, height: int) -> np.ndarray:
        if self._canvas is None or self._canvas.shape[:2] != (height, width):
            self._canvas = np.empty((height, width, 3), np.uint8)
            self._canvas[:] = self.colour
        return self._canvas


class ImageBackground(Background):
    """A still picture scaled to cover the frame, centred (cached per frame size)."""

    def __init__(self, path: Path) -> None:
        self.spec = str(path)
        self._image = read_image(path)
        self._fitted: np.ndarray | None = None

    def render_size(self, width: int, height: int) -> np.ndarray:
        if self._fitted is None or self._fitted.shape[:2] != (height, width):
            self._fitted = cover_resize(self._image, width, height)
        return self._fitted


class VideoBackground(Background):
    """A video played in a loop behind the person, one of its frames per output frame."""

    moving = True

    def __init__(self, path: Path) -> None:
        from ..io.sources import VideoFileSource

        self.spec = str(path)
        self._path = path
        VideoFileSource(path).close()  # fail early, with the source's clear message
        self._frames: Iterator[np.ndarray] = self._loop()
        self._fitted: np.ndarray | None = None

    def _loop(self) -> Iterator[np.ndarray]:
        from ..io.sources import VideoFileSource

        while True:
            source = VideoFileSource(self._path)
            produced = False
            try:
                for frame in source:
                    produced = True
                    yield frame.image
            finally:
                source.close()
            if not produced:
                raise UserError(f"Background video {self._path} holds no decodable frame.")

    def render_size(self, width: int, height: int) -> np.ndarray:
        frame = next(self._frames)
        if frame.shape[:2] == (height, width):
            return frame
        self._fitted = cover_resize(frame, width, height)
        return self._fitted

    def close(self) -> None:
        self._frames.close()  # type: ignore[attr-defined]


class BlurBackground(Background):
    """The frame itself, blurred with the person masked out (no halo around them)."""

    from_frame = True

    def __init__(self, strength: float, spec: str = "") -> None:
        self.strength = float(strength)
        self.spec = spec or f"blur:{strength:g}"
        self._view: WorkView | None = None

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if self._view is None:
            self._view = WorkView()
        self._view.update(rgb, alpha)
        return self.render_layer(rgb, alpha, self._view)

    def render_layer(self, rgb: np.ndarray, alpha: np.ndarray, work: WorkView) -> np.ndarray:
        # Sigma is given at 720p; scale it to this frame, then to the work image.
        return work.upsample(self._blurred(rgb.shape[0], work), "blur_full")

    def render_planes(self, picture: I420Picture, work: WorkView) -> Planes:
        return work.upsample_planes(self._blurred(picture.height, work), "blur_full")

    def _blurred(self, height: int, work: WorkView) -> np.ndarray:
        """The masked blur at work size (float, 3 channels: RGB or Y'CbCr alike)."""
        sigma = self.strength * (height / 720.0) / work.factor
        # At the blur's own (smaller) size: upsampled straight to full size by the caller.
        return work.masked_blur(sigma, key="blur", power=4, native=True)


class TransparentBackground(Background):
    """No background: the output carries the alpha as a fourth channel."""

    spec = "transparent"
    transparent = True

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise AssertionError("transparent backgrounds are not rendered")


def parse_background(spec: str, blur_default: float = 25.0) -> Background:
    """Turn a ``--background`` value into a Background, or say exactly what is wrong."""
    text = spec.strip()
    lowered = text.lower()
    if lowered == "transparent":
        return TransparentBackground()
    match = _BLUR_RE.match(lowered)
    if match:
        strength = float(match.group(1)) if match.group(1) else blur_default
        problem = blur_problem(strength)
        if problem is not None:
            raise UserError(f"Background '{spec}': {problem}; e.g. blur:25.")
        return BlurBackground(strength, spec=text)
    match = _COLOUR_RE.match(text) if text.startswith("#") else None
    if match:
        hex_value = match.group(1)
        colour = tuple(int(hex_value[i : i + 2], 16) for i in (0, 2, 4))
        return ColourBackground(colour, spec=text)  # type: ignore[arg-type]
    path = Path(text)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return ImageBackground(path)
        return VideoBackground(path)
    if text.startswith("#"):
        raise UserError(f"Background colour '{spec}' is not of the form #RRGGBB (e.g. #00ff00).")
    raise UserError(
        f"Background '{spec}' is neither a file that exists nor one of: blur, blur:N, "
        "#RRGGBB, transparent; check the spelling or the path."
    )


def parse_backgrounds(specs: list[str], blur_default: float = 25.0) -> list[Background]:
    """Expand folders into their images, then parse each spec."""
    backgrounds: list[Background] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            if not images:
                raise UserError(f"Background folder {spec} holds no images.")
            backgrounds.extend(ImageBackground(p) for p in images)
        else:
            backgrounds.append(parse_background(spec, blur_default))
    return backgrounds or [BlurBackground(blur_default)]
