"""Which onnxruntime execution provider runs the model, and why.

onnxruntime quietly falls back to the CPU when a GPU provider cannot load; livematte
never does that silently. ``--device cuda`` or ``tensorrt`` either gets that device or
raises a :class:`UserError` that says what is missing and how to fix it; ``--device auto``
tries TensorRT, then CUDA, then the CPU, and records why each faster one was skipped so
the pipeline can say so. Also here: the check for the broken state where both
``onnxruntime`` and ``onnxruntime-gpu`` are installed, and the intra-op thread count.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import logging
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..config import CHOICES
from ..errors import UserError

log = logging.getLogger("livematte")

DEVICES = CHOICES["model.device"]
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
LABELS = {"tensorrt": "TensorRT", "cuda": "CUDA", "cpu": "CPU"}
# Each of these ships its own copy of the `onnxruntime` Python package.
RUNTIME_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
)
GPU_FIX = "pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'livematte[gpu]'"


@dataclass
class OpenedSession:
    """A session plus the device it really runs on and why faster ones were not used."""

    session: Any
    device: str
    # reason -> the devices skipped for it (none for a general note)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, label: str | None = None) -> None:
        self.skipped.setdefault(reason, []).extend([label] if label else [])

    def describe(self) -> str:
        """``cuda`` or e.g. ``cpu (TensorRT and CUDA not used: ...)`` for the device report."""
        notes = [
            f"{' and '.join(labels)} not used: {reason}" if labels else reason
            for reason, labels in self.skipped.items()
        ]
        return self.device + (f" ({'; '.join(notes)})" if notes else "")


# --- packaging ---------------------------------------------------------------------------


def installed_runtimes() -> list[str]:
    """The onnxruntime distributions pip has installed (each one owns ``onnxruntime/``)."""
    found = []
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def runtime_conflict() -> str | None:
    """Explain the broken state of two onnxruntime distributions installed together."""
    found = installed_runtimes()
    if len(found) < 2:
        return None
    return (
        f"{' and '.join(found)} are all installed, but they unpack into the same onnxruntime "
        "folder and overwrite each other, so whichever was installed last decides which "
        f"devices work and uninstalling either breaks the other; keep exactly one: {GPU_FIX} "
        "(or 'livematte[cpu]' on a machine without an NVIDIA GPU)"
    )


def import_onnxruntime() -> ModuleType:
    """Import onnxruntime, or say which extra to install (or which conflict to fix)."""
    try:
        import onnxruntime
    except ImportError as error:
        conflict = runtime_conflict()
        if conflict:
            raise UserError(f"onnxruntime does not import ({error}): {conflict}.") from None
        raise UserError(
            "ONNX models need onnxruntime, which is not installed; install "
            "'livematte[gpu]' on a machine with an NVIDIA GPU or 'livematte[cpu]' otherwise."
        ) from None
    conflict = runtime_conflict()
    if conflict:
        log.warning("%s.", conflict[0].upper() + conflict[1:])
    return onnxruntime


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


def provider_list(device: str) -> list[Any]:
    """Providers for one device, best first; the CPU always takes ops others cannot."""
    if device == "tensorrt":
        cache = os.path.join(os.path.expanduser("~"), ".cache", "livematte", "tensorrt")
        trt = {"trt_engine_cache_enable": True, "trt_engine_cache_path": cache}
        return [(PROVIDERS["tensorrt"], trt), PROVIDERS["cuda"], PROVIDERS["cpu"]]
    if device == "cuda":
        return [PROVIDERS["cuda"], PROVIDERS["cpu"]]
    return [PROVIDERS["cpu"]]


def candidates(device: str, available: list[str]) -> list[str]:
    """Devices to try in order. ``auto``: TensorRT, CUDA, CPU, whichever the build has."""
    if device not in DEVICES:
        raise UserError(f"Unknown --device {device!r}; choose one of {', '.join(DEVICES)}.")
    if device == "auto":
        return [d for d in ("tensorrt", "cuda") if PROVIDERS[d] in available] + ["cpu"]
    return [device]


def _cuda_versions(ort: ModuleType) -> tuple[list[str], str]:
    """CUDA major versions this build may use, and its cuDNN major version."""
    try:
        from onnxruntime.capi import build_and_package_info as info
    except ImportError:
        info = None
    cuda = str(getattr(info, "cuda_version", "") or "")
    cudnn = str(getattr(info, "cudnn_version", "") or "")
    return ([cuda.split(".")[0]] if cuda else ["13", "12"]), (cudnn.split(".")[0] or "9")


def _library_names(cuda: str, cudnn: str) -> list[str]:
    if sys.platform == "win32":
        return [f"cudart64_{cuda}.dll", f"cublas64_{cuda}.dll", f"cudnn64_{cudnn}.dll"]
    return [f"libcudart.so.{cuda}", f"libcublas.so.{cuda}", f"libcudnn.so.{cudnn}"]


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_gpu_libraries(ort: ModuleType) -> list[str]:
    """The NVIDIA driver or CUDA/cuDNN libraries the CUDA provider needs but cannot find."""
    driver = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    if not _loads(driver):
        return [driver]
    cuda_majors, cudnn = _cuda_versions(ort)
    best: list[str] | None = None
    for cuda in cuda_majors:
        missing = [name for name in _library_names(cuda, cudnn) if not _loads(name)]
        if best is None or len(missing) < len(best):
            best = missing
    return best or []


def _preload_gpu_libraries(ort: ModuleType) -> None:
    """Let onnxruntime load CUDA and cuDNN from the nvidia-* wheels of the gpu extra."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception as error:  # noqa: BLE001 - a failed preload shows up as a provider failure
        log.debug("onnxruntime.preload_dlls failed: %s", error)


