"""MediaPipe's selfie segmentation, both variants, as ONNX files inside the package.

The frame is shrunk to the model's input size once by the caller (see ``input_size``) and
the confidence map comes back at that size: the refiner brings it to full resolution with
the frame as guide, which is sharper and cheaper than upsampling here.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..boxes import tiles
from ..errors import UserError
from ..frame import shrink_to
from .base import Matte, Matter
from .builtin import BuiltinNet
from .providers import OpenedSession

# (width, height) of each variant's input, and its file under livematte/models.
VARIANTS = {
    "general": ("selfie_segmentation.onnx", (256, 256)),
    "landscape": ("selfie_segmentation_landscape.onnx", (256, 144)),
}
# Frames at least this much wider than tall use the landscape (16:9-ish) model.
LANDSCAPE_MIN_ASPECT = 1.3
# The tiled matte of a group (see Selfie.tiled): squares across the long side, each
# overlapping the next by half (boxes.tiles). Three across 16:9 show each of seven people
# side by side about 1.8x as large as the landscape model's 256x144 whole does (group set,
# raw matte: IoU 0.43 -> 0.79 on close-ups, 0.25 -> 0.65 on full bodies).
TILE_OVERLAP = 0.5


def model_files() -> list[str]:
    """Both variants' files: ``auto`` picks one per frame shape."""
    return [filename for filename, _ in VARIANTS.values()]


def feather(x: int, y: int, side: int, width: int, height: int) -> np.ndarray:
    """A square's share of the tiled matte, (side, 1) or (1, side) to broadcast: a ramp up
    from each side that lies inside the frame, over TILE_OVERLAP of the side, normalised so
    the shares of all squares sum to one at every pixel."""
    squares = tiles(width, height, TILE_OVERLAP)
    length = max(width, height)
    ramp = side * TILE_OVERLAP
    position = np.arange(length, dtype=np.float32) + 0.5
    shares = []
    for sx, sy, _ in squares:
        start = sx if width >= height else sy
        rise = np.ones(length, np.float32)
        if start > 0:
            rise = np.minimum(rise, (position - start) / ramp)
        if start + side < length:
            rise = np.minimum(rise, (start + side - position) / ramp)
        shares.append(np.clip(rise, 1e-3, 1.0) * ((position >= start) & (position < start + side)))
    total = np.maximum(np.sum(shares, axis=0), 1e-6)
    start = x if width >= height else y
    own = (shares[squares.index((x, y, side))] / total)[start : start + side]
    return own[None, :] if width >= height else own[:, None]


def choose_variant(variant: str, width: int, height: int) -> str:
    if variant == "auto":
        return "landscape" if width >= LANDSCAPE_MIN_ASPECT * height else "general"
    if variant not in VARIANTS:
        raise UserError(
            f"Unknown MediaPipe model variant '{variant}'; use auto, general or landscape."
        )
    return variant


class Selfie(Matter):
    """MediaPipe selfie segmentation (stateless), on whichever device the run chose."""

    def __init__(
        self,
        variant: str = "auto",
        threads: int | None = 1,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        """``threads``: onnxruntime's intra-op threads on the CPU; one leaves the other core
        to decoding and encoding, which is faster overall on two cores."""
        choose_variant(variant, 1, 1)  # an unknown variant fails here, not on frame one
        self.variant = variant
        self._options = (device, threads, precision)
        self._nets: dict[str, BuiltinNet] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._ran = ""  # the variant the last frame used ("" before any frame)
        self._tiled = np.zeros((0, 0), np.float32)
        self._weights: list[np.ndarray] = []
        # Open the general variant now: a device that cannot run it fails at start-up.
        first = self._net("general")
        self.device, self.provider = first.device, first.provider

    @property
    def name(self) -> str:  # type: ignore[override]  # computed: the variant that ran
        """The variant the last frame ran (``auto`` resolves per frame shape), else the
        setting: a summary names the model that made the output."""
        return f"selfie ({self._ran or self.variant})"

    @property
    def opened(self) -> OpenedSession:
        """The session of the general variant: where the model runs and why."""
        return self._net("general").opened

    def _net(self, variant: str) -> BuiltinNet:
        if variant not in self._nets:
            device, threads, precision = self._options
            self._nets[variant] = BuiltinNet(VARIANTS[variant][0], device, threads, precision)
        return self._nets[variant]

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) the model works at for frames of this size.

        The pipeline shrinks the frame to this size once, for the model and for its own
        frame-difference checks, and passes the small frame to :meth:`infer`.
        """
        return VARIANTS[choose_variant(self.variant, width, height)][1]

    def infer(self, rgb: np.ndarray) -> Matte:
        height, width = rgb.shape[:2]
        variant = choose_variant(self.variant, width, height)
        size = VARIANTS[variant][1]
        if (width, height) != size:
            buffer = self._buffers.get(variant)
            if buffer is None:
                buffer = self._buffers[variant] = np.empty((size[1], size[0], 3), np.uint8)
            rgb = shrink_to(rgb, size[0], size[1], dst=buffer)
        net = self._net(variant)
        # The model takes RGB in [0, 1], as MediaPipe's graph feeds it.
        np.multiply(rgb, np.float32(1.0 / 255.0), out=net.input[0], casting="unsafe")
        (alpha,) = net.run()
        self._ran = variant
        return Matte(alpha[0, :, :, 0])

    def tiled(self, rgb: np.ndarray) -> np.ndarray:
        """The general model on squares across the frame (see :func:`tiles`), each answer
        back at its square's size and the overlaps averaged, each square's weight falling
        to nothing at its cut sides (there the model saw half a person): a wide shot of
        several people, where the whole frame at 256x144 makes each of them a few pixels
        wide. Returns a (height, width) buffer reused by the next call."""
        height, width = rgb.shape[:2]
        squares = tiles(width, height, TILE_OVERLAP)
        if self._tiled.shape != (height, width):
            self._tiled = np.zeros((height, width), np.float32)
            self._weights = [feather(x, y, side, width, height) for x, y, side in squares]
        else:
            self._tiled.fill(0.0)
        for (x, y, side), weight in zip(squares, self._weights, strict=True):
            square = np.ascontiguousarray(rgb[y : y + side, x : x + side])
            alpha = cv2.resize(
                self.infer(square).alpha, (side, side), interpolation=cv2.INTER_LINEAR
            )
            view = self._tiled[y : y + side, x : x + side]
            view += alpha * weight
        return self._tiled

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def close(self) -> None:
        self._nets.clear()
