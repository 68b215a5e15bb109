"""Matting models behind one interface; ``create_matter`` picks one from the config."""

from __future__ import annotations

from pathlib import Path

from ..config import ModelConfig
from ..errors import UserError
from .base import Matte, Matter

__all__ = ["Matte", "Matter", "create_matter"]

# The model shipped in the mediapipe wheel; the last two name a variant.
BUILT_IN = ("mediapipe", "mediapipe-selfie", "default", "mediapipe-general", "mediapipe-landscape")


def create_matter(config: ModelConfig) -> Matter:
    """Build the model the user asked for: "mediapipe" (default) or a .onnx file."""
    name = config.name
    if name in BUILT_IN:
        from .mediapipe_selfie import MediaPipeSelfie

        refuse_accelerator_options(config)
        variant = name.split("-", 1)[1] if name in BUILT_IN[3:] else config.variant
        return MediaPipeSelfie(variant, threads=config.threads or 1)
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
        f"Unknown model '{name}'; use 'mediapipe' (the default) or the path of a .onnx file."
    )


def refuse_accelerator_options(config: ModelConfig) -> None:
    """The built-in model runs on LiteRT's CPU: --device and --precision must not be ignored."""
    if config.device not in ("auto", "cpu"):
        raise UserError(
            f"The built-in model runs on the CPU through LiteRT, so --device {config.device} "
            f"does not apply to it; to run on {config.device}, give an ONNX model: --model "
            f"path/to/model.onnx --device {config.device}."
        )
    if config.precision != "auto":
        raise UserError(
            "The built-in model runs on the CPU through LiteRT in its own precision, so "
            f"--precision {config.precision} does not apply to it; --precision is for ONNX "
            "models (--model path/to/model.onnx)."
        )