def gpu_failure_reason(ort: ModuleType, device: str) -> str:
    """Why a GPU provider that the build has did not load, and how to fix it."""
    missing = missing_gpu_libraries(ort)
    if missing and missing[0] in ("libcuda.so.1", "nvcuda.dll"):
        return (
            f"no NVIDIA driver was found ({missing[0]} does not load), so there is no usable "
            "NVIDIA GPU; install the NVIDIA driver"
        )
    if missing:
        return (
            f"the CUDA/cuDNN libraries {', '.join(missing)} were not found; install them with "
            "pip install 'livematte[gpu]' (onnxruntime-gpu[cuda,cudnn] brings them as "
            "nvidia-* wheels), or install CUDA and cuDNN yourself and add their lib folders "
            "to LD_LIBRARY_PATH (PATH on Windows)"
        )
    if device == "tensorrt":
        return (
            "the TensorRT libraries (libnvinfer) did not load; install TensorRT (pip install "
            "tensorrt) matching this onnxruntime-gpu, or use --device cuda"
        )
    return (
        "the CUDA libraries load, so the driver may be too old for this onnxruntime-gpu's "
        "CUDA version (run nvidia-smi and update the driver); onnxruntime's own error is "
        "printed above"
    )


def no_provider_reason(ort: ModuleType, device: str) -> str:
    """Why the installed onnxruntime build has no provider for ``device`` at all."""
    runtimes = ", ".join(installed_runtimes()) or "onnxruntime"
    have = ", ".join(ort.get_available_providers())
    conflict = runtime_conflict()
    if conflict:
        return conflict
    if device == "tensorrt" and PROVIDERS["cuda"] in ort.get_available_providers():
        return f"the installed {runtimes} has no TensorRT provider (only {have}); use --device cuda"
    return (
        f"the installed {runtimes} is a CPU-only build (its providers are {have}); to use an "
        f"NVIDIA GPU replace it with the GPU build: {GPU_FIX}"
    )


def first_line_of(error: BaseException) -> str:
    """onnxruntime's messages run to many lines; the first says what went wrong."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def open_session(path: str, device: str = "auto", threads: int | None = None) -> OpenedSession:
    """Create an InferenceSession on ``device``; never fall back without saying why."""
    ort = import_onnxruntime()
    available = list(ort.get_available_providers())
    options = session_options(ort, threads)
    opened = OpenedSession(None, device)
    if device == "auto" and not any(PROVIDERS[d] in available for d in ("cuda", "tensorrt")):
        opened.skip("this onnxruntime has no GPU provider; 'livematte[gpu]' adds NVIDIA GPUs")
    for choice in candidates(device, available):
        label = LABELS[choice]
        if choice != "cpu":
            if PROVIDERS[choice] not in available:
                reason = no_provider_reason(ort, choice)
                raise UserError(f"--device {choice} cannot be used: {reason}.")
            _preload_gpu_libraries(ort)
        try:
            session = ort.InferenceSession(
                path, sess_options=options, providers=provider_list(choice)
            )
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
            first_line = first_line_of(error)
            if choice == "cpu":
                raise UserError(
                    f"onnxruntime cannot load the model {path} ({first_line.rstrip('.')}); "
                    "check that it is a complete .onnx file (re-export or re-download it)."
                ) from None
            reason = f"onnxruntime failed to start it: {first_line}"
        else:
            if session.get_providers()[0] == PROVIDERS[choice]:
                opened.session, opened.device = session, choice
                return opened
            reason = gpu_failure_reason(ort, choice)
        if device != "auto":
            raise UserError(
                f"--device {choice} was asked for but {label} cannot be used: {reason}; "
                "to run without it, use --device cpu."
            )
        opened.skip(reason, label)
    raise AssertionError("unreachable: the CPU candidate either returns or raises")
