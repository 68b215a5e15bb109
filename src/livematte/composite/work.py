"""The work-size view: the frame and its alpha shrunk by a whole factor, once per frame.

Everything that only needs to be smooth (the blurred background, the colour estimates for
decontamination, the light wrap) is computed on this copy (long side at most
``EDGE_WORK_SIZE``) and upsampled once; only the final multiply-adds run at full size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..boxes import band_box, shrink_factor
from ..frame import shrink_to
from ..planar import Picture, as_picture

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
EDGE_WORK_SIZE = 320
"""Long side of the work copy the blur, decontamination and light wrap are computed on."""
# The blur itself runs smaller still: a Gaussian this wide in work pixels loses nothing.
_BLUR_MIN_SIGMA = 2.0
# Alpha below which a work pixel counts as pure background (the unmixing's estimate of it).
_PURE_BACKGROUND = 0.02
# (The type ignores below: OpenCV's stubs take no scalar operand, its bindings do.)


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
            cv2.multiply(self.alpha8, 1.0 / 255.0, dst=alpha, dtype=cv2.CV_32F)  # type: ignore[call-overload]
        return alpha

    def edge_box(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The box (at work size) around the fractional alpha, padded by one work pixel."""
        alpha = self.alpha8
        return band_box((alpha > 0) & (alpha < 255), pad=1)

    def update(
        self,
        image: np.ndarray | Picture,
        alpha: np.ndarray,
        work_copy: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Shrink this frame and its alpha; ``work_copy`` is both already shrunk by another stage
        (the refiner, as uint8), used when it has the work size. For a planar picture the
        work image holds Y'CbCr, which every use of it here treats alike."""
        picture = as_picture(image)
        width, height = picture.width, picture.height
        self.factor = shrink_factor(width, height, self.work_size)
        size = (width // self.factor, height // self.factor)
        self._full_size = (width, height)
        if work_copy is not None and work_copy[0].shape[:2] == (size[1], size[0]):
            work, work_alpha = work_copy
        else:
            work = picture.work(self.factor)
            work_alpha = shrink_to(
                alpha, *size, dst=self._buffer("a8", (size[1], size[0]), np.uint8)
            )
        self.rgb8, self.alpha8 = work, work_alpha
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
            alpha = cv2.multiply(alpha, 1.0 / 255.0, dtype=cv2.CV_32F)  # type: ignore[call-overload]
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
            weight = cv2.subtract(1.0, alpha)  # type: ignore[call-overload]
            cv2.multiply(weight, weight, dst=weight)
        if power == 4:
            cv2.multiply(weight, weight, dst=weight)
        numerator = cv2.multiply(rgb, cv2.merge((weight, weight, weight)))
        cv2.GaussianBlur(numerator, kernel, sigma, dst=numerator)
        denominator = cv2.GaussianBlur(weight, kernel, sigma)
        # (Single-channel here: OpenCV reads a bare number as (n, 0, 0, 0) on 3 channels.)
        support = cv2.multiply(denominator, 20.0)  # type: ignore[call-overload]
        cv2.min(support, 1.0, dst=support)  # type: ignore[call-overload]
        cv2.max(denominator, 1e-4, dst=denominator)  # type: ignore[call-overload]
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
