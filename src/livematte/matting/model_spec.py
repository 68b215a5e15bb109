"""What an ONNX model expects and returns, so one runner can drive any segmenter.

A :class:`ModelSpec` says how to turn an RGB frame into the model's input tensor (name,
layout, size, colour order, scale/mean/std) and where the person is in its output (name,
channel, and whether the values are probabilities, a softmax, logits or class labels).
Known families have built-in specs, recognised from the graph's inputs and outputs;
anything else is described in a TOML file (:mod:`.spec_file`), and :mod:`.spec_resolve`
chooses the spec for a loaded graph and checks it against the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

FLOAT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16"}

RVM_INPUTS = ("src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio")
RVM_OUTPUTS = ("fgr", "pha", "r1o", "r2o", "r3o", "r4o")
RVM_STATES = (("r1i", "r1o"), ("r2i", "r2o"), ("r3i", "r3o"), ("r4i", "r4o"))

Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output as onnxruntime reports it (symbolic dims are str/None)."""

    name: str
    shape: tuple[Dim, ...]
    type: str

    def __str__(self) -> str:
        dims = ",".join(str(d) if isinstance(d, int) else (d or "?") for d in self.shape)
        return f"{self.name}[{dims}] {self.type.removeprefix('tensor(').rstrip(')')}"


@dataclass(frozen=True)
class ModelSpec:
    """How to feed one model and read the person from it.

    ``mean`` and ``std`` are in the model's colour order and apply after ``scale``:
    ``x = (pixel * scale - mean) / std``. ``size`` is (height, width); ``None`` takes the
    model's own fixed size, or for a model with dynamic height/width scales the frame so
    its long side is ``long_side``, rounded to a multiple of ``multiple``. ``output_type``
    says what the chosen output holds: ``probability`` (already in [0, 1]), ``softmax``
    (a softmax over class channels, already applied in the graph), ``logits`` (raw
    scores: livematte applies a sigmoid, or a softmax across channels when there are
    several) or ``labels`` (a class index per pixel; ``channel`` is the person's class).
    ``channel`` left as ``None`` means the output has one channel; :func:`resolve_spec`
    refuses it for a multi-channel output, where reading channel 0 could be the background.
    ``divide_by_max`` replaces ``scale`` by one over the resized frame's brightest value
    (U²-Net's own preprocessing); ``minmax`` stretches the output so its lowest value is
    0 and its highest 1 (U²-Net's maps are relative, not probabilities).
    """

    family: str = "custom"
    recurrent: bool = False
    input_name: str | None = None
    layout: str = "NCHW"
    size: tuple[int, int] | None = None
    multiple: int = 32
    long_side: int = 512
    color_order: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    divide_by_max: bool = False
    output_name: str | None = None
    output_layout: str | None = None
    channel: int | None = None
    output_type: str = "probability"
    minmax: bool = False
    dtype: str = "float32"  # filled in from the model by resolve_spec, not a TOML key

    @property
    def person_channel(self) -> int:
        """The channel (or class) read as the person; 0 for a one-channel output."""
        return 0 if self.channel is None else self.channel

    def input_size(self, frame_h: int, frame_w: int) -> tuple[int, int]:
        """The (height, width) to resize a frame of this size to before inference."""
        if self.size is not None:
            return self.size
        factor = self.long_side / max(frame_h, frame_w)
        return round_to(frame_h * factor, self.multiple), round_to(frame_w * factor, self.multiple)


def round_to(value: float, multiple: int) -> int:
    """``value`` rounded to the nearest multiple of ``multiple``, at least one multiple."""
    return max(multiple, int(round(value / multiple)) * multiple)


_HALF_SIGNED = (0.5, 0.5, 0.5)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

BUILTIN_SPECS: dict[str, ModelSpec] = {
    "rvm": ModelSpec(
        family="rvm", recurrent=True, input_name="src", output_name="pha", layout="NCHW"
    ),
    "modnet": ModelSpec(
        family="modnet",
        layout="NCHW",
        mean=_HALF_SIGNED,
        std=_HALF_SIGNED,
        multiple=32,
        long_side=512,
    ),
    "sinet": ModelSpec(
        family="sinet",
        layout="NCHW",
        color_order="BGR",
        # SINet's published BGR mean/std are in 0..255 units, yet this export only
        # segments when the std is scaled by a further 255 (as obs-backgroundremoval
        # feeds it): IoU 0.9+ on portraits this way, under 0.6 with (x - mean) / std.
        scale=1.0,
        mean=(102.89, 111.25, 126.91),
        std=(62.93 * 255, 62.82 * 255, 66.36 * 255),
        channel=1,
        output_type="softmax",
    ),
    "mediapipe-selfie": ModelSpec(family="mediapipe-selfie", layout="NHWC"),
    "pphumanseg": ModelSpec(
        family="pphumanseg",
        layout="NCHW",
        mean=_HALF_SIGNED,
        std=_HALF_SIGNED,
        channel=1,
        output_type="softmax",
    ),
    # U²-Net (and its small sibling U²-Net-p): salient objects, not only people. The first
    # of its seven side outputs is the fused map, sigmoid applied.
    "u2netp": ModelSpec(
        family="u2netp",
        layout="NCHW",
        size=(320, 320),
        divide_by_max=True,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        minmax=True,
    ),
}
MODEL_TYPES = tuple(BUILTIN_SPECS)


# --- recognising a family from the graph ------------------------------------------------


def channels_of(info: TensorInfo, layout: str) -> Dim:
    if len(info.shape) != 4:
        return None
    return info.shape[1] if layout == "NCHW" else info.shape[3]


def _is_rvm(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    names = {t.name for t in ins} | {t.name for t in outs}
    return set(RVM_INPUTS) | set(RVM_OUTPUTS) <= names


def _single(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return len(ins) == 1 and len(outs) >= 1


def _is_mediapipe_selfie(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and tuple(ins[0].shape[1:]) in ((256, 256, 3), (144, 256, 3))
        and channels_of(outs[0], "NHWC") == 1
    )


def _is_sinet(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "data"
        and channels_of(ins[0], "NCHW") == 3
        and channels_of(outs[0], "NCHW") == 2
    )


def _is_pphumanseg(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "x"
        and channels_of(ins[0], "NCHW") == 3
        and channels_of(outs[0], "NCHW") == 2
    )


def _is_modnet(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "input"
        and channels_of(ins[0], "NCHW") == 3
        and channels_of(outs[0], "NCHW") == 1
        and not all(isinstance(d, int) for d in ins[0].shape[2:])
    )


def _is_u2net(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        len(ins) == 1
        and len(outs) == 7
        and channels_of(ins[0], "NCHW") == 3
        and all(channels_of(out, "NCHW") == 1 for out in outs)
    )


_DETECTORS: tuple[tuple[str, Callable[[Sequence[TensorInfo], Sequence[TensorInfo]], bool]], ...] = (
    ("rvm", _is_rvm),
    ("mediapipe-selfie", _is_mediapipe_selfie),
    ("sinet", _is_sinet),
    ("pphumanseg", _is_pphumanseg),
    ("modnet", _is_modnet),
    ("u2netp", _is_u2net),
)


def signature(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> str:
    """The graph's inputs and outputs in one line, for messages."""
    return f"inputs {', '.join(map(str, ins))}; outputs {', '.join(map(str, outs))}"


def detect_family(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> str | None:
    """The built-in family whose signature this graph has, or None."""
    return next((name for name, test in _DETECTORS if test(ins, outs)), None)
