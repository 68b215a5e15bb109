"""The one JSON writer: strict JSON (NaN as null), written whole or not at all."""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

from ..errors import UserError


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` via a temporary name, so a reader never sees half a file."""
    target = Path(path)
    # A name of its own: two runs writing one report never write into one partial file.
    tmp = target.with_name(f".{target.name}.livematte-partial-{uuid.uuid4().hex[:12]}")
    try:
        text = json.dumps(_nan_to_none(data), indent=2, allow_nan=False)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(
            f"Cannot write {path} ({exc.strerror}); choose a path in a writable folder."
        ) from None


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value
