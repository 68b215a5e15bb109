"""Matting models behind one interface; ``create_matter`` picks one from the config."""

from __future__ import annotations

from pathlib import Path

from ..config import ModelConfig
from ..errors import UserError
from .base import Matte, Matter

__all__ = ["Matte", "Matter", "create_matter"]

# The models shipped in the mediapipe wheel: the per-shot choice and pose, then selfie under
# its names (old ones included; the last two name a variant).
CHOOSING = ("auto", "pose", "default")
SELFIE = ("selfie", "mediapipe", "mediapipe-selfie", "mediapipe-general", "mediapipe-landscape")
BUILT_IN = CHOOSING + SELFIE


def create_matter(config: ModelConfig) -> Matter:
    """Build the model the user asked for: "auto" (default: selfie or pose per shot, or
    MODNet steered by them at quality best), "selfie" ("mediapipe" is its old name),
    "pose", "modnet" or a .onnx file."""
    name = config.name
    if name in ("auto", "default") and config.quality != "fast":
        from .quality import create_quality_matter

        return create_quality_matter(config, create_matter)
    if name == "modnet":
        from .modnet import load_modnet

        return load_modnet(config)
    if name in BUILT_IN:
        from .mediapipe_selfie import MediaPipeSelfie

        refuse_accelerator_options(config)
        variant = name.split("-", 1)[1] if name in SELFIE[3:] else config.variant
        selfie = MediaPipeSelfie(variant, threads=config.threads or 1)
        if name in SELFIE:
            return selfie
        from .auto import AutoMatter
        from .pose import PoseTracker

        tracker = PoseTracker(config.threads or 1)
        return AutoMatter(selfie, tracker, "pose" if name == "pose" else "auto")
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
        f"Unknown model '{name}'; use auto (the default), selfie, pose, modnet or the path of "
        "a .onnx file."
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
