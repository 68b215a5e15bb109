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
  there is eroded, so nothing is added where the full-resolution alpha is 0, and what is
  added is held within what a true mix can need (|I - B_old| <= 255 a), so a faint but
  wrong alpha over a textured old background does not paint that texture back.
- Light wrap: a little of the new background shows through the person's outer edge, as
  light from it would: the alpha is lowered by ``light_wrap`` times a band just inside it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..boxes import band_regions, scale_box, upsample_region
from ..config import BackgroundConfig
from ..planar import I420Picture
from .backgrounds import Background
from .work import WorkView

# What decontamination corrects: image, alpha, 255 - alpha, channel of the work image.
_Layer = tuple[np.ndarray, np.ndarray, np.ndarray, int | None]
# Reach of the old background's local mean (decontamination) and of the light wrap, in
# work pixels (4 full-size pixels each at 720p).
_EDGE_SIGMA = 3.0
_WRAP_SIGMA = 3.0
# Straight-alpha unmixing divides by alpha; below this its noise would be amplified.
_UNMIX_MIN_ALPHA = 0.1


class Compositor:
    """Person over background, in uint8, into buffers reused from frame to frame."""

    def __init__(self, background: Background, config: BackgroundConfig | None = None) -> None:
        self.background = background
        self.config = config or BackgroundConfig()
        self.work = WorkView()
        self._masks3: tuple[np.ndarray, np.ndarray] | None = None  # alpha, 255 - alpha
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
        work_copy: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Write the blended frame into ``out`` (RGB, or RGBA when transparent).

        ``foreground`` is the model's own estimate of the person's colours (RVM's ``fgr``),
        already free of the old background; without it the edge is decontaminated here.
        ``work_copy`` is the frame and its alpha already shrunk to the work size (uint8), when a
        stage before made them.
        """
        cfg = self.config
        fg = rgb if foreground is None else foreground
        if self.background.transparent:
            # Editors composite this elsewhere: its edge colours must be the person's own.
            if cfg.decontaminate and foreground is None:
                self.work.update(rgb, alpha, work_copy)
                fg = self._unmix(rgb, alpha)
            cv2.merge((fg[:, :, 0], fg[:, :, 1], fg[:, :, 2], alpha), dst=out)
            return out
        self.work.update(rgb, alpha, work_copy)
        bg = self.background.render_layer(rgb, alpha, self.work)
        # The blur is the old background itself: its colours already sit on the edge, so
        # neither decontamination nor light wrap has anything to do there.
        replaced = not self.background.from_frame
        if cfg.light_wrap > 0 and replaced:
            alpha = self._light_wrap(alpha)
        if self._masks3 is None or self._masks3[0].shape != rgb.shape:
            self._masks3 = (np.empty_like(rgb), np.empty_like(rgb))
        a3, inv3 = self._masks3
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
        work_copy: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Blend a decoded 4:2:0 frame over the background plane by plane into ``out``
        (returns its packed array, ready for the encoder). Blending is linear, so doing it
        on Y'CbCr gives the RGB blend's result without converting the frame either way;
        the chroma planes use the alpha averaged to their size."""
        packed = out.packed
        if packed is None:
            raise ValueError("composite_planar writes into a packed picture (I420Picture.empty)")
        self.work.update(picture, alpha, work_copy)
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
        return packed

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
        o / 2 + 128 at full size (overwritten).

        A true mix has |o| = |I - B_old| = a |F - B_old| <= 255 a, so o is first held
        within that bound: where the alpha is faint but wrong (a segmenter's soft edge
        lying over a textured old background), I - B_old is the old background's own
        texture, and adding it back unbounded paints a mottled band of it around the
        person."""
        bound = cv2.multiply(mask, 0.5)  # type: ignore[call-overload]  # 255 a / 2
        high = cv2.add(bound, 128)  # type: ignore[call-overload]
        low = cv2.subtract(128, bound)  # type: ignore[call-overload]
        if half.ndim == 3:  # (a scalar operand reaches only the first channel)
            high, low = cv2.merge((high, high, high)), cv2.merge((low, low, low))
        cv2.min(half, high, dst=half)
        cv2.max(half, low, dst=half)
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
        # OpenCV's stubs take no scalar operand; its bindings do.
        weight = cv2.max(a, int(_UNMIX_MIN_ALPHA * 255)).astype(np.float32)  # type: ignore[call-overload]
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
