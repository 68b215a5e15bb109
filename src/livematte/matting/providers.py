"""Which onnxruntime execution provider runs the model, and proof that it does.

onnxruntime quietly falls back to the CPU when a provider cannot load; livematte never
does that silently. After each session is made, the providers it really holds
(``session.get_providers()``) are compared with the request: an explicit ``--device``
that is not active raises a :class:`UserError` naming why and how to fix it, and
``--device auto`` (TensorRT, CUDA, DirectML, CoreML, OpenVINO, whichever this build has,
then the CPU) records why each faster one was not used so the pipeline can say so.
The packages behind each device are in ``runtimes``; ``--precision`` is checked here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..config import DEVICES, PRECISIONS
from ..errors import UserError, reason_of
from . import runtimes
from .engine_cache import engine_folder
from .nvidia import TENSORRT_MISSING, gpu_failure_reason, preload_gpu_libraries
from .runtimes import (
    AUTO_ORDER,
    DEVICE_TABLE,
    LABELS,
    PROVIDERS,
    import_onnxruntime,
    missing_package_reason,
    off_platform_reason,
)

log = logging.getLogger("livematte")

NVIDIA = ("cuda", "tensorrt")


@dataclass
class OpenedSession:
    """A session plus the device it really runs on and why faster ones were not used."""

    session: Any
    device: str
    # reason -> the devices skipped for it (none for a general note)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        """onnxruntime's name for the provider that runs the model."""
        return PROVIDERS[self.device]

    def skip(self, reason: str, label: str | None = None) -> None:
        self.skipped.setdefault(reason, []).extend([label] if label else [])

    def describe(self, *details: str) -> str:
        """``CUDA (CUDAExecutionProvider, fp16)``, plus why faster devices were not used."""
        notes = [
            f"{' and '.join(labels)} not used: {reason}" if labels else reason
            for reason, labels in self.skipped.items()
        ]
        where = f"{LABELS[self.device]} ({', '.join([self.provider, *details])})"
        return where + (f"; {'; '.join(notes)}" if notes else "")


# --- threads -----------------------------------------------------------------------------


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_threads(cores: int | None = None) -> int:
    """Intra-op threads: all cores but one, which stays free for capture and encoding.

    On a 2-core laptop that is one thread for the model. Above 8 threads the small
    segmentation networks stop getting faster, so more would only steal from the encoder.
    """
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores - 1, 8))


def thread_note(device: str, threads: int) -> list[str]:
    """``["1 thread"]`` where onnxruntime's thread count applies (CPU and OpenVINO)."""
    if device not in ("cpu", "openvino"):
        return []
    return [f"{threads} thread{'s' if threads != 1 else ''}"]


