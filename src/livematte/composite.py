"""Backgrounds and the blend that puts the person in front of them.

All blending is uint8 through OpenCV (a few ms at 720p, against ~10 ms for numpy float).
The blurred background is "halo-free": the person is masked out before blurring
(normalised convolution), so their colours never bleed into the blur around them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .config import BackgroundConfig
from .errors import UserError
from .frame import cover_resize
from .sources import IMAGE_EXTENSIONS, read_image

log = logging.getLogger("livematte")

_BLUR_RE = re.compile(r"^blur(?::(\d+(?:\.\d+)?))?$")
_COLOUR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
# Blur runs on a frame shrunk so its long side is this many pixels; big blurs look the same.
_BLUR_WORK_SIZE = 320


class Background:
    """Makes the picture that goes behind the person for one frame."""

    spec: str = ""
    transparent = False

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """A background the size of ``rgb`` (RGB uint8); may depend on the frame itself."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files held open (video backgrounds)."""


class ColourBackground(Background):
    def __init__(self, colour: tuple[int, int, int], spec: str = "") -> None:
        self.colour = colour
        self.spec = spec or "#{:02x}{:02x}{:02x}".format(*colour)
        self._canvas: np.ndarray | None = None

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if self._canvas is None or self._canvas.shape != rgb.shape:
            self._canvas = np.empty_like(rgb)
            self._canvas[:] = self.colour
        return self._canvas


class ImageBackground(Background):
    """A still picture scaled to cover the frame, centred (cached per frame size)."""

    def __init__(self, path: Path) -> None:
        self.spec = str(path)
        self._image = read_image(path)
        self._fitted: np.ndarray | None = None

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        if self._fitted is None or self._fitted.shape[:2] != (height, width):
            self._fitted = cover_resize(self._image, width, height)
        return self._fitted


class VideoBackground(Background):
    """A video played in a loop behind the person, one of its frames per output frame."""

    def __init__(self, path: Path) -> None:
        from .sources import VideoFileSource

        self.spec = str(path)
        self._path = path
        VideoFileSource(path).close()  # fail early, with the source's clear message
        self._frames: Iterator[np.ndarray] = self._loop()
        self._fitted: np.ndarray | None = None

    def _loop(self) -> Iterator[np.ndarray]:
        from .sources import VideoFileSource

        while True:
            source = VideoFileSource(self._path)
            produced = False
            try:
                for frame in source:
                    produced = True
                    yield frame.rgb
            finally:
                source.close()
            if not produced:
                raise UserError(f"Background video {self._path} holds no decodable frame.")

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        frame = next(self._frames)
        if frame.shape[:2] == (height, width):
            return frame
        self._fitted = cover_resize(frame, width, height)
        return self._fitted

    def close(self) -> None:
        self._frames.close()  # type: ignore[attr-defined]


class BlurBackground(Background):
    """The frame itself, blurred with the person masked out (no halo around them)."""

    def __init__(self, strength: float, spec: str = "") -> None:
        self.strength = float(strength)
        self.spec = spec or f"blur:{strength:g}"
        self._out: np.ndarray | None = None

    def render(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        scale = min(1.0, _BLUR_WORK_SIZE / max(height, width))
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
        weight = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
        weight = 1.0 - weight.astype(np.float32) * (1.0 / 255.0)
        # The person's own edge pixels still carry some of their colour: shrink the weight.
        weight *= weight
        # Sigma given at 720p; scale it to this frame, then to the reduced image.
        sigma = max(0.5, self.strength * (height / 720.0) * scale)
        numerator = cv2.GaussianBlur(small * weight[:, :, None], (0, 0), sigma)
        denominator = cv2.GaussianBlur(weight, (0, 0), sigma)
        # Where the person covers everything nearby, fall back to a plain wide blur.
        plain = cv2.GaussianBlur(small, (0, 0), sigma * 2)
        support = np.clip(denominator * 20.0, 0.0, 1.0)[:, :, None]
        blurred = numerator / np.maximum(denominator, 1e-4)[:, :, None]
        mixed = plain + support * (blurred - plain)
        # Round to uint8 at the reduced size, then upsample into a reused buffer: float
        # passes at full resolution cost more than the blur itself at 720p (within 1 level).
        if self._out is None or self._out.shape != rgb.shape:
            self._out = np.empty_like(rgb)
        small_out = np.clip(mixed, 0, 255).astype(np.uint8)
        return cv2.resize(small_out, (width, height), self._out, interpolation=cv2.INTER_LINEAR)


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
        if strength <= 0:
            raise UserError(f"Blur strength in '{spec}' must be above 0, e.g. blur:25.")
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


class Compositor:
    """Person over background, in uint8, into buffers reused from frame to frame."""

    def __init__(self, background: Background, config: BackgroundConfig | None = None) -> None:
        self.background = background
        self.config = config or BackgroundConfig()
        self._alpha3: np.ndarray | None = None
        self._inverse3: np.ndarray | None = None

    @property
    def transparent(self) -> bool:
        return self.background.transparent

    def composite(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray,
        out: np.ndarray,
        foreground: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write the blended frame into ``out`` (RGB, or RGBA when transparent)."""
        fg = rgb if foreground is None else foreground
        if self.background.transparent:
            cv2.merge((fg[:, :, 0], fg[:, :, 1], fg[:, :, 2], alpha), dst=out)
            return out
        bg = self.background.render(rgb, alpha)
        if self._alpha3 is None or self._alpha3.shape != rgb.shape:
            self._alpha3 = np.empty_like(rgb)
            self._inverse3 = np.empty_like(rgb)
        a3, inv3 = self._alpha3, self._inverse3
        cv2.merge((alpha, alpha, alpha), dst=a3)
        cv2.bitwise_not(a3, dst=inv3)
        # out = fg * a / 255 + bg * (255 - a) / 255, rounded, all in uint8.
        cv2.multiply(fg, a3, dst=out, scale=1.0 / 255.0)
        cv2.multiply(bg, inv3, dst=a3, scale=1.0 / 255.0)
        cv2.add(out, a3, dst=out)
        return out
