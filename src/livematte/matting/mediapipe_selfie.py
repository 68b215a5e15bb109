"""The default model: MediaPipe's selfie segmentation, loaded from the installed wheel.

The two .tflite files ship inside mediapipe 0.10.21 (``mediapipe/modules/selfie_segmentation``),
so nothing is ever downloaded. We shrink the frame to the model's input size ourselves
(one cheap ``shrink_to``) and ask MediaPipe for the confidence mask at that size: the
refiner brings it to full resolution with the frame as guide, which is sharper and cheaper
than letting MediaPipe upsample.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frame import shrink_to
from .base import Matte, Matter

# (width, height) of each variant's input.
VARIANTS = {
    "general": ("selfie_segmentation.tflite", (256, 256)),
    "landscape": ("selfie_segmentation_landscape.tflite", (256, 144)),
}
# Frames at least this much wider than tall use the landscape (16:9-ish) model.
LANDSCAPE_MIN_ASPECT = 1.3


def model_file(variant: str) -> Path:
    """Path of the variant's .tflite inside the installed mediapipe package."""
    return wheel_file("selfie_segmentation", VARIANTS[variant][0])


def model_files() -> list[Path]:
    """Paths of both variants' .tflite files: ``auto`` picks one per frame shape."""
    return [model_file(variant) for variant in VARIANTS]


def wheel_file(module: str, filename: str) -> Path:
    """Path of ``mediapipe/modules/<module>/<filename>`` inside the installed mediapipe wheel.

    Found without importing mediapipe: its import pulls in matplotlib and costs 0.5-1.3 s,
    start-up that every run would pay and that LiteRT does not need.
    """
    spec = importlib.util.find_spec("mediapipe")
    folder = spec.submodule_search_locations if spec is not None else None
    package = Path(next(iter(folder))) if folder else Path("mediapipe")
    path = package / "modules" / module / filename
    if not path.is_file():
        raise UserError(
            f"The model file {filename} is missing from the installed mediapipe ({path}); "
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


class _TasksRunner:
    """The model through MediaPipe's Tasks ImageSegmenter (its graph, its image types)."""

    def __init__(self, variant: str) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(model_file(variant))),
            output_confidence_masks=True,
            output_category_mask=False,
            running_mode=vision.RunningMode.IMAGE,
        )
        with quiet_native_stderr():
            self._segmenter = vision.ImageSegmenter.create_from_options(options)

    def __call__(self, small: np.ndarray) -> np.ndarray:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=small)
        result = self._segmenter.segment(image)
        # numpy_view() is only valid while result lives: copy the small mask out.
        alpha = np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32, copy=True)
        return alpha[:, :, 0] if alpha.ndim == 3 else alpha

    def close(self) -> None:
        self._segmenter.close()


class _LiteRTRunner:
    """The same .tflite run straight through LiteRT's interpreter (``ai-edge-litert``).

    Same numbers as the Tasks graph (largest difference 1e-5) in about half the time
    (1.8 against 3.1 ms at 256x144 here): no graph scheduling, no image conversion. The
    interpreter releases the GIL while it runs, so decode and encode threads go on.
    """

    def __init__(self, variant: str, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native_stderr():
            self._interpreter = Interpreter(
                model_path=str(model_file(variant)), num_threads=threads
            )
            self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        (out,) = self._interpreter.get_output_details()
        self._in, self._out = inp["index"], out["index"]
        self._input = np.empty(tuple(inp["shape"]), np.float32)

    def __call__(self, small: np.ndarray) -> np.ndarray:
        # The model takes RGB in [0, 1], as MediaPipe's graph feeds it.
        np.multiply(small, np.float32(1.0 / 255.0), out=self._input[0], casting="unsafe")
        self._interpreter.set_tensor(self._in, self._input)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._out)[0, :, :, 0]  # a copy

    def close(self) -> None:
        """Nothing held beyond memory."""


def litert_available() -> bool:
    """Whether LiteRT's interpreter (the fast way to run the model) is installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class MediaPipeSelfie(Matter):
    """MediaPipe selfie segmentation (stateless), through LiteRT or the Tasks API."""

    device = "cpu"

    def __init__(self, variant: str = "auto", runtime: str = "auto", threads: int = 1) -> None:
        """``runtime``: "litert" (fast, needs ai-edge-litert), "tasks" (MediaPipe's graph) or
        "auto" (litert where installed). ``threads``: interpreter threads (litert only); one
        leaves the other core to decoding and encoding, which is faster overall on two cores.
        """
        if runtime not in ("auto", "litert", "tasks"):
            raise UserError(f"Unknown MediaPipe runtime '{runtime}'; use auto, litert or tasks.")
        if runtime == "auto":
            runtime = "litert" if litert_available() else "tasks"
        self.variant = variant
        self.runtime = runtime
        self.threads = max(1, threads)
        self._runners: dict[str, _TasksRunner | _LiteRTRunner] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._ran = ""  # the variant the last frame used ("" before any frame)
        self.provider = "LiteRT CPU" if runtime == "litert" else "MediaPipe Tasks CPU"

    @property
    def name(self) -> str:  # type: ignore[override]  # computed: the variant that ran
        """The variant the last frame ran (``auto`` resolves per frame shape), else the
        setting: a summary names the model that made the output."""
        return f"mediapipe-selfie ({self._ran or self.variant})"

    def _runner(self, variant: str) -> _TasksRunner | _LiteRTRunner:
        if variant not in self._runners:
            if self.runtime == "litert":
                self._runners[variant] = _LiteRTRunner(variant, self.threads)
            else:
                self._runners[variant] = _TasksRunner(variant)
        return self._runners[variant]

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
        if (width, height) == size and rgb.flags.c_contiguous:
            small = rgb  # already shrunk by the caller (see input_size)
        else:
            buffer = self._buffers.get(variant)
            if buffer is None:
                buffer = self._buffers[variant] = np.empty((size[1], size[0], 3), np.uint8)
            small = shrink_to(rgb, size[0], size[1], dst=buffer)
        alpha = self._runner(variant)(small)
        self._ran = variant
        return Matte(alpha)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()
