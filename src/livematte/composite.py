"""Backgrounds and the blend that puts the person in front of them.

All full-resolution work is uint8 through OpenCV. Everything that only needs to be smooth
(the blurred background, the colour estimates for decontamination, the light wrap) is
computed on a "work" copy of the frame shrunk by a whole factor (long side at most
``EDGE_WORK_SIZE``) and upsampled once.

- The blurred background is "halo-free": the person is masked out before blurring
  (normalised convolution), so their colours never bleed into the blur around them.
- Colour decontamination: an edge pixel of the input is ``I = a F + (1 - a) B_old``, so the
  naive blend ``a I + (1 - a) B_new`` keeps ``a (1 - a) B_old``, the old background's colour,
  as a fringe. The missing part, ``a (1 - a) (F - B_old)``, is added back on the background
  side: ``B_new + a (F - B_old)``, with ``F`` and ``B_old`` the local means of the person's
  and the old background's colours (normalised convolutions at work size). The ``a`` used
  there is eroded, so nothing is added where the full-resolution alpha is 0.
- Light wrap: a little of the new background shows through the person's outer edge, as
  light from it would: the alpha is lowered by ``light_wrap`` times a band just inside it.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .config import BackgroundConfig
from .errors import UserError
from .frame import cover_resize, shrink_to
from .planar import ColourSpace, I420Picture, Picture, as_picture, rgb_to_planes
from .refine import band_box, band_regions, scale_box, shrink_factor, upsample_region
from .sources import IMAGE_EXTENSIONS, read_image

log = logging.getLogger("livematte")

_BLUR_RE = re.compile(r"^blur(?::(\d+(?:\.\d+)?))?$")
_COLOUR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
# What decontamination corrects: image, alpha, 255 - alpha, channel of the work image.
_Layer = tuple[np.ndarray, np.ndarray, np.ndarray, int | None]
EDGE_WORK_SIZE = 320
"""Long side of the work copy the blur, decontamination and light wrap are computed on."""
# The blur itself runs smaller still: a Gaussian this wide in work pixels loses nothing.
_BLUR_MIN_SIGMA = 2.0
# Reach of the old background's local mean (decontamination) and of the light wrap, in
# work pixels (4 full-size pixels each at 720p).
_EDGE_SIGMA = 3.0
_WRAP_SIGMA = 3.0
# Straight-alpha unmixing divides by alpha; below this its noise would be amplified.
_UNMIX_MIN_ALPHA = 0.1
# Alpha below which a work pixel counts as pure background (the unmixing's estimate of it).
_PURE_BACKGROUND = 0.02


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


class WorkView:
    """The frame and its alpha shrunk by a whole factor, and the smooth images made from them.

    One per compositor, updated once per frame and shared by the background, the
    decontamination and the light wrap; its buffers are reused from frame to frame.
    """

    def __init__(self, work_size: int = EDGE_WORK_SIZE) -> None:
        self.work_size = work_size
        self.factor = 1
        self.rgb8 = np.zeros((1, 1, 3), np.uint8)  # RGB at work size
        self.alpha8 = np.zeros((1, 1), np.uint8)  # alpha at work size
        self._full_size = (1, 1)
        self._buffers: dict[str, np.ndarray] = {}
        self._floats: dict[str, np.ndarray] = {}  # float copies made this frame, on demand

    @property
    def rgb(self) -> np.ndarray:
        """float32 RGB at work size (made on first use in a frame)."""
        rgb = self._floats.get("rgb")
        if rgb is None:
            rgb = self._floats["rgb"] = self._buffer("rgb", self.rgb8.shape)
            rgb[...] = self.rgb8
        return rgb

    @property
    def alpha(self) -> np.ndarray:
        """float32 alpha in [0, 1] at work size (made on first use in a frame)."""
        alpha = self._floats.get("alpha")
        if alpha is None:
            alpha = self._floats["alpha"] = self._buffer("alpha", self.alpha8.shape)
            cv2.multiply(self.alpha8, 1.0 / 255.0, dst=alpha, dtype=cv2.CV_32F)
        return alpha

    def edge_box(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The box (at work size) around the fractional alpha, padded by one work pixel."""
        alpha = self.alpha8
        return band_box((alpha > 0) & (alpha < 255), pad=1)

    def update(
        self,
        image: np.ndarray | Picture,
        alpha: np.ndarray,
        small: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Shrink this frame and its alpha; ``small`` is both already shrunk by another stage
        (the refiner, as uint8), used when it has the work size. For a planar picture the
        work image holds Y'CbCr, which every use of it here treats alike."""
        picture = as_picture(image)
        width, height = picture.width, picture.height
        self.factor = shrink_factor(width, height, self.work_size)
        size = (width // self.factor, height // self.factor)
        self._full_size = (width, height)
        if small is not None and small[0].shape[:2] == (size[1], size[0]):
            small, small_alpha = small
        else:
            small = picture.work(self.factor)
            small_alpha = shrink_to(
                alpha, *size, dst=self._buffer("a8", (size[1], size[0]), np.uint8)
            )
        self.rgb8, self.alpha8 = small, small_alpha
        self._floats.clear()

    def _buffer(self, key: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = self._buffers[key] = np.empty(shape, dtype)
        return buffer

    def masked_blur(
        self,
        sigma: float,
        key: str,
        power: int = 2,
        fallback: bool = True,
        box: tuple[tuple[int, int], tuple[int, int]] | None = None,
        native: bool = False,
    ) -> np.ndarray:
        """Local mean colour of the background, in a reused buffer.

        A normalised convolution: colours weighted by (1 - a)^power (power 0: 1 where
        a is below ``_PURE_BACKGROUND``, else 0), blurred, divided
        by the blurred weight, so the person's colours never leak in. With ``fallback``,
        where no background is near at all a plain wider blur stands in. Large blurs run
        on a further shrunk copy, which a Gaussian this wide cannot tell apart. With
        ``box`` (small blurs only), only that part is computed and returned: the
        Gaussian is cut at 3 sigma, so a margin that wide around it gives the same values.
        With ``native``, a large blur is returned at the further shrunk size it was made
        at, for a caller that upsamples it anyway (one resize instead of two).
        """
        height, width = self.alpha8.shape
        step = max(1, int(sigma / _BLUR_MIN_SIGMA))
        reach = math.ceil(3 * max(0.5, sigma / step))
        kernel = (2 * reach + 1, 2 * reach + 1)
        if step > 1:  # shrunk in uint8 (cheaper), made float at the small size
            tiny = (max(1, width // step), max(1, height // step))
            # Cropped to a whole multiple of the step: OpenCV's area average is fast only
            # for whole ratios (0.23 ms to 0.03 ms at 720p); a blur misses the lost column.
            rows, cols = slice(0, tiny[1] * step), slice(0, tiny[0] * step)
            rgb = cv2.resize(self.rgb8[rows, cols], tiny, interpolation=cv2.INTER_AREA)
            rgb = rgb.astype(np.float32)
            alpha = cv2.resize(self.alpha8[rows, cols], tiny, interpolation=cv2.INTER_AREA)
            alpha = cv2.multiply(alpha, 1.0 / 255.0, dtype=cv2.CV_32F)
        else:
            rgb, alpha = self.rgb, self.alpha
        inner = None
        if box is not None and step == 1:
            (y0, y1), (x0, x1) = box
            top, left = max(0, y0 - reach), max(0, x0 - reach)
            rgb = rgb[top : min(height, y1 + reach), left : min(width, x1 + reach)]
            alpha = alpha[top : min(height, y1 + reach), left : min(width, x1 + reach)]
            inner = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        sigma = max(0.5, sigma / step)
        if power == 0:  # only (nearly) pure background: no mixed edge pixel at all
            weight = cv2.threshold(alpha, _PURE_BACKGROUND, 1.0, cv2.THRESH_BINARY_INV)[1]
        else:
            weight = cv2.subtract(1.0, alpha)
            cv2.multiply(weight, weight, dst=weight)
        if power == 4:
            cv2.multiply(weight, weight, dst=weight)
        numerator = cv2.multiply(rgb, cv2.merge((weight, weight, weight)))
        cv2.GaussianBlur(numerator, kernel, sigma, dst=numerator)
        denominator = cv2.GaussianBlur(weight, kernel, sigma)
        # (Single-channel here: OpenCV reads a bare number as (n, 0, 0, 0) on 3 channels.)
        support = cv2.multiply(denominator, 20.0)
        cv2.min(support, 1.0, dst=support)
        cv2.max(denominator, 1e-4, dst=denominator)
        cv2.divide(numerator, cv2.merge((denominator, denominator, denominator)), dst=numerator)
        if fallback:
            # support: 1 where enough background is near, fading to 0 where none is; there
            # (semi-transparent pixels deep inside the person, rare) a very coarse plain blur
            # of the frame stands in.
            coarse = (max(1, rgb.shape[1] // 4), max(1, rgb.shape[0] // 4))
            plain = cv2.GaussianBlur(
                cv2.resize(rgb, coarse, interpolation=cv2.INTER_AREA), (0, 0), sigma / 2
            )
            plain = cv2.resize(plain, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
            cv2.subtract(numerator, plain, dst=numerator)
            cv2.multiply(numerator, cv2.merge((support, support, support)), dst=numerator)
            cv2.add(numerator, plain, dst=numerator)
        if inner is not None:
            return numerator[inner]
        if step == 1 or native:
            return numerator
        out = self._buffer(key, self.rgb8.shape)
        return cv2.resize(numerator, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)

    def upsample(self, image: np.ndarray, key: str) -> np.ndarray:
        """A float RGB work image as full-size uint8 (rounded, saturated), in a reused buffer."""
        small = self._buffer(key + "_u8", image.shape, np.uint8)
        np.clip(image, 0.0, 255.0, out=image)
        cv2.convertScaleAbs(image, small)
        width, height = self._full_size
        full = self._buffer(key, (height, width, 3), np.uint8)
        return cv2.resize(small, (width, height), dst=full, interpolation=cv2.INTER_LINEAR)

    def upsample_planes(self, image: np.ndarray, key: str) -> Planes:
        """A float Y'CbCr work image as uint8 planes: luma at full size, chroma at half."""
        small = self._buffer(key + "_u8", image.shape, np.uint8)
        np.clip(image, 0.0, 255.0, out=image)
        cv2.convertScaleAbs(image, small)
        width, height = self._full_size
        half = (width // 2, height // 2)
        planes = []
        for index, channel in enumerate(cv2.split(small)):
            size = (width, height) if index == 0 else half
            full = self._buffer(f"{key}_{index}", (size[1], size[0]), np.uint8)
            planes.append(cv2.resize(channel, size, dst=full, interpolation=cv2.INTER_LINEAR))
        return planes[0], planes[1], planes[2]

    def edge_band(self, sigma: float, strength: float) -> np.ndarray:
        """``strength`` x 255 x a x (1 - blur(a)): a band just inside the person's edge, uint8
        at full size (for the light wrap)."""
        band = cv2.GaussianBlur(self.alpha, (0, 0), sigma)
        np.subtract(1.0, band, out=band)
        np.multiply(band, self.alpha, out=band)
        np.multiply(band, 255.0 * strength, out=band)
        small = self._buffer("band_u8", band.shape, np.uint8)
        cv2.convertScaleAbs(band, small)
        width, height = self._full_size
        full = self._buffer("band", (height, width), np.uint8)
        return cv2.resize(small, (width, height), dst=full, interpolation=cv2.INTER_LINEAR)


class Compositor:
    """Person over background, in uint8, into buffers reused from frame to frame."""

    def __init__(self, background: Background, config: BackgroundConfig | None = None) -> None:
        self.background = background
        self.config = config or BackgroundConfig()
        self.work = WorkView()
        self._alpha3: np.ndarray | None = None
        self._inverse3: np.ndarray | None = None
        self._wrapped: np.ndarray | None = None
        self._unmixed: np.ndarray | None = None
        self._planar_buffers: dict[str, np.ndarray] = {}

    @property
    def transparent(self) -> bool:
        return self.background.transparent

    def composite(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray,
        out: np.ndarray,
        foreground: np.ndarray | None = None,
        small: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Write the blended frame into ``out`` (RGB, or RGBA when transparent).

        ``foreground`` is the model's own estimate of the person's colours (RVM's ``fgr``),
        already free of the old background; without it the edge is decontaminated here.
        ``small`` is the frame and its alpha already shrunk to the work size (uint8), when a
        stage before made them.
        """
        cfg = self.config
        fg = rgb if foreground is None else foreground
        if self.background.transparent:
            # Editors composite this elsewhere: its edge colours must be the person's own.
            if cfg.decontaminate and foreground is None:
                self.work.update(rgb, alpha, small)
                fg = self._unmix(rgb, alpha)
            cv2.merge((fg[:, :, 0], fg[:, :, 1], fg[:, :, 2], alpha), dst=out)
            return out
        self.work.update(rgb, alpha, small)
        bg = self.background.render_layer(rgb, alpha, self.work)
        # The blur is the old background itself: its colours already sit on the edge, so
        # neither decontamination nor light wrap has anything to do there.
        replaced = not self.background.from_frame
        if cfg.light_wrap > 0 and replaced:
            alpha = self._light_wrap(alpha)
        if self._alpha3 is None or self._alpha3.shape != rgb.shape:
            self._alpha3 = np.empty_like(rgb)
            self._inverse3 = np.empty_like(rgb)
        a3, inv3 = self._alpha3, self._inverse3
        cv2.merge((alpha, alpha, alpha), dst=a3)
        cv2.bitwise_not(a3, dst=inv3)
        _blend(fg, bg, a3, inv3, out, scratch=a3)  # a3 is not needed after this
        if cfg.decontaminate and foreground is None and replaced:
            self._decontaminate([(out, alpha, inv3, None)])
        return out

    def supports_planar(self) -> bool:
        """Whether :meth:`composite_planar` can stand in for :meth:`composite`: every
        background but transparent (RGBA output)."""
        return not self.background.transparent

    def composite_planar(
        self,
        picture: I420Picture,
        alpha: np.ndarray,
        out: I420Picture,
        small: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Blend a decoded 4:2:0 frame over the background plane by plane into ``out``
        (returns its packed array, ready for the encoder). Blending is linear, so doing it
        on Y'CbCr gives the RGB blend's result without converting the frame either way;
        the chroma planes use the alpha averaged to their size."""
        self.work.update(picture, alpha, small)
        bg_y, bg_u, bg_v = self.background.render_planes(picture, self.work)
        if self.config.light_wrap > 0 and not self.background.from_frame:
            alpha = self._light_wrap(alpha)
        half = (picture.width // 2, picture.height // 2)
        alpha_half = cv2.resize(
            alpha, half, dst=self._plane_buffer("alpha_half", half), interpolation=cv2.INTER_AREA
        )
        full = (picture.width, picture.height)
        inverse = cv2.bitwise_not(alpha, dst=self._plane_buffer("inverse", full))
        inverse_half = cv2.bitwise_not(alpha_half, dst=self._plane_buffer("inverse_half", half))
        layers: list[_Layer] = [
            (out.y, alpha, inverse, 0),
            (out.u, alpha_half, inverse_half, 1),
            (out.v, alpha_half, inverse_half, 2),
        ]
        for (target, weight, weight_inverse, _), source, background in zip(
            layers, (picture.y, picture.u, picture.v), (bg_y, bg_u, bg_v), strict=True
        ):
            size = (weight.shape[1], weight.shape[0])
            scratch = self._plane_buffer(f"scratch{size}", size)
            _blend(source, background, weight, weight_inverse, target, scratch)
        if self.config.decontaminate and not self.background.from_frame:
            self._decontaminate(layers)
        return out.packed

    def _plane_buffer(self, key: str, size: tuple[int, int]) -> np.ndarray:
        buffer = self._planar_buffers.get(key)
        if buffer is None or buffer.shape != (size[1], size[0]):
            buffer = self._planar_buffers[key] = np.empty((size[1], size[0]), np.uint8)
        return buffer

    def _decontaminate(self, layers: list[_Layer]) -> None:
        """Add back (1 - a) a (F - B_old), what the plain blend left of the old background.

        Since I = a F + (1 - a) B_old, a (F - B_old) is simply I - B_old: only the old
        background needs estimating, as the local mean of nearly pure background pixels (at
        work size). The signed offset o = I - B_old is kept halved around 128 in one uint8
        image, so that one upsampling and one weighting by 1 - a serve both signs; then
        (1 - a) o = 2 (1 - a) (o / 2 + 128) - 256 (1 - a) is formed in int16 and added with
        saturation. Only inside the box around the edge band, and only where the alpha is
        above 0, so nothing reaches the new background.

        ``layers`` are (blended image, its alpha, 255 - alpha, channel of the work image or
        None for all three): one RGB layer, or the Y, Cb and Cr planes at their own sizes
        (the correction is linear, so it holds in Y'CbCr as in RGB).
        """
        work = self.work
        box = work.edge_box()
        if box is None:
            return
        (y0, y1), (x0, x1) = box
        old = work.masked_blur(_EDGE_SIGMA, key="old", power=4, fallback=False, box=box)
        offset = cv2.subtract(work.rgb[y0:y1, x0:x1], old)
        biased = cv2.convertScaleAbs(offset, alpha=0.5, beta=128.0)  # o / 2 + 128, >= 0
        channels = cv2.split(biased) if any(c is not None for *_, c in layers) else []
        alpha8 = work.alpha8[y0:y1, x0:x1]
        regions = band_regions((alpha8 > 0) & (alpha8 < 255), pad=1)
        for out, alpha, inverse, channel in layers:
            source = biased if channel is None else channels[channel]
            whole = scale_box(box, work.alpha8.shape, out.shape)
            out, inverse, alpha = out[whole], inverse[whole], alpha[whole]  # views of the box
            for region in regions:
                full = scale_box(region, source.shape, out.shape)
                half = upsample_region(source, region, out.shape)
                self._correct(half, out[full], inverse[full], alpha[full])

    @staticmethod
    def _correct(
        half: np.ndarray, target: np.ndarray, inverse: np.ndarray, mask: np.ndarray
    ) -> None:
        """Add (1 - a) o to ``target`` where ``mask`` (the alpha) is above 0; ``half`` is
        o / 2 + 128 at full size (overwritten)."""
        cv2.multiply(half, inverse, dst=half, scale=1.0 / 255.0)  # (1 - a)(o / 2 + 128)
        # (1 - a) o = half - rest, rest = (1 - a) 255 - half (both >= 0): one of the two
        # saturating differences below is 0, so adding one and subtracting the other is
        # exact in uint8.
        rest = cv2.subtract(inverse, half)
        gain = cv2.subtract(half, rest)
        cv2.subtract(rest, half, dst=rest)
        cv2.add(target, gain, dst=target, mask=mask)  # nothing where alpha is 0
        cv2.subtract(target, rest, dst=target, mask=mask)

    def _unmix(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The person's own colour F at the edge, for straight-alpha (RGBA) output.

        From I = a F + (1 - a) B_old: F = B_old + (I - B_old) / a, with B_old the local
        mean of the pure background only (1 / a would amplify any of the person's colour
        in it), over a wider reach so that even a wide soft edge finds some. Composited
        anywhere, a F is then what the RGB blend's decontamination gives. ``a`` is floored
        at ``_UNMIX_MIN_ALPHA`` so the faintest pixels (which weigh almost nothing) do not
        amplify noise. Float work, but only in the box around the edge band (transparent
        output is for files, not live).
        """
        work = self.work
        box = work.edge_box()
        if box is None:
            return rgb
        (y0, y1), (x0, x1) = box
        old = work.masked_blur(2 * _EDGE_SIGMA, key="pure", power=0)[y0:y1, x0:x1]
        rows, cols = scale_box(box, work.alpha8.shape, rgb.shape)
        image, a = rgb[rows, cols], alpha[rows, cols]
        old = cv2.resize(old, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        weight = cv2.max(a, int(_UNMIX_MIN_ALPHA * 255)).astype(np.float32)
        cv2.divide(255.0, weight, dst=weight)
        unmixed = cv2.subtract(image.astype(np.float32), old)
        cv2.multiply(unmixed, cv2.merge((weight, weight, weight)), dst=unmixed)
        cv2.add(unmixed, old, dst=unmixed)
        if self._unmixed is None or self._unmixed.shape != rgb.shape:
            self._unmixed = np.empty_like(rgb)
        fg = self._unmixed
        np.copyto(fg, rgb)
        np.clip(unmixed, 0.0, 255.0, out=unmixed)
        region = fg[rows, cols]
        cv2.convertScaleAbs(unmixed, region)
        region[a == 0] = image[a == 0]  # fully transparent: left as they were
        return fg

    def _light_wrap(self, alpha: np.ndarray) -> np.ndarray:
        band = self.work.edge_band(_WRAP_SIGMA, self.config.light_wrap)
        if self._wrapped is None or self._wrapped.shape != alpha.shape:
            self._wrapped = np.empty_like(alpha)
        return cv2.subtract(alpha, band, dst=self._wrapped)


def _blend(
    source: np.ndarray,
    background: np.ndarray,
    weight: np.ndarray,
    inverse: np.ndarray,
    target: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """target = source * a / 255 + background * (255 - a) / 255, rounded, all in uint8
    (``weight`` is a, ``inverse`` 255 - a, both shaped like the images)."""
    cv2.multiply(source, weight, dst=target, scale=1.0 / 255.0)
    cv2.multiply(background, inverse, dst=scratch, scale=1.0 / 255.0)
    cv2.add(target, scratch, dst=target)
