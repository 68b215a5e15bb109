"""Frames as the decoder gives them (I420), and the colour maths to and from RGB.

A video file decodes to Y'CbCr 4:2:0 and H.264 encodes from it. Converting every frame to
RGB for the stages and back for the encoder costs about 1.7 ms of CPU at 720p (swscale's
rgb24 alone is 1.1 ms), blends three full-size channels where 4:2:0 has one and a half,
and re-rounds the person's pixels twice. So, when the source, the background and the
output allow it (``pipeline`` decides), a re-encode never leaves Y'CbCr: the model gets
an RGB copy made at half size (0.16 ms), the refiner's guide is the luma plane itself,
the blend runs per plane, and the person's pixels reach the encoder bit for bit as they
were decoded, tagged with the source's own colour space.

Pictures here and ``RgbPicture`` offer the same few views of a frame (the model's input,
a work-size copy, luma), so the refiner and the compositor serve both kinds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import av
import cv2
import numpy as np

from .frame import Halvings, shrink_to

# FFmpeg's AVColorSpace / AVColorRange numbers (what PyAV reports and accepts).
_SPACE_BT709, _SPACE_UNSPECIFIED = 1, 2
_SPACE_BT470BG, _SPACE_SMPTE170M = 5, 6
_SPACE_BT2020_NCL, _SPACE_BT2020_CL = 9, 10
_RANGE_MPEG, _RANGE_JPEG = 1, 2
# (Kr, Kb) luma weights of each matrix.
_WEIGHTS = {
    _SPACE_BT709: (0.2126, 0.0722),
    _SPACE_BT470BG: (0.299, 0.114),
    _SPACE_SMPTE170M: (0.299, 0.114),
    _SPACE_BT2020_NCL: (0.2627, 0.0593),
    _SPACE_BT2020_CL: (0.2627, 0.0593),
}
PLANAR_FORMATS = ("yuv420p", "yuvj420p")


@dataclass(frozen=True)
class ColourSpace:
    """Which Y'CbCr a stream's numbers are in: the matrix and the range, plus the tags the
    output copies (primaries and transfer are passed through, never converted)."""

    matrix: int = _SPACE_SMPTE170M
    full_range: bool = False
    primaries: int = _SPACE_UNSPECIFIED
    transfer: int = _SPACE_UNSPECIFIED

    @classmethod
    def of_stream(
        cls,
        colorspace: int,
        color_range: int,
        primaries: int,
        transfer: int,
        pix_fmt: str,
        height: int,
    ) -> ColourSpace:
        """Resolve what a stream says (or leaves unsaid) as players do: untagged HD is
        BT.709, untagged SD is BT.601, yuvj formats are full range."""
        matrix = (
            colorspace
            if colorspace in _WEIGHTS
            else (_SPACE_BT709 if height > 576 else _SPACE_SMPTE170M)
        )
        full = color_range == _RANGE_JPEG or pix_fmt.startswith("yuvj")
        return cls(matrix, full, primaries, transfer)

    @property
    def range_tag(self) -> int:
        return _RANGE_JPEG if self.full_range else _RANGE_MPEG

    def from_rgb(self) -> np.ndarray:
        """3x4 affine matrix: RGB 0..255 → Y'CbCr codes (for ``cv2.transform``)."""
        return _from_rgb(self.matrix, self.full_range)

    def to_rgb(self) -> np.ndarray:
        """3x4 affine matrix: Y'CbCr codes → RGB 0..255 (the inverse of :meth:`from_rgb`)."""
        return _to_rgb(self.matrix, self.full_range)

    @property
    def luma_gain(self) -> float:
        """Luma codes per unit of RGB grey (219/255 in limited range)."""
        return 1.0 if self.full_range else 219.0 / 255.0


