"""The default model: MediaPipe's selfie segmentation, loaded from the installed wheel.

The two .tflite files ship inside mediapipe 0.10.21 (``mediapipe/modules/selfie_segmentation``),
so nothing is ever downloaded. We shrink the frame to the model's input size ourselves
(one cheap ``cv2.resize``) and ask MediaPipe for the confidence mask at that size: the
refiner brings it to full resolution with the frame as guide, which is sharper and cheaper
than letting MediaPipe upsample.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from .base import Matte

# (width, height) of each variant's input.
VARIANTS = {
    "general": ("selfie_segmentation.tflite", (256, 256)),
    "landscape": ("selfie_segmentation_landscape.tflite", (256, 144)),
}
# Frames at least this much wider than tall use the landscape (16:9-ish) model.
LANDSCAPE_MIN_ASPECT = 1.3


def model_file(variant: str) -> Path:
    """Path of the variant's .tflite inside the installed mediapipe package."""
    import mediapipe

    path = (
        Path(mediapipe.__file__).parent / "modules" / "selfie_segmentation" / VARIANTS[variant][0]
    )
    if not path.is_file():
        raise UserError(
            f"The selfie segmentation model is missing from the installed mediapipe ({path}); "
            "install the pinned version with: pip install mediapipe==0.10.21"
        )
    return path


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence TFLite's C++ start-up chatter ("Created TensorFlow Lite XNNPACK delegate").

    It is written straight to file descriptor 2, below Python's sys.stderr, so the
    descriptor itself is pointed at /dev/null for the duration.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def choose_variant(variant: str, width: int, height: int) -> str:
    if variant == "auto":
        return "landscape" if width >= LANDSCAPE_MIN_ASPECT * height else "general"
    if variant not in VARIANTS:
        raise UserError(
            f"Unknown MediaPipe model variant '{variant}'; use auto, general or landscape."
        )
    return variant


class MediaPipeSelfie:
    """MediaPipe selfie segmentation through the Tasks ImageSegmenter (stateless)."""

    device = "cpu"

    def __init__(self, variant: str = "auto") -> None:
        self.variant = variant
        self._segmenters: dict[str, object] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self.name = f"mediapipe-selfie ({variant})"

    def _segmenter(self, variant: str):  # noqa: ANN202 - mediapipe's own type
        if variant not in self._segmenters:
            os.environ.setdefault("GLOG_minloglevel", "2")
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.ImageSegmenterOptions(
                base_options=BaseOptions(model_asset_path=str(model_file(variant))),
                output_confidence_masks=True,
                output_category_mask=False,
                running_mode=vision.RunningMode.IMAGE,
            )
            with quiet_native_stderr():
                self._segmenters[variant] = vision.ImageSegmenter.create_from_options(options)
        return self._segmenters[variant]

    def infer(self, rgb: np.ndarray) -> Matte:
        import mediapipe as mp

        height, width = rgb.shape[:2]
        variant = choose_variant(self.variant, width, height)
        size = VARIANTS[variant][1]
        small = self._buffers.get(variant)
        if small is None:
            small = self._buffers[variant] = np.empty((size[1], size[0], 3), np.uint8)
        cv2.resize(rgb, size, dst=small, interpolation=cv2.INTER_AREA)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=small)
        result = self._segmenter(variant).segment(image)
        # numpy_view() is only valid while result lives: copy the small mask out.
        alpha = np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32, copy=True)
        if alpha.ndim == 3:
            alpha = alpha[:, :, 0]
        return Matte(alpha)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def close(self) -> None:
        for segmenter in self._segmenters.values():
            segmenter.close()  # type: ignore[attr-defined]
        self._segmenters.clear()
