"""Where TensorRT keeps the engines it builds, so a second start does not build them again.

Building an engine takes from seconds to minutes. onnxruntime's TensorRT provider can
save each engine and load it next time; livematte gives every model and precision its
own folder under the user's cache (``$XDG_CACHE_HOME/livematte/tensorrt``, by default
``~/.cache/livematte/tensorrt``), named by a hash of the model file's bytes, so an edited
model never loads a stale engine. Inside, onnxruntime names each engine by its subgraph
and records the input shapes it was built for beside it: a frame size outside them
builds (and saves) a new engine once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import UserError


def cache_root() -> Path:
    """livematte's folder in the user's cache (XDG base directory rules)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "livematte"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """The file's SHA-256, in hex, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as model:
        while block := model.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def model_digest(path: str | Path) -> str:
    """The first 16 hex digits of the model file's SHA-256."""
    return file_sha256(path)[:16]


def engine_folder(path: str | Path, fp16: bool) -> Path:
    """The folder for this model's engines at this precision, created if needed."""
    folder = cache_root() / "tensorrt" / f"{model_digest(path)}-{'fp16' if fp16 else 'fp32'}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"Cannot create the TensorRT engine cache {folder} ({error.strerror}); set "
            "XDG_CACHE_HOME to a writable folder."
        ) from None
    return folder
