"""Matting models behind one interface; ``create_matter`` picks one from the config."""

from __future__ import annotations

from pathlib import Path

from ..config import ModelConfig
from ..errors import UserError
from .base import Matte, Matter

__all__ = ["Matte", "Matter", "create_matter"]


def create_matter(config: ModelConfig) -> Matter:
    """Build the model the user asked for: "auto" (default: selfie or pose per shot),
    "selfie" ("mediapipe" is its old name), "pose" or a .onnx file."""
    name = config.name
    if name in ("auto", "pose", "default"):
        from .auto import AutoMatter
        from .mediapipe_selfie import MediaPipeSelfie
        from .pose import PoseTracker

        threads = config.threads or 1
        selfie = MediaPipeSelfie(config.variant, threads=threads)
        return AutoMatter(selfie, PoseTracker(threads), "pose" if name == "pose" else "auto")
    if name in ("selfie", "mediapipe", "mediapipe-selfie"):
        from .mediapipe_selfie import MediaPipeSelfie

        return MediaPipeSelfie(config.variant, threads=config.threads or 1)
    if name in ("mediapipe-general", "mediapipe-landscape"):
        from .mediapipe_selfie import MediaPipeSelfie

        return MediaPipeSelfie(name.split("-", 1)[1], threads=config.threads or 1)
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
        )
    raise UserError(
        f"Unknown model '{name}'; use auto (the default), selfie, pose or the path of a .onnx file."
    )
