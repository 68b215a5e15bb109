"""Bringing the model's low-resolution alpha to the frame's full resolution.

Bilinear upsampling of a 256x144 mask gives soft, blocky edges. A guided filter with the
frame as guide snaps the edge to the real contour (hair, shoulders), but applied everywhere
it also bends confident regions towards the image's texture and raises the error. So this
is He & Sun's *fast* guided filter, gated by the model's confidence:

- the filter's linear coefficients (alpha ~ A * grey + B) are fitted with box filters on a
  "work" image shrunk by a whole factor to at most ``work_size`` on its long side (float32
  on some 60 000 pixels: a fraction of a millisecond);
- at work size they are blended with the model's answer by a weight that is 1 where the
  model is unsure (alpha 0.5) and falls to 0 where it is confident, so solid regions keep
  the model's value and only the unsure band snaps to the image;
- the two coefficient images are upsampled and applied to the full-resolution grey frame:
  one single-channel multiply-add, the only float work at full size (about 1 ms at 720p). It
  is what gives hair and shoulder edges real full-resolution detail: upsampling an alpha
  refined at work size instead lowers P3M's Grad by 19% where this lowers it by 25%.

A model alpha finer than the work image (the pose model's, made at or near the frame's
size) is not brought down to it: only the fit's correction comes from the work image, and
the model's own alpha is used at its own resolution (on the DAVIS clips the pose path's MAD
fell from 8.6 to 8.0, where a work-size copy of it had made the refiner a loss).

The radius is given in the model's own pixels, since the band the model is unsure about
is a few of its pixels wide whatever the frame size.
"""

from __future__ import annotations

import cv2
import numpy as np

from .boxes import band_box, scale_box, shrink_factor
from .config import RefineConfig
from .frame import Halvings
from .planar import Picture, as_picture

# Below this weight the guided fit moves alpha by under 5% of its difference from the
# model's: the work-size evaluation is enough there.
_BAND_WEIGHT = 0.05