def session_options(ort: ModuleType, threads: int | None) -> Any:
    """Options for a latency-bound, one-frame-at-a-time session."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: exporters' benign warnings are noise
    # Spinning worker threads would burn the core that capture and encoding need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


# --- devices -----------------------------------------------------------------------------


def tensorrt_options(path: str, fp16: bool) -> dict[str, Any]:
    """Engines and timing caches saved per model and precision (see ``engine_cache``)."""
    folder = str(engine_folder(path, fp16))
    return {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": folder,
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": folder,
        "trt_fp16_enable": fp16,
    }


def provider_list(
    device: str, path: str = "", precision: str = "auto", threads: int = 0
) -> list[Any]:
    """Providers for one device, best first; the CPU always takes ops others cannot."""
    if device == "openvino" and threads:
        # OpenVINO runs its own thread pool and ignores onnxruntime's intra-op setting.
        return [(PROVIDERS["openvino"], {"num_of_threads": str(threads)}), PROVIDERS["cpu"]]
    if device == "tensorrt":
        trt = tensorrt_options(path, precision == "fp16")
        return [(PROVIDERS["tensorrt"], trt), PROVIDERS["cuda"], PROVIDERS["cpu"]]
    if device == "cpu":
        return [PROVIDERS["cpu"]]
    return [PROVIDERS[device], PROVIDERS["cpu"]]


def candidates(device: str, available: list[str]) -> list[str]:
    """Devices to try in order. ``auto``: the accelerators this build has, then the CPU."""
    if device not in DEVICES:
        raise UserError(f"Unknown --device {device!r}; choose one of {', '.join(DEVICES)}.")
    if device == "auto":
        return [
            d for d in AUTO_ORDER if PROVIDERS[d] in available and off_platform_reason(d) is None
        ] + ["cpu"]
    return [device]


def no_accelerator_note() -> str:
    """For ``auto`` on a CPU-only build: which extra would add an accelerator here."""
    if runtimes.current_platform() == "darwin":
        return "this onnxruntime has no CoreML provider; the standard onnxruntime wheel has it"
    adds: dict[str, str] = {}
    for name in AUTO_ORDER:
        info = DEVICE_TABLE[name]
        if off_platform_reason(name) is None:
            adds.setdefault(info.extra, f"'livematte[{info.extra}]' adds {info.hardware}")
    return f"this onnxruntime has no accelerator provider; {', '.join(adds.values())}"


def fallback_reason(ort: ModuleType, device: str, running: str) -> str:
    """Why a provider that the build has did not come up in the session."""
    if device == "tensorrt" and running == PROVIDERS["cuda"]:
        return TENSORRT_MISSING  # CUDA works, so the GPU and its libraries are fine
    if device in NVIDIA:
        return gpu_failure_reason(ort, device)
    if device == "directml":
        return (
            "onnxruntime-directml found no DirectX 12 GPU it can use; update the GPU driver "
            "(DirectML needs Windows 10 1903 or later)"
        )
    if device == "coreml":
        return "CoreML did not take the model (it needs macOS 10.15 or later)"
    if runtimes.current_platform() == "win32":
        return (
            "onnxruntime-openvino did not find OpenVINO's libraries; install them with "
            "pip install openvino"
        )
    return "OpenVINO did not start on this machine (onnxruntime's own message is above)"


def open_session(
    path: str, device: str = "auto", threads: int | None = None, precision: str = "auto"
) -> OpenedSession:
    """Create an InferenceSession on ``device``; never fall back without saying why."""
    if device in DEVICE_TABLE and (off := off_platform_reason(device)):
        raise UserError(off)
    if precision not in PRECISIONS:
        raise UserError(
            f"Unknown --precision {precision!r}; choose one of {', '.join(PRECISIONS)}."
        )
    ort = import_onnxruntime()
    available = list(ort.get_available_providers())
    options = session_options(ort, threads)
    opened = OpenedSession(None, device)
    choices = candidates(device, available)
    if choices == ["cpu"] and device == "auto":
        opened.skip(no_accelerator_note())
    for choice in choices:
        label = LABELS[choice]
        if choice != "cpu":
            if PROVIDERS[choice] not in available:
                reason = missing_package_reason(choice, available)
                raise UserError(f"--device {choice} cannot be used: {reason}.")
            if choice in NVIDIA:
                preload_gpu_libraries(ort, tensorrt=choice == "tensorrt")
        try:
            chosen = provider_list(choice, path, precision, options.intra_op_num_threads)
            session = ort.InferenceSession(path, sess_options=options, providers=chosen)
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
            first_line = reason_of(error)
            if choice == "cpu":
                raise UserError(
                    f"onnxruntime cannot load the model {path} ({first_line.rstrip('.')}); "
                    "check that it is a complete .onnx file (re-export or re-download it)."
                ) from None
            reason = f"onnxruntime failed to start it: {first_line}"
        else:
            active = list(session.get_providers())
            if active[:1] == [PROVIDERS[choice]]:
                opened.session, opened.device = session, choice
                return opened
            running = active[0] if active else "no provider"
            why = fallback_reason(ort, choice, running)
            reason = f"the session came up on {running} instead: {why}"
        if device != "auto":
            raise UserError(
                f"--device {choice} was asked for but {label} cannot be used: {reason}; "
                "to run without it, use --device cpu."
            )
        opened.skip(reason, label)
    raise AssertionError("unreachable: the CPU candidate either returns or raises")


def exported_precision(model_dtype: str) -> str:
    """``fp16`` for a model whose image input is float16, else ``fp32``."""
    return "fp16" if model_dtype == "float16" else "fp32"


def check_precision(precision: str, device: str, model_dtype: str, model: str) -> None:
    """Refuse a ``--precision`` the chosen device cannot honour for this model.

    TensorRT builds fp16 engines from fp32 models (``trt_fp16_enable``). Every other
    provider runs a model in the precision it was exported in, so there fp16 needs an
    fp16 export; and no device turns an fp16 export back into fp32.
    """
    exported = exported_precision(model_dtype)
    if precision in ("auto", exported) or (precision == "fp16" and device == "tensorrt"):
        return
    if precision == "fp32":
        raise UserError(
            f"--precision fp32 was asked for but {model} is an fp16 export (its input is "
            "float16), which no device runs in fp32; use an fp32 export of it or --precision "
            "auto."
        )
    raise UserError(
        f"--precision fp16 was asked for but {LABELS[device]} runs {model} in fp32, the "
        "precision it was exported in; use --device tensorrt (it builds fp16 engines from "
        "fp32 models) or an fp16 export of the model."
    )
