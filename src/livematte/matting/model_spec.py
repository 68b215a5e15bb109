"""What an ONNX model expects and returns, so one runner can drive any segmenter.

A :class:`ModelSpec` says how to turn an RGB frame into the model's input tensor (name,
layout, size, colour order, scale/mean/std) and where the person is in its output (name,
channel, and whether the values are probabilities, a softmax, logits or class labels).
Known families have built-in specs, recognised from the graph's inputs and outputs;
anything else is described in a TOML file (see ``configs/model-custom-example.toml``).
:func:`resolve_spec` checks a spec against the loaded model and names every mismatch,
because a wrong layout or colour order otherwise shows up only as a bad matte.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

LAYOUTS = ("NCHW", "NHWC")
COLOR_ORDERS = ("RGB", "BGR")
OUTPUT_TYPES = ("probability", "softmax", "logits", "labels")
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


def _channels(info: TensorInfo, layout: str) -> Dim:
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
        and _channels(outs[0], "NHWC") == 1
    )


def _is_sinet(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "data"
        and _channels(ins[0], "NCHW") == 3
        and _channels(outs[0], "NCHW") == 2
    )


def _is_pphumanseg(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "x"
        and _channels(ins[0], "NCHW") == 3
        and _channels(outs[0], "NCHW") == 2
    )


def _is_modnet(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        _single(ins, outs)
        and ins[0].name == "input"
        and _channels(ins[0], "NCHW") == 3
        and _channels(outs[0], "NCHW") == 1
        and not all(isinstance(d, int) for d in ins[0].shape[2:])
    )


def _is_u2net(ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]) -> bool:
    return (
        len(ins) == 1
        and len(outs) == 7
        and _channels(ins[0], "NCHW") == 3
        and all(_channels(out, "NCHW") == 1 for out in outs)
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


def choose_spec(
    model_name: str,
    ins: Sequence[TensorInfo],
    outs: Sequence[TensorInfo],
    *,
    model_type: str | None = None,
    spec_path: str | None = None,
) -> ModelSpec:
    """The spec to use: the TOML file, the named family, or the family the graph shows."""
    if model_type is not None and spec_path is not None:
        raise UserError(
            "Give either --model-type or --model-spec, not both: the spec file already "
            "describes the model completely."
        )
    if spec_path is not None:
        return load_spec_file(spec_path)
    if model_type is not None:
        if model_type not in BUILTIN_SPECS:
            raise UserError(
                f"Unknown --model-type {model_type!r}; choose one of {', '.join(MODEL_TYPES)}, "
                "or describe the model in a TOML file with --model-spec."
            )
        return BUILTIN_SPECS[model_type]
    family = detect_family(ins, outs)
    if family is None:
        raise UserError(
            f"livematte does not recognise the model {model_name} ({signature(ins, outs)}); "
            f"name its family with --model-type {'|'.join(MODEL_TYPES)} or describe it in a "
            "TOML file with --model-spec (see configs/model-custom-example.toml)."
        )
    return BUILTIN_SPECS[family]


# --- TOML spec files ----------------------------------------------------------------------

_TOP_KEYS = {"family", "description", "input", "output"}
_INPUT_KEYS = {
    "name": "input_name",
    "layout": "layout",
    "size": "size",
    "multiple": "multiple",
    "long_side": "long_side",
    "color_order": "color_order",
    "scale": "scale",
    "mean": "mean",
    "std": "std",
    "divide_by_max": "divide_by_max",
}
_OUTPUT_KEYS = {
    "name": "output_name",
    "layout": "output_layout",
    "channel": "channel",
    "type": "output_type",
    "minmax": "minmax",
}


def load_spec_file(path: str | Path) -> ModelSpec:
    """Read a ``--model-spec`` TOML file; every key is checked so typos are reported."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"Model spec file {path} does not exist; check --model-spec.") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"Model spec file {path} is not valid TOML ({error}).") from None
    unknown = [f"{k}" for k in data if k not in _TOP_KEYS]
    fields: dict[str, Any] = {"family": str(data.get("family", "custom"))}
    for section, keys in (("input", _INPUT_KEYS), ("output", _OUTPUT_KEYS)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise UserError(f"Model spec file {path}: [{section}] must be a table of keys.")
        unknown += [f"{section}.{k}" for k in table if k not in keys]
        fields.update({keys[k]: v for k, v in table.items() if k in keys})
    if unknown:
        raise UserError(
            f"Model spec file {path} has unknown keys {', '.join(unknown)}; the keys are "
            f"input.{{{', '.join(_INPUT_KEYS)}}} and output.{{{', '.join(_OUTPUT_KEYS)}}}."
        )
    if fields["family"] == "rvm":
        raise UserError(
            f"Model spec file {path} names family 'rvm'; recurrent models need no spec file, "
            "use --model-type rvm instead."
        )
    return _check_values(fields, f"Model spec file {path}")


def _check_values(fields: dict[str, Any], where: str) -> ModelSpec:
    """Turn raw TOML values into a ModelSpec, one clear sentence per bad value."""
    problems: list[str] = []
    for key, allowed in (
        ("layout", LAYOUTS),
        ("output_layout", LAYOUTS),
        ("color_order", COLOR_ORDERS),
        ("output_type", OUTPUT_TYPES),
    ):
        if key in fields:
            fields[key] = str(fields[key]).upper() if key != "output_type" else str(fields[key])
            if fields[key] not in allowed:
                problems.append(f"{_toml_key(key)} must be one of {', '.join(allowed)}")
    for key in ("mean", "std"):
        if key in fields:
            value = fields[key]
            if not (_is_list(value, 3) and all(_is_number(v) for v in value)):
                problems.append(f"input.{key} must be a list of 3 numbers")
            else:
                fields[key] = tuple(float(v) for v in value)
    if "std" in fields and isinstance(fields["std"], tuple) and 0.0 in fields["std"]:
        problems.append("input.std must not contain 0")
    if "size" in fields:
        value = fields["size"]
        if not (_is_list(value, 2) and all(_is_positive_int(v) for v in value)):
            problems.append("input.size must be [height, width] in pixels, or left out")
        else:
            fields["size"] = (value[0], value[1])
    for key in ("multiple", "long_side"):
        if key in fields and not _is_positive_int(fields[key]):
            problems.append(f"input.{key} must be a positive integer")
    if "channel" in fields and not (isinstance(fields["channel"], int) and fields["channel"] >= 0):
        problems.append("output.channel must be an integer >= 0")
    if "scale" in fields:
        if not _is_number(fields["scale"]) or fields["scale"] == 0:
            problems.append("input.scale must be a non-zero number")
        else:
            fields["scale"] = float(fields["scale"])
    for key in ("input_name", "output_name"):
        if key in fields and not isinstance(fields[key], str):
            problems.append(f"{_toml_key(key)} must be a string")
    for key in ("divide_by_max", "minmax"):
        if key in fields and not isinstance(fields[key], bool):
            problems.append(f"{_toml_key(key)} must be true or false")
    if problems:
        raise UserError(f"{where}: {'; '.join(problems)}.")
    return ModelSpec(**fields)


def _toml_key(field: str) -> str:
    for section, keys in (("input", _INPUT_KEYS), ("output", _OUTPUT_KEYS)):
        for key, name in keys.items():
            if name == field:
                return f"{section}.{key}"
    return field


def _is_list(value: Any, length: int) -> bool:
    return isinstance(value, list) and len(value) == length


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# --- checking a spec against the loaded graph ------------------------------------------


def resolve_spec(
    spec: ModelSpec, model_name: str, ins: Sequence[TensorInfo], outs: Sequence[TensorInfo]
) -> ModelSpec:
    """Check ``spec`` against the graph and fill in names, size and dtype from it.

    Every mismatch is collected and reported together in one UserError, naming the
    tensor, what the graph has and what the description says.
    """
    problems: list[str] = []
    inputs = {t.name: t for t in ins}
    outputs = {t.name: t for t in outs}
    if spec.recurrent:
        problems += _rvm_problems(inputs, outputs)
        if problems:
            _fail(spec, model_name, ins, outs, problems)
        src = inputs["src"]
        return dataclasses.replace(spec, dtype=FLOAT_TYPES.get(src.type, "float32"))

    image = _pick(spec.input_name, inputs, "input", problems)
    out = _pick(spec.output_name, outputs, "output", problems)
    if image is None or out is None:
        _fail(spec, model_name, ins, outs, problems)
    assert image is not None and out is not None
    others = [str(t) for t in ins if t.name != image.name]
    if others:
        problems.append(f"the model has other inputs livematte cannot feed: {', '.join(others)}")
    size = _input_problems(spec, image, problems)
    output_layout = spec.output_layout or spec.layout
    _output_problems(spec, out, output_layout, problems)
    _channel_problems(spec, out, output_layout, problems)
    if problems:
        _fail(spec, model_name, ins, outs, problems)
    return dataclasses.replace(
        spec,
        input_name=image.name,
        output_name=out.name,
        output_layout=output_layout,
        size=size,
        dtype=FLOAT_TYPES[image.type],
    )


def _fail(
    spec: ModelSpec,
    model_name: str,
    ins: Sequence[TensorInfo],
    outs: Sequence[TensorInfo],
    problems: list[str],
) -> None:
    family = detect_family(ins, outs)
    if family is not None and family != spec.family:
        fix = f"it looks like a {family} model, so use --model-type {family} or a --model-spec file"
    else:
        fix = "fix the --model-spec file or pick another --model-type"
    raise UserError(
        f"Model {model_name} does not match the {spec.family} description: {'; '.join(problems)} "
        f"(the model has {signature(ins, outs)}); {fix}."
    )


def _pick(
    wanted: str | None, tensors: dict[str, TensorInfo], kind: str, problems: list[str]
) -> TensorInfo | None:
    if wanted is None:
        if len(tensors) == 1 or (kind == "output" and tensors):
            return next(iter(tensors.values()))
        problems.append(f"the model has {len(tensors)} {kind}s, so the description must name one")
        return None
    if wanted not in tensors:
        names = ", ".join(map(repr, tensors))
        problems.append(f"there is no {kind} named {wanted!r} (there are {names})")
        return None
    return tensors[wanted]


def _input_problems(
    spec: ModelSpec, image: TensorInfo, problems: list[str]
) -> tuple[int, int] | None:
    """Check the image input; return the fixed (h, w) to use, or None for dynamic."""
    if image.type not in FLOAT_TYPES:
        problems.append(f"input {image.name!r} is {image.type}; livematte feeds float32 or float16")
    if len(image.shape) != 4:
        problems.append(f"input {image.name!r} has {len(image.shape)} dimensions, not 4")
        return spec.size
    channels = _channels(image, spec.layout)
    if isinstance(channels, int) and channels != 3:
        other = "NHWC" if spec.layout == "NCHW" else "NCHW"
        hint = ""
        if _channels(image, other) == 3:
            hint = f'; its shape looks {other}, so set layout = "{other}"'
        problems.append(
            f"input {image.name!r} has {channels} channels where layout {spec.layout} "
            f"puts them{hint}"
        )
        return spec.size
    if isinstance(image.shape[0], int) and image.shape[0] != 1:
        problems.append(f"input {image.name!r} has batch size {image.shape[0]}, livematte feeds 1")
    hw = image.shape[2:] if spec.layout == "NCHW" else image.shape[1:3]
    fixed = tuple(d for d in hw if isinstance(d, int))
    if spec.size is not None:
        if len(fixed) == 2 and fixed != spec.size:
            problems.append(
                f"input {image.name!r} is {fixed[0]}x{fixed[1]} (height x width) but the "
                f"description says size = [{spec.size[0]}, {spec.size[1]}]"
            )
        return spec.size
    if len(fixed) == 2:
        return (fixed[0], fixed[1])
    return None


def _output_problems(spec: ModelSpec, out: TensorInfo, layout: str, problems: list[str]) -> None:
    integer = out.type.startswith("tensor(int") or out.type.startswith("tensor(uint")
    if spec.output_type == "labels" and not integer and out.type not in FLOAT_TYPES:
        problems.append(f"output {out.name!r} is {out.type}, not class labels")
    if spec.output_type != "labels" and integer:
        problems.append(
            f"output {out.name!r} is {out.type}, which holds class labels; "
            'set output.type = "labels"'
        )
    if len(out.shape) not in (3, 4):
        problems.append(f"output {out.name!r} has {len(out.shape)} dimensions, not 3 or 4")
        return
    channels = _channels(out, layout) if len(out.shape) == 4 else 1
    if spec.output_type == "labels":
        return
    if isinstance(channels, int) and spec.person_channel >= channels:
        problems.append(
            f"output {out.name!r} has {channels} channel(s) in layout {layout} but the description "
            f"reads channel {spec.person_channel}"
        )
    if spec.output_type == "softmax" and channels == 1:
        problems.append(f"output {out.name!r} has one channel, so it is no softmax over classes")


def _channel_problems(spec: ModelSpec, out: TensorInfo, layout: str, problems: list[str]) -> None:
    """A description must name the person's channel wherever there is more than one."""
    if spec.channel is not None or len(out.shape) not in (3, 4):
        return
    if spec.output_type == "labels":
        problems.append(
            f"output {out.name!r} holds class labels but the description does not say which "
            "class is the person (output.channel)"
        )
        return
    channels = _channels(out, layout) if len(out.shape) == 4 else 1
    if isinstance(channels, int) and channels > 1:
        problems.append(
            f"output {out.name!r} has {channels} channels in layout {layout} but the description "
            f"reads a one-channel {spec.output_type} output and does not say which channel is "
            "the person (output.channel)"
        )


def _rvm_problems(inputs: dict[str, TensorInfo], outputs: dict[str, TensorInfo]) -> list[str]:
    problems = []
    missing_in = [n for n in RVM_INPUTS if n not in inputs]
    missing_out = [n for n in RVM_OUTPUTS if n not in outputs]
    if missing_in:
        problems.append(f"inputs {', '.join(missing_in)} are missing")
    if missing_out:
        problems.append(f"outputs {', '.join(missing_out)} are missing")
    extra = [n for n in inputs if n not in RVM_INPUTS]
    if extra:
        problems.append(f"inputs {', '.join(extra)} are not in Robust Video Matting's signature")
    src = inputs.get("src")
    if src is not None and (src.type not in FLOAT_TYPES or _channels(src, "NCHW") not in (3, None)):
        problems.append(f"input 'src' is {src}, expected [1,3,H,W] float32 or float16")
    ratio = inputs.get("downsample_ratio")
    if ratio is not None and ratio.type != "tensor(float)":
        problems.append(f"input 'downsample_ratio' is {ratio.type}, expected float32")
    return problems
