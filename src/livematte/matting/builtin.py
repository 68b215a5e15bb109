"""The models that ship inside the livematte package, each run by onnxruntime.

Every built-in model is an ONNX file under ``livematte/models`` (origins, licences and hashes
in ``models/MODELS.md``, the hashes again in ``models/SHA256SUMS``), so nothing is ever
downloaded and every ``--device`` reaches them through the same provider code, with the same
proof, as a user's own ONNX model.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .providers import OpenedSession, check_precision, open_session

SUMS_FILE = "SHA256SUMS"


def models_folder() -> Path:
    """The package's ``models`` folder (a real folder: the package is never zipped)."""
    return Path(str(files("livematte") / "models"))


def model_path(filename: str) -> Path:
    """Path of a built-in model file, or a UserError saying how to repair the install."""
    path = models_folder() / filename
    if not path.is_file():
        raise UserError(
            f"The built-in model file {filename} is missing from the installed livematte "
            f"({path}); reinstall it: pip install --force-reinstall livematte."
        )
    return path


def recorded_hashes() -> dict[str, str]:
    """filename -> sha256 as written in ``models/SHA256SUMS``."""
    text = (models_folder() / SUMS_FILE).read_text()
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


class BuiltinNet:
    """One built-in ONNX file in an onnxruntime session: a fixed-size float input in, its
    outputs looked up by shape (the graph keeps the original model's tensor shapes)."""

    def __init__(
        self, filename: str, device: str = "auto", threads: int | None = 1, precision: str = "auto"
    ) -> None:
        self.filename = filename
        self.opened: OpenedSession = open_session(
            str(model_path(filename)), device, threads, precision
        )
        check_precision(precision, self.opened.device, "float32", filename)
        session = self.opened.session
        (inp,) = session.get_inputs()
        self.input_name: str = inp.name
        self._outputs = [(o.name, tuple(o.shape)) for o in session.get_outputs()]
        self.input = np.empty(tuple(int(d) for d in inp.shape), np.float32)

    @property
    def device(self) -> str:
        return self.opened.device

    @property
    def provider(self) -> str:
        return self.opened.provider

    def output_index(self, shape: tuple[int, ...]) -> int:
        """Position of the output with this shape among :meth:`run`'s results."""
        for index, (_, dims) in enumerate(self._outputs):
            if dims == shape:
                return index
        raise UserError(
            f"The built-in model {self.filename} has no output of shape {shape}; reinstall "
            "livematte: pip install --force-reinstall livematte."
        )

    def run(self) -> list[Any]:
        """Run on :attr:`input` (filled in place by the caller); every output, in order."""
        return self.opened.session.run(None, {self.input_name: self.input})