class Refiner:
    """Low-res float alpha + full-res RGB frame → full-res uint8 alpha (a reused buffer)."""

    def __init__(self, config: RefineConfig) -> None:
        self.config = config
        self._work: dict[tuple[str, int], np.ndarray] = {}
        # The last frame and its alpha at the work size (uint8), for the compositor to reuse.
        self.work_copy: tuple[np.ndarray, np.ndarray] | None = None

    def refine(
        self,
        alpha: np.ndarray,
        image: np.ndarray | Picture,
        halvings: Halvings | None = None,
    ) -> np.ndarray:
        """The full-resolution alpha; valid until the next call (the buffer is reused).

        ``image`` is an RGB frame or a :mod:`~livematte.planar` picture (whose luma plane
        is then the guide); ``halvings`` of an RGB frame, when the caller has them, spares
        shrinking it again.
        """
        cfg = self.config
        picture = as_picture(image, halvings)
        height, width = picture.height, picture.width
        full = self._buffer("full", (height, width), np.uint8)
        if not cfg.enabled:
            self.work_copy = None
            return self._upsample(alpha, full)
        factor = shrink_factor(width, height, cfg.work_size)
        small = picture.work(factor)
        shape = small.shape[:2]
        guide = self._buffer("guide", shape)
        np.multiply(picture.work_luma(factor), np.float32(1.0 / 255.0), out=guide)
        coarse = self._buffer("coarse", shape)
        cv2.resize(alpha, (shape[1], shape[0]), dst=coarse, interpolation=cv2.INTER_LINEAR)
        scale = max(shape[1] / alpha.shape[1], shape[0] / alpha.shape[0])
        # Luma codes span less than 0..255 in limited range: eps in the same units.
        eps = cfg.eps * picture.luma_gain**2
        radius = max(1, round(cfg.radius * scale))
        slope, offset = self._coefficients(guide, coarse, radius, eps)
        # Weight of the guided fit: 1 at alpha 0.5, falling to 0 at confident values.
        weight = self._buffer("weight", shape)
        np.multiply(coarse, 2.0, out=weight)
        np.subtract(weight, 1.0, out=weight)
        np.abs(weight, out=weight)
        np.subtract(1.0, weight, out=weight)
        # An alpha of exactly 1 (a saturated sigmoid) can come out of the linear resize a
        # rounding step above 1: a weight of -1e-7, which the root would turn into NaN.
        np.maximum(weight, 0.0, out=weight)
        if cfg.confidence_power == 0.5:
            np.sqrt(weight, out=weight)  # 20x faster than the general power
        elif cfg.confidence_power != 1.0:
            np.power(weight, cfg.confidence_power, out=weight)
        # Gated fit: alpha = w (A I + B) + (1 - w) p = (w A) I + (p + w (B - p)), in 0..255
        # units for a uint8 grey I.
        np.multiply(slope, weight, out=slope)
        np.subtract(offset, coarse, out=offset)
        np.multiply(offset, weight, out=offset)
        # A model alpha finer than the work image (the pose model's, made at the frame's
        # size or near it) keeps its own p at its own resolution: only the correction
        # w (B - p) and w A come from the work image. Otherwise p is the work-size copy.
        fine = alpha.shape[0] > shape[0] or alpha.shape[1] > shape[1]
        if not fine:
            np.add(offset, coarse, out=offset)
        np.multiply(offset, 255.0, out=offset)
        if cfg.feather > 0:
            sigma = cfg.feather * shape[1] / width
            cv2.GaussianBlur(slope, (0, 0), sigma, dst=slope)
            cv2.GaussianBlur(offset, (0, 0), sigma, dst=offset)
        # Everywhere: the gated fit evaluated on the work-size grey, upsampled as uint8.
        base = self._buffer("base", shape)
        np.multiply(slope, guide, out=base)
        np.multiply(base, 255.0, out=base)
        np.add(base, offset, out=base)
        model = None
        if fine:
            np.multiply(coarse, 255.0, out=coarse)
            np.add(base, coarse, out=base)
            model = self._model_alpha(alpha, width, height)
        small_alpha = self._to_u8(base, 255.0)
        if model is None:
            cv2.resize(small_alpha, (width, height), dst=full, interpolation=cv2.INTER_LINEAR)
        else:
            cv2.convertScaleAbs(model, full, alpha=255.0)  # model is in 0..1, so no sign
        self.work_copy = (small, small_alpha)
        # Where the fit has any weight (a few % of the pixels, in one box), redo it on the
        # full-resolution grey: that is what brings out hair and shoulder detail. (Split
        # boxes, band_regions, measured no faster here: each costs ~10 calls.)
        box = band_box(weight > _BAND_WEIGHT, pad=2)
        if box is not None:
            self._refine_region(box, shape, picture, slope, offset, full, model)
        return full

    def _model_alpha(self, alpha: np.ndarray, width: int, height: int) -> np.ndarray:
        """The model's alpha at full size, clipped to 0..1 (a reused buffer)."""
        model = self._buffer("model", (height, width))
        if alpha.shape == model.shape:
            np.copyto(model, alpha)
        else:
            cv2.resize(alpha, (width, height), dst=model, interpolation=cv2.INTER_LINEAR)
        np.clip(model, 0.0, 1.0, out=model)
        return model

    def _refine_region(
        self,
        box: tuple[tuple[int, int], tuple[int, int]],
        shape: tuple[int, ...],
        picture: Picture,
        slope: np.ndarray,
        offset: np.ndarray,
        full: np.ndarray,
        model: np.ndarray | None = None,
    ) -> None:
        """The gated fit evaluated on the full-resolution grey inside one work-size box;
        ``model`` (full size, 0..1) is the model's own alpha where ``offset`` leaves it out."""
        (y0, y1), (x0, x1) = box
        rows, cols = scale_box(box, shape, full.shape)
        size = (cols.stop - cols.start, rows.stop - rows.start)
        slope_full = self._region("slope_full", size, np.float32)
        value = self._region("value_full", size, np.float32)
        linear = cv2.INTER_LINEAR
        cv2.resize(slope[y0:y1, x0:x1], size, dst=slope_full, interpolation=linear)
        cv2.resize(offset[y0:y1, x0:x1], size, dst=value, interpolation=linear)
        grey = picture.luma(rows, cols, self._region("grey_full", size, np.uint8))
        cv2.multiply(grey, slope_full, dst=slope_full, dtype=cv2.CV_32F)
        cv2.add(value, slope_full, dst=value)
        if model is not None:
            cv2.scaleAdd(model[rows, cols], 255.0, value, dst=value)
        # Negative overshoot to 0, then round and saturate to uint8 (no sign left to flip).
        cv2.threshold(value, 0.0, 0.0, cv2.THRESH_TOZERO, dst=value)
        cv2.convertScaleAbs(value, full[rows, cols])  # writes through the view

    def _coefficients(
        self, guide: np.ndarray, src: np.ndarray, radius: int, eps: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """He et al.'s grey-guide guided filter: mean A and B of ``src ~ A guide + B``."""
        shape = guide.shape
        size = (2 * radius + 1, 2 * radius + 1)
        mean_i, mean_p, corr, var, tmp = (
            self._buffer(n, shape) for n in ("mi", "mp", "ip", "ii", "tmp")
        )
        border = cv2.BORDER_REFLECT
        cv2.boxFilter(guide, -1, size, dst=mean_i, borderType=border)
        cv2.boxFilter(src, -1, size, dst=mean_p, borderType=border)
        np.multiply(guide, src, out=corr)
        cv2.boxFilter(corr, -1, size, dst=corr, borderType=border)
        np.multiply(guide, guide, out=var)
        cv2.boxFilter(var, -1, size, dst=var, borderType=border)
        # A = cov(I, p) / (var(I) + eps); B = mean(p) - A mean(I)
        slope, offset = corr, mean_p
        np.multiply(mean_i, mean_p, out=tmp)
        np.subtract(corr, tmp, out=slope)
        np.multiply(mean_i, mean_i, out=tmp)
        np.subtract(var, tmp, out=var)
        np.add(var, eps, out=var)
        np.divide(slope, var, out=slope)
        np.multiply(slope, mean_i, out=tmp)
        np.subtract(mean_p, tmp, out=offset)
        cv2.boxFilter(slope, -1, size, dst=slope, borderType=border)
        cv2.boxFilter(offset, -1, size, dst=offset, borderType=border)
        return slope, offset

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        key = (name, np.dtype(dtype).num)
        buffer = self._work.get(key)
        if buffer is None or buffer.shape != shape:
            buffer = self._work[key] = np.empty(shape, dtype)
        return buffer

    def _region(self, name: str, size: tuple[int, int], dtype: type) -> np.ndarray:
        """A contiguous (h, w) array over a buffer kept at the largest size seen: the box
        changes size every frame, and fresh large arrays cost page faults."""
        count = size[0] * size[1]
        buffer = self._work.get((name, np.dtype(dtype).num))
        if buffer is None or buffer.size < count:
            buffer = self._work[(name, np.dtype(dtype).num)] = np.empty(count, dtype)
        return buffer[:count].reshape(size[1], size[0])

    def _to_u8(self, alpha: np.ndarray, top: float) -> np.ndarray:
        """``alpha`` (0..top) as uint8 0..255, rounded and saturated, in a reused buffer."""
        small = self._buffer("u8", alpha.shape, np.uint8)
        # Negative overshoot to 0 first: convertScaleAbs would flip its sign.
        cv2.threshold(alpha, 0.0, 0.0, cv2.THRESH_TOZERO, dst=alpha)
        cv2.convertScaleAbs(alpha, small, alpha=255.0 / top)
        return small

    def _upsample(self, alpha: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Plain bilinear upsampling (refinement off): uint8 at the model's size, then resize."""
        clipped = self._buffer("clipped", alpha.shape)
        np.copyto(clipped, alpha)
        small = self._to_u8(clipped, 1.0)
        cv2.resize(small, (out.shape[1], out.shape[0]), dst=out, interpolation=cv2.INTER_LINEAR)
        return out