# Cached: made per frame, and np.linalg wakes OpenBLAS's threads, which then spin (seen
# in perf as a quarter of all CPU time in sched_yield).
@functools.cache
def _from_rgb(matrix_id: int, full_range: bool) -> np.ndarray:
    kr, kb = _WEIGHTS[matrix_id]
    kg = 1.0 - kr - kb
    to_ypbpr = np.array(
        [
            [kr, kg, kb],
            [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
            [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
        ]
    )
    luma, chroma, black = (255.0, 255.0, 0.0) if full_range else (219.0, 224.0, 16.0)
    scale = np.array([luma, chroma, chroma])[:, None] / 255.0
    matrix = np.empty((3, 4), np.float32)
    matrix[:, :3] = to_ypbpr * scale
    matrix[:, 3] = (black, 128.0, 128.0)
    matrix.flags.writeable = False
    return matrix


@functools.cache
def _to_rgb(matrix_id: int, full_range: bool) -> np.ndarray:
    forward = _from_rgb(matrix_id, full_range).astype(np.float64)
    inverse = np.linalg.inv(forward[:, :3])
    matrix = np.empty((3, 4), np.float32)
    matrix[:, :3] = inverse
    matrix[:, 3] = -inverse @ forward[:, 3]
    matrix.flags.writeable = False
    return matrix


def rgb_to_planes(
    rgb: np.ndarray, colour: ColourSpace
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB picture as (Y full size, Cb and Cr at half size) in ``colour``'s numbers."""
    height, width = rgb.shape[:2]
    yuv = cv2.transform(rgb, colour.from_rgb())
    y, u, v = cv2.split(yuv)
    half = (width // 2, height // 2)
    return (
        y,
        cv2.resize(u, half, interpolation=cv2.INTER_AREA),
        cv2.resize(v, half, interpolation=cv2.INTER_AREA),
    )


class RgbPicture:
    """An RGB frame, seen the way the refiner and compositor look at any frame."""

    planar = False

    def __init__(self, rgb: np.ndarray, halvings: Halvings | None = None) -> None:
        self.rgb = rgb
        self.height, self.width = rgb.shape[:2]
        self._halvings = halvings or Halvings(rgb)
        self._work: dict[int, np.ndarray] = {}
        self.luma_gain = 1.0

    def model_input(
        self,
        width: int,
        height: int,
        dst: np.ndarray | None = None,
        scratch: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """RGB at width x height, for the model (``scratch``: see I420Picture's)."""
        return shrink_to(self.rgb, width, height, dst=dst, halvings=self._halvings)

    def work(self, factor: int) -> np.ndarray:
        """The picture shrunk by a whole ``factor`` (3 channels, uint8; made once)."""
        image = self._work.get(factor)
        if image is None:
            if factor == 1:
                image = self.rgb
            else:
                image = self.model_input(self.width // factor, self.height // factor)
            self._work[factor] = image
        return image

    def to_rgb(self) -> np.ndarray:
        return self.rgb

    def work_luma(self, factor: int) -> np.ndarray:
        """Grey at work size (in the units of :meth:`luma`)."""
        return cv2.cvtColor(self.work(factor), cv2.COLOR_RGB2GRAY)

    def luma(self, rows: slice, cols: slice, dst: np.ndarray) -> np.ndarray:
        """Full-resolution grey of one box (into ``dst``)."""
        return cv2.cvtColor(self.rgb[rows, cols], cv2.COLOR_RGB2GRAY, dst=dst)


class I420Picture:
    """One 4:2:0 frame as its three planes: views of the decoder's own buffers (no copy),
    or of one packed array (``packed``, what the encoder takes)."""

    planar = True

    def __init__(
        self,
        y: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        colour: ColourSpace,
        packed: np.ndarray | None = None,
    ) -> None:
        self.y, self.u, self.v = y, u, v
        self.height, self.width = y.shape
        self.colour = colour
        self.packed = packed
        self._y_halvings = Halvings(y)
        self._work: dict[int, np.ndarray] = {}
        self.luma_gain = colour.luma_gain

    @classmethod
    def from_packed(
        cls, packed: np.ndarray, width: int, height: int, colour: ColourSpace
    ) -> I420Picture:
        """Planes over an I420 array of height * 3 / 2 rows (what ``to_ndarray`` gives)."""
        flat = packed.reshape(-1)
        luma, chroma = width * height, (width // 2) * (height // 2)
        y = flat[:luma].reshape(height, width)
        u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
        v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2)
        return cls(y, u, v, colour, packed)

    @classmethod
    def from_frame(cls, frame: av.VideoFrame, colour: ColourSpace) -> I420Picture:
        """Planes over a decoded frame's own memory (kept alive by the views): no copy, and
        no fresh 1.4-3 MB array a frame for the allocator to juggle."""
        planes = []
        for plane in frame.planes[:3]:
            # (numpy's stubs list only builtin buffer types; a plane has __buffer__.)
            rows = np.frombuffer(plane, np.uint8)[: plane.line_size * plane.height]  # type: ignore[call-overload]
            planes.append(rows.reshape(plane.height, plane.line_size)[:, : plane.width])
        return cls(planes[0], planes[1], planes[2], colour)

    @classmethod
    def empty(cls, width: int, height: int, colour: ColourSpace) -> I420Picture:
        """A picture over a new packed buffer (the blend's output)."""
        return cls.from_packed(np.empty((height * 3 // 2, width), np.uint8), width, height, colour)

    def model_input(
        self,
        width: int,
        height: int,
        dst: np.ndarray | None = None,
        scratch: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """RGB at width x height, shrunk as an RGB frame would be: its first step is an
        exact halving when the frame is at least 4x the model's size, and that half-size
        RGB is what 4:2:0 gives cheaply (the luma halved, joined with the chroma already
        at that size). A smaller frame (under 1024 wide for MediaPipe) is shrunk from
        full-size RGB instead, so both paths feed the model alike (a different resampling
        chain moved DAVIS MAD by up to 16% on one clip). ``scratch`` holds reusable
        buffers for the half-size copies."""
        if self.width < 4 * width or self.height < 4 * height:
            return shrink_to(self.to_rgb(), width, height, dst=dst)
        scratch = {} if scratch is None else scratch
        shape = (self.height // 2, self.width // 2, 3)
        merged, half = (_scratch(scratch, key, shape) for key in ("merged", "half_rgb"))
        cv2.merge((self._y_halvings.level(1), self.u, self.v), dst=merged)
        cv2.transform(merged, self.colour.to_rgb(), dst=half)
        return shrink_to(half, width, height, dst=dst)

    def work(self, factor: int) -> np.ndarray:
        """Y'CbCr 4:4:4 shrunk by ``factor`` (3 channels, uint8; made once): blurs and local
        means are linear, so the compositor's work-size maths serves these numbers too."""
        image = self._work.get(factor)
        if image is None:
            width, height = self.width // factor, self.height // factor
            y = shrink_to(self.y, width, height, halvings=self._y_halvings)
            u = shrink_to(self.u, width, height)
            v = shrink_to(self.v, width, height)
            image = self._work[factor] = cv2.merge((y, u, v))
        return image

    def work_luma(self, factor: int) -> np.ndarray:
        return self.work(factor)[:, :, 0].copy()

    def luma(self, rows: slice, cols: slice, dst: np.ndarray) -> np.ndarray:
        return self.y[rows, cols]

    def to_rgb(self) -> np.ndarray:
        """Full-size RGB (chroma upsampled bilinearly), for the rare consumer that needs it."""
        size = (self.width, self.height)
        u = cv2.resize(self.u, size, interpolation=cv2.INTER_LINEAR)
        v = cv2.resize(self.v, size, interpolation=cv2.INTER_LINEAR)
        return cv2.transform(cv2.merge((self.y, u, v)), self.colour.to_rgb())


Picture = RgbPicture | I420Picture


def _scratch(buffers: dict[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    buffer = buffers.get(key)
    if buffer is None or buffer.shape != shape:
        buffer = buffers[key] = np.empty(shape, np.uint8)
    return buffer


def as_picture(image: np.ndarray | Picture, halvings: Halvings | None = None) -> Picture:
    if isinstance(image, RgbPicture | I420Picture):
        return image
    return RgbPicture(image, halvings)
