"""``--quality fast|best|auto``: which matte ``--model auto`` gives, chosen by device.

``fast`` is the selfie or pose model per shot (a segmenter at 256 px, cheap anywhere);
``best`` is MODNet's true matte, steered by the fast model (see :mod:`.best`). ``auto``,
the default, takes ``best`` where the model runs on a GPU or NPU (CUDA, TensorRT, DirectML,
CoreML, OpenVINO on its GPU or NPU) and ``fast`` on a CPU, where MODNet runs a few frames a
second. A quality the user names always wins.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ..config import ModelConfig
from ..errors import UserError
from .base import Matter

log = logging.getLogger("livematte")

QUALITY_MODELS = ("auto",)
"""The model names ``--quality`` chooses for."""

ACCELERATORS = frozenset(
    {
        "CUDAExecutionProvider",
        "TensorrtExecutionProvider",
        "DmlExecutionProvider",
        "CoreMLExecutionProvider",
    }
)
# OpenVINO runs on Intel CPUs too: it counts as an accelerator only on its GPU or NPU,
# written "OpenVINOExecutionProvider:GPU" (the provider, then OpenVINO's device type).
OPENVINO = "OpenVINOExecutionProvider"


def is_accelerator(provider: str) -> bool:
    """Whether onnxruntime's ``provider`` runs the model on a GPU or an NPU."""
    name, _, target = provider.partition(":")
    if name == OPENVINO:
        return target.upper().startswith(("GPU", "NPU"))
    return name in ACCELERATORS


def resolve_quality(quality: str, provider: str) -> str:
    """``fast`` or ``best``: the one named, else ``best`` on an accelerator."""
    if quality in ("fast", "best"):
        return quality
    if quality != "auto":
        raise UserError(f"Setting model.quality must be auto, fast or best, not {quality!r}.")
    return "best" if is_accelerator(provider) else "fast"


def first_provider(device: str) -> str:
    """The provider ``--device`` would try first, without opening a session."""
    from .providers import candidates
    from .runtimes import PROVIDERS, import_onnxruntime

    try:
        available = list(import_onnxruntime().get_available_providers())
    except UserError:  # no onnxruntime: only the fast models can run
        return PROVIDERS["cpu"]
    return PROVIDERS[candidates(device, available)[0]]


def create_quality_matter(config: ModelConfig, fast: Callable[[ModelConfig], Matter]) -> Matter:
    """The matter ``--model auto`` gives at the configured quality; ``fast`` builds the
    selfie/pose matter from a config."""
    fast_config = dataclasses.replace(config, quality="fast")
    quality = resolve_quality(config.quality, first_provider(config.device))
    if quality == "fast":
        return fast(fast_config)
    from .auto import AutoMatter
    from .best import BestMatter
    from .modnet import load_modnet

    modnet = load_modnet(config)
    if config.quality == "auto" and not is_accelerator(modnet.provider):
        # The accelerator did not come up (load_modnet has said why): fast suits the CPU.
        log.info("quality auto: MODNet landed on %s, so the fast matte runs", modnet.provider)
        modnet.close()
        return fast(fast_config)
    if not is_accelerator(modnet.provider):
        log.warning(
            "quality best runs MODNet on the CPU: a few frames a second at 720p (a file run's "
            "progress bar shows the time left; --quality fast keeps up with a camera)"
        )
    # The finder (the fast model) runs on the same device as MODNet.
    finder = fast(fast_config)
    assert isinstance(finder, AutoMatter)
    return BestMatter(modnet, finder)
