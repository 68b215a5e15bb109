"""ONNX models on onnxruntime: stateless segmenters and Robust Video Matting.

:func:`load_onnx_matter` opens the session on the requested device (see ``providers``),
works out what the model is (see ``model_spec``), checks that against the graph, and runs
one grey frame through it so a broken description fails at load time, not on frame one.

Segmenters get the frame resized (INTER_AREA) to their input size and normalised into a
preallocated tensor; their alpha comes back at the model's resolution, since the refiner
upsamples it. Robust Video Matting gets the full frame: it downsamples internally by
``downsample_ratio`` and returns ``pha`` and ``fgr`` at the frame's size. Its four
recurrent states are fed back every frame through IO binding, so on CUDA they stay on the
GPU; they are reset on :meth:`reset`, on a scene cut and when the frame size changes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import UserError, reason_of
from .base import Matte, Matter
from .model_spec import RVM_STATES, ModelSpec, TensorInfo
from .providers import (
    NVIDIA,
    OpenedSession,
    check_precision,
    exported_precision,
    open_session,
    thread_note,
)
from .spec_resolve import choose_spec, resolve_spec

log = logging.getLogger("livematte")

WARMUP_SHAPE = (360, 640, 3)
# Families whose output is a true alpha matte rather than a person probability.
MATTING_FAMILIES = ("modnet", "rvm")


class InputPacker:
    """Resizes and normalises uint8 RGB frames into one reused model input tensor."""

    def __init__(self, spec: ModelSpec) -> None:
        order = [0, 1, 2] if spec.color_order == "RGB" else [2, 1, 0]
        std = np.asarray(spec.std, np.float32)
        self._order = order
        self._unit_gain = (1.0 / std).astype(np.float32)
        self._gain = (np.float32(spec.scale) / std).astype(np.float32)
        self._by_max = spec.divide_by_max
        self._offset = (-np.asarray(spec.mean, np.float32) / std).astype(np.float32)
        self._nchw = spec.layout == "NCHW"
        self._dtype = np.dtype(spec.dtype)
        self._size: tuple[int, int] | None = None
        self._resized = np.empty((0, 0, 3), np.uint8)
        self._tensor = np.empty(0, self._dtype)

    def _buffers(self, h: int, w: int) -> None:
        if self._size != (h, w):
            self._size = (h, w)
            self._resized = np.empty((h, w, 3), np.uint8)
            shape = (1, 3, h, w) if self._nchw else (1, h, w, 3)
            self._tensor = np.empty(shape, self._dtype)

    def pack(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The input tensor for ``rgb`` at ``size`` (h, w); valid until the next call."""
        h, w = size
        self._buffers(h, w)
        if rgb.shape[:2] == (h, w):
            image = rgb
        else:
            image = cv2.resize(rgb, (w, h), dst=self._resized, interpolation=cv2.INTER_AREA)
        gain = self._gain
        if self._by_max:
            gain = self._unit_gain / np.float32(max(int(image.max()), 1))
        if self._nchw:
            for c, source in enumerate(self._order):
                plane = self._tensor[0, c]
                np.multiply(image[:, :, source], gain[c], out=plane, casting="unsafe")
                plane += self._offset[c]
        else:
            channels = image if self._order == [0, 1, 2] else image[:, :, ::-1]
            out = self._tensor[0]
            np.multiply(channels, gain, out=out, casting="unsafe")
            out += self._offset
        return self._tensor


