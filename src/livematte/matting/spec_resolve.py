"""Which spec drives a loaded ONNX graph, and whether it fits: the description file, the
named family or the family the graph shows, then every mismatch between spec and graph
named at once (a wrong layout or colour order otherwise shows only as a bad matte)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..errors import UserError
from .model_spec import (
    BUILTIN_SPECS,
    FLOAT_TYPES,
    MODEL_TYPES,
    RVM_INPUTS,
    RVM_OUTPUTS,
    ModelSpec,
    TensorInfo,
    channels_of,
    detect_family,
    signature,
)
from .spec_file import load_spec_file


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
    channels = channels_of(image, spec.layout)
    if isinstance(channels, int) and channels != 3:
        other = "NHWC" if spec.layout == "NCHW" else "NCHW"
        hint = ""
        if channels_of(image, other) == 3:
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
    channels = channels_of(out, layout) if len(out.shape) == 4 else 1
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
    channels = channels_of(out, layout) if len(out.shape) == 4 else 1
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
    if src is not None and (
        src.type not in FLOAT_TYPES or channels_of(src, "NCHW") not in (3, None)
    ):
        problems.append(f"input 'src' is {src}, expected [1,3,H,W] float32 or float16")
    ratio = inputs.get("downsample_ratio")
    if ratio is not None and ratio.type != "tensor(float)":
        problems.append(f"input 'downsample_ratio' is {ratio.type}, expected float32")
    return problems
