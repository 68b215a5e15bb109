"""Settings checked against the constraints their declarations carry.

A setting declares its type and range where it is defined (``Annotated[float, Field(ge=0,
lt=1)]``, ``Literal[...]`` for a choice), and pydantic checks values against that one
declaration: a config file's, a flag's, a caller's Config, a model description's. This
module turns pydantic's findings into the one sentence livematte gives for each problem:
what the setting must be, and what it was.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

# Types as written (no "3" for an int, no 1 for a bool; an int is a float), every float a
# number (inf or nan would overflow or poison the maths), a Config's fields checked again
# each time (callers change them between runs).
STRICT = ConfigDict(strict=True, revalidate_instances="always", allow_inf_nan=False)

_TYPE_WORDS = {
    "int_type": "an int",
    "float_type": "a float",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "finite_number": "a finite number",
    "dataclass_type": "a table",
    "dict_type": "a table",
    "model_type": "a table",
}


@functools.cache
def _adapter(declared: Any) -> TypeAdapter[Any]:
    # A dataclass carries its own config (``__pydantic_config__ = STRICT``).
    return TypeAdapter(declared, config=None if dataclasses.is_dataclass(declared) else STRICT)


def problems(declared: Any, value: Any) -> list[tuple[str, str, Any]]:
    """Each problem with ``value`` against the type ``declared`` (a dataclass, a pydantic
    model, or an annotation such as ``Annotated[float, Field(ge=0)]``), as (dotted setting,
    what it must be: "must be an int", "must not contain 0", what it was); the setting is ""
    for a value that is not inside a dataclass or model."""
    try:
        _adapter(declared).validate_python(value)
    except ValidationError as error:
        return [describe(detail, declared) for detail in error.errors()]
    return []


def describe(detail: Mapping[str, Any], declared: Any) -> tuple[str, str, Any]:
    """(dotted setting, what it must be, what it was) for one finding on ``declared``."""
    loc = [part for part in detail["loc"] if isinstance(part, str)]
    annotation = _annotation_at(declared, loc) if loc else declared
    return ".".join(loc), predicate(detail, annotation), detail["input"]


def predicate(detail: Mapping[str, Any], annotation: Any = None) -> str:
    """What a value must be ("must be one of a, b", "must be in [0, 1)") for one pydantic
    finding; a field's ``Field(description=...)`` words it where the type alone cannot, and
    a validator's ValueError gives its own ("must not contain 0")."""
    kind, ctx = detail["type"], detail.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind == "literal_error":
        return "must be one of " + ", ".join(
            choices_of(annotation) or [str(ctx.get("expected", ""))]
        )
    described = _description(annotation)
    if described:
        return f"must be {described}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "must be " + range_phrase(_bounds(annotation) or ctx)
    return "must be " + _TYPE_WORDS.get(
        kind, detail["msg"].removeprefix("Input should be ").lower()
    )


def range_phrase(bounds: dict[str, Any]) -> str:
    """ "in [0, 1)", "between 2 and 200", "0 or more", "above 0" for a number's bounds."""
    low = next(((k, bounds[k]) for k in ("ge", "gt") if k in bounds), None)
    high = next(((k, bounds[k]) for k in ("le", "lt") if k in bounds), None)
    if low and high:
        if low[0] == "ge" and high[0] == "le":
            return f"between {low[1]:g} and {high[1]:g}"
        left, right = "[" if low[0] == "ge" else "(", "]" if high[0] == "le" else ")"
        return f"in {left}{low[1]:g}, {high[1]:g}{right}"
    if low:
        return f"{low[1]:g} or more" if low[0] == "ge" else f"above {low[1]:g}"
    if high:
        return f"at most {high[1]:g}" if high[0] == "le" else f"below {high[1]:g}"
    return "in range"


def choices_of(annotation: Any) -> tuple[str, ...] | None:
    """The values a ``Literal`` setting takes (None for other settings)."""
    base = base_type(annotation)
    if typing.get_origin(base) is typing.Literal:
        return tuple(str(value) for value in typing.get_args(base))
    return None


def _bounds(annotation: Any) -> dict[str, Any]:
    """The ge/gt/le/lt bounds a ``Field(...)`` put on the annotation (annotated-types'
    Ge, Gt, Le, Lt each carry one attribute of that name)."""
    found: dict[str, Any] = {}
    for meta in _metadata(annotation):
        for item in getattr(meta, "metadata", [meta]):
            for bound in ("ge", "gt", "le", "lt"):
                if type(item).__name__ == bound.capitalize() and hasattr(item, bound):
                    found[bound] = getattr(item, bound)
    return found


def _description(annotation: Any) -> str | None:
    for meta in _metadata(annotation):
        if isinstance(meta, FieldInfo) and meta.description:
            return meta.description
    return None


def base_type(annotation: Any) -> Any:
    """The type inside ``Annotated[...]``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _metadata(annotation: Any) -> Sequence[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[1:]
    return ()


def _annotation_at(declared: Any, loc: list[str]) -> Any:
    """The declared annotation of the field at ``loc`` inside the dataclass ``declared``."""
    target: Any = declared
    annotation: Any = None
    for name in loc:
        target = base_type(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            info = target.model_fields.get(name)
            annotation = None if info is None else Annotated[info.annotation, info]
        else:
            try:
                hints = typing.get_type_hints(target, include_extras=True)
            except TypeError:
                return None
            annotation = hints.get(name)
        if annotation is None:
            return None
        target = annotation
    return annotation
