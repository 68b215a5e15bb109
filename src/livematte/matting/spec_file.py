"""``--model-spec`` files: a TOML description of an ONNX model the graph alone does not
identify. Each table is declared once below (types, ranges, choices); every key is checked,
so a typo is reported rather than ignored, and every bad value is named in one sentence."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from ..errors import UserError
from ..schema import describe
from .model_spec import ModelSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _no_zero(values: list[float]) -> list[float]:
    if 0.0 in values:
        raise ValueError("must not contain 0")
    return values


def _non_zero(value: float) -> float:
    if value == 0:
        raise ValueError("must be a non-zero number")
    return value


_STRICT_TABLE = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
_Layout = Annotated[Literal["NCHW", "NHWC"], BeforeValidator(_upper)]
_Three = Annotated[
    list[float], Field(min_length=3, max_length=3, description="a list of 3 numbers")
]
_Positive = Annotated[int, Field(gt=0, description="a positive integer")]


class _InputTable(BaseModel):
    """[input]: how a frame becomes the model's input tensor (see ModelSpec)."""

    model_config = _STRICT_TABLE
    name: str | None = None
    layout: _Layout = "NCHW"
    size: Annotated[
        list[_Positive] | None,
        Field(min_length=2, max_length=2, description="[height, width] in pixels, or left out"),
    ] = None
    multiple: _Positive = 32
    long_side: _Positive = 512
    color_order: Annotated[Literal["RGB", "BGR"], BeforeValidator(_upper)] = "RGB"
    scale: Annotated[float, AfterValidator(_non_zero)] = 1.0 / 255.0
    mean: _Three = [0.0, 0.0, 0.0]
    std: Annotated[_Three, AfterValidator(_no_zero)] = [1.0, 1.0, 1.0]
    divide_by_max: bool = False


class _OutputTable(BaseModel):
    """[output]: where the person is in the model's output (see ModelSpec)."""

    model_config = _STRICT_TABLE
    name: str | None = None
    layout: _Layout | None = None
    channel: Annotated[int, Field(ge=0, description="an integer >= 0")] | None = None
    type: Literal["probability", "softmax", "logits", "labels"] = "probability"
    minmax: bool = False


class _SpecFile(BaseModel):
    model_config = _STRICT_TABLE
    family: str = "custom"
    description: str = ""
    input: _InputTable = _InputTable()
    output: _OutputTable = _OutputTable()


# TOML key → ModelSpec field, per table.
_INPUT_KEYS = {"name": "input_name", "size": "size", "mean": "mean", "std": "std"}
_OUTPUT_KEYS = {"name": "output_name", "layout": "output_layout", "type": "output_type"}


def load_spec_file(path: str | Path) -> ModelSpec:
    """Read a ``--model-spec`` TOML file; every key is checked so typos are reported."""
    path = Path(path)
    where = f"Model spec file {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{where} does not exist; check --model-spec.") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{where} is not valid TOML ({error}).") from None
    for section in ("input", "output"):
        if not isinstance(data.get(section, {}), dict):
            raise UserError(f"{where}: [{section}] must be a table of keys.")
    try:
        spec = _SpecFile.model_validate(data)
    except ValidationError as error:
        raise UserError(_spec_problems(where, error)) from None
    if spec.family == "rvm":
        raise UserError(
            f"{where} names family 'rvm'; recurrent models need no spec file, "
            "use --model-type rvm instead."
        )
    fields: dict[str, Any] = {"family": spec.family}
    for table, renamed in ((spec.input, _INPUT_KEYS), (spec.output, _OUTPUT_KEYS)):
        for key in table.model_fields_set:
            value = getattr(table, key)
            fields[renamed.get(key, key)] = tuple(value) if isinstance(value, list) else value
    return ModelSpec(**fields)


def _spec_problems(where: str, error: ValidationError) -> str:
    """One sentence for everything wrong in a spec file: unknown keys first, then values."""
    details = error.errors()
    unknown = [".".join(map(str, d["loc"])) for d in details if d["type"] == "extra_forbidden"]
    if unknown:
        keys = [
            f"{section}.{{{', '.join(table.model_fields)}}}"
            for section, table in (("input", _InputTable), ("output", _OutputTable))
        ]
        return f"{where} has unknown keys {', '.join(unknown)}; the keys are {' and '.join(keys)}."
    found = {
        dotted: f"{dotted} {must}"
        for dotted, must, _ in (describe(detail, _SpecFile) for detail in details)
    }
    return f"{where}: {'; '.join(found.values())}."
