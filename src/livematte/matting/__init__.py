"""Matting models behind one interface; ``create_matter`` picks one from the config."""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import ModelConfig
from ..errors import UserError
from .base import Matte, Matter

__all__ = ["Matte", "Matter", "create_matter"]

log = logging.getLogger("livematte")

# The built-in models (ONNX files inside the package): the per-shot choice, pose, selfie.
CHOOSING = ("auto", "pose")
SELFIE = "selfie"
BUILT_IN = (*CHOOSING, SELFIE)
# Salient objects (products, pets, things): U²-Net-p, packaged as an ONNX file.
OBJECT = "object"
OBJECT_FILE = "u2netp.onnx"


def create_matter(config: ModelConfig) -> Matter:
    """Build the model the user asked for: "auto" (default: selfie or pose per shot, or
    MODNet steered by them at quality best), "selfie", "pose", "modnet", "object" or a
    .onnx file."""
    name = config.name
    if name == OBJECT:
        return _object_matter(config)
    if name == "auto" and config.quality != "fast":
        from .quality import create_quality_matter

        return create_quality_matter(config, create_matter)
    if name == "modnet":
        from .modnet import load_modnet

        return load_modnet(config)
    if name in BUILT_IN:
        return _built_in(config)
    path = Path(name)
    if path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise UserError(f"Model file {name} does not exist; check the path.")
        from .onnx_matter import load_onnx_matter

        return load_onnx_matter(
            str(path),
            model_type=config.type or None,
            spec_path=config.spec or None,
            device=config.device,
            threads=config.threads or None,
            downsample_ratio=config.downsample_ratio or None,
            precision=config.precision,
        )
    raise UserError(
        f"Unknown model '{name}'; use auto (the default), selfie, pose, modnet, object or the "
        "path of a .onnx file."
    )


def _object_matter(config: ModelConfig) -> Matter:
    """U²-Net-p on any device onnxruntime offers, with the authors' preprocessing."""
    if config.type or config.spec:
        raise UserError(
            "--model object is a built-in model with its own description; drop --model-type "
            "and --model-spec (they are for .onnx files)."
        )
    if config.downsample_ratio:
        raise UserError(
            "--downsample-ratio sets Robust Video Matting's inner resolution; --model object "
            "takes none, so drop it."
        )
    from .builtin import model_path
    from .onnx_matter import load_onnx_matter

    return load_onnx_matter(
        str(model_path(OBJECT_FILE)),
        model_type="u2netp",
        device=config.device,
        threads=config.threads or None,
        precision=config.precision,
    )


def _built_in(config: ModelConfig) -> Matter:
    """Selfie, pose or the per-shot choice, every session on the device the user asked for
    (one thread on the CPU unless told otherwise: the codec needs the other core)."""
    from .auto import AutoMatter
    from .pose import PoseTracker
    from .providers import thread_note
    from .selfie import Selfie

    name, threads = config.name, config.threads or 1
    selfie = Selfie(
        config.variant, threads=threads, device=config.device, precision=config.precision
    )
    if name == SELFIE:
        matter: Matter = selfie
    else:
        tracker = PoseTracker((config.device, threads, config.precision))
        matter = AutoMatter(selfie, tracker, "pose" if name == "pose" else "auto")
    where = selfie.opened.describe(*thread_note(selfie.device, threads))
    # The default run on a CPU-only install stays quiet (its summary names the provider); a
    # device asked for, or an accelerator found, is said at once.
    quiet = config.device == "auto" and selfie.device == "cpu"
    log.log(logging.DEBUG if quiet else logging.INFO, "model %s on %s", name, where)
    return matter