def _softmax_channel(scores: np.ndarray, channel: int) -> np.ndarray:
    """Softmax over axis 0, only for ``channel``: 1 / sum_j exp(x_j - x_c)."""
    with np.errstate(over="ignore"):
        return 1.0 / np.exp(scores - scores[channel]).sum(axis=0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def person_alpha(output: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """The person's alpha (float32 [0, 1], h x w) from one segmenter output."""
    if output.ndim == 4:
        planes = output[0] if spec.output_layout == "NCHW" else np.moveaxis(output[0], -1, 0)
    else:
        planes = output[:1]  # (1, H, W): one plane, no channel axis
    if spec.output_type == "labels":
        alpha = (planes[0] == spec.person_channel).astype(np.float32)
    elif spec.output_type == "logits" and planes.shape[0] > 1:
        alpha = _softmax_channel(planes.astype(np.float32), spec.person_channel)
    elif spec.output_type == "logits":
        alpha = _sigmoid(planes[spec.person_channel].astype(np.float32))
    else:
        alpha = planes[spec.person_channel]
    if spec.minmax:
        alpha = _stretch(alpha.astype(np.float32))
    return np.ascontiguousarray(np.clip(alpha, 0.0, 1.0), dtype=np.float32)


def _stretch(values: np.ndarray) -> np.ndarray:
    """``values`` rescaled so the lowest is 0 and the highest 1; a flat map (nothing stands
    out) is all 0."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return np.zeros_like(values)
    return (values - np.float32(low)) * np.float32(1.0 / (high - low))


class OnnxMatter(Matter):
    """A stateless ONNX segmenter or matting network (SINet, MODNet, selfie, PP-HumanSeg)."""

    def __init__(self, opened: OpenedSession, spec: ModelSpec, name: str) -> None:
        self.session = opened.session
        self.spec = spec
        self.name = name
        self.device = opened.device
        # The provider the session really holds (checked when it was opened).
        self.provider = opened.provider
        self.precision = "fp32"
        self.quality = "best" if spec.family in MATTING_FAMILIES else "fast"
        self._opened = opened
        self.info = self.info_line()
        self._packer = InputPacker(spec)
        self._output_names = [spec.output_name or self.session.get_outputs()[0].name]

    def info_line(self, *details: str) -> str:
        """One line for the user: the model, where it runs and why not somewhere faster."""
        return f"model {self.name} ({self.spec.family}) on {self._opened.describe(*details)}"

    def infer(self, rgb: np.ndarray) -> Matte:
        """Alpha at the model's input resolution; the refiner brings it to full size."""
        tensor = self._packer.pack(rgb, self.tensor_size(rgb.shape[0], rgb.shape[1]))
        (output,) = self.session.run(self._output_names, {self.spec.input_name: tensor})
        return Matte(alpha=person_alpha(output, self.spec))

    def tensor_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the input tensor for a frame of this size."""
        return self.spec.input_size(height, width)

    def reset(self) -> None:
        """Stateless: nothing to forget."""


def auto_downsample_ratio(height: int, width: int) -> float:
    """RVM's own rule: downsample so the long side is at most 512 px (256-512 for HD+)."""
    return min(512.0 / max(height, width), 1.0)


class RvmMatter(OnnxMatter):
    """Robust Video Matting: recurrent state carried frame to frame, ``fgr`` returned."""

    def __init__(
        self,
        opened: OpenedSession,
        spec: ModelSpec,
        name: str,
        *,
        downsample_ratio: float | None = None,
    ) -> None:
        super().__init__(opened, spec, name)
        inputs = {i.name: i for i in self.session.get_inputs()}
        ratio_dims = inputs["downsample_ratio"].shape
        self._ratio_shape = tuple(d if isinstance(d, int) else 1 for d in ratio_dims)
        self._state_dtype = np.float16 if inputs["r1i"].type == "tensor(float16)" else np.float32
        # On an NVIDIA GPU the states never leave it; elsewhere the same binding code runs
        # with the states in host memory (the only place other providers' OrtValues live).
        self._state_device = "cuda" if opened.device in NVIDIA else "cpu"
        self.downsample_ratio = downsample_ratio
        self._size: tuple[int, int] | None = None
        self._state: list[Any] | None = None
        self.resets = 0

    def reset(self) -> None:
        """Forget the recurrent state (scene cut, seek, source restart)."""
        self._state = None
        self.resets += 1

    def _zero_state(self) -> list[Any]:
        from onnxruntime import OrtValue

        zero = np.zeros((1, 1, 1, 1), self._state_dtype)
        return [OrtValue.ortvalue_from_numpy(zero, self._state_device, 0) for _ in RVM_STATES]

    def infer(self, rgb: np.ndarray) -> Matte:
        """Alpha and foreground at the frame's size, feeding the state back."""
        h, w = rgb.shape[:2]
        # Scene cuts reset it through reset() (the stages detect them for every model).
        if self._size != (h, w) and self._state is not None:
            log.debug("resetting RVM state: the frame size changed")
            self.reset()
        self._size = (h, w)
        if self._state is None:
            self._state = self._zero_state()
        src = self._packer.pack(rgb, (h, w))
        ratio = self.downsample_ratio or auto_downsample_ratio(h, w)
        ratio_tensor = np.full(self._ratio_shape, ratio, np.float32)  # float32 even in fp16 models
        binding = self.session.io_binding()
        binding.bind_cpu_input("src", src)
        binding.bind_cpu_input("downsample_ratio", ratio_tensor)
        for (state_in, _), value in zip(RVM_STATES, self._state, strict=True):
            binding.bind_ortvalue_input(state_in, value)
        binding.bind_output("fgr", "cpu")
        binding.bind_output("pha", "cpu")
        for _, state_out in RVM_STATES:
            binding.bind_output(state_out, self._state_device)
        self.session.run_with_iobinding(binding)
        fgr, pha, *state = binding.get_outputs()
        self._state = state
        alpha = np.clip(pha.numpy()[0, 0], 0.0, 1.0).astype(np.float32, copy=False)
        return Matte(alpha=alpha, foreground=_to_rgb8(fgr.numpy()[0]))


def _to_rgb8(chw: np.ndarray) -> np.ndarray:
    """CHW float [0, 1] to HWC uint8: OpenCV's saturating multiply, twice numpy's speed."""
    planes = [plane.astype(np.float32, copy=False) for plane in chw]
    # OpenCV takes a scalar tuple here; its stubs know only arrays.
    scale = (255.0, 255.0, 255.0, 0.0)
    return cv2.multiply(cv2.merge(planes), scale, dtype=cv2.CV_8U)  # type: ignore[call-overload]


def _tensor_infos(nodes: list[Any]) -> list[TensorInfo]:
    return [TensorInfo(n.name, tuple(n.shape), n.type) for n in nodes]


def load_onnx_matter(
    path: str,
    *,
    model_type: str | None = None,
    spec_path: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    downsample_ratio: float | None = None,
    precision: str = "auto",
    matter_class: type[OnnxMatter] = OnnxMatter,
    name: str | None = None,
) -> OnnxMatter:
    """Open ``path`` on ``device``, match it to a description, check it, warm it up.

    ``matter_class`` runs a stateless model (a built-in's own subclass) and ``name`` is
    what the user is shown (the file's name by default)."""
    model = Path(path)
    if not model.is_file():
        raise UserError(f"Model file {path} does not exist; check the --model path.")
    if downsample_ratio is not None and not 0.0 < downsample_ratio <= 1.0:
        raise UserError(f"--downsample-ratio must be in (0, 1], got {downsample_ratio}.")
    opened = open_session(str(model), device, threads, precision)
    session = opened.session
    ins, outs = _tensor_infos(session.get_inputs()), _tensor_infos(session.get_outputs())
    spec = choose_spec(model.name, ins, outs, model_type=model_type, spec_path=spec_path)
    spec = resolve_spec(spec, model.name, ins, outs)
    check_precision(precision, opened.device, spec.dtype, model.name)
    if downsample_ratio is not None and not spec.recurrent:
        raise UserError(
            f"--downsample-ratio sets Robust Video Matting's inner resolution, and {model.name} "
            f"is a {spec.family} model, which takes none; drop it."
        )
    shown = name or model.name
    if spec.recurrent:
        matter: OnnxMatter = RvmMatter(opened, spec, shown, downsample_ratio=downsample_ratio)
    else:
        matter = matter_class(opened, spec, shown)
    # check_precision has refused fp32 for an fp16 export, so this is what really runs.
    matter.precision = "fp16" if "fp16" in (precision, exported_precision(spec.dtype)) else "fp32"
    _warm_up(matter)
    details = ["fp16"] if matter.precision == "fp16" else []
    threads_used = session.get_session_options().intra_op_num_threads
    details += thread_note(opened.device, threads_used)
    matter.info = matter.info_line(*details)
    log.info("%s", matter.info)
    return matter


def _warm_up(matter: OnnxMatter) -> None:
    """One grey frame through the model: shape errors surface now, with the model named."""
    try:
        alpha = matter.infer(np.full(WARMUP_SHAPE, 128, np.uint8)).alpha
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise UserError(
            f"Model {matter.name} failed on a test frame with the {matter.spec.family} "
            f"description ({reason_of(error)}); check its input size, layout and output."
        ) from None
    finally:
        matter.reset()
    if alpha.ndim != 2:
        raise UserError(
            f"Model {matter.name} returned an alpha of shape {alpha.shape}, not a single plane; "
            "check output.layout and output.channel in the spec."
        )
