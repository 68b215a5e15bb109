"""NVIDIA's libraries: finding them, loading them from pip's wheels, and saying what is missing.

onnxruntime-gpu's CUDA provider needs the driver (libcuda), CUDA and cuDNN of the major
versions it was built with; its TensorRT provider also needs libnvinfer. Each one that
does not load makes onnxruntime fall back to the CPU, so this module names which.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

log = logging.getLogger("livematte")

TENSORRT_MISSING = (
    "the TensorRT libraries (libnvinfer) did not load; install the TensorRT 10 libraries "
    "this onnxruntime-gpu was built with (pip install 'tensorrt-cu13-libs>=10,<11', or "
    "tensorrt-cu12-libs for a CUDA 12 build), or use --device cuda"
)


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


def preload_gpu_libraries(ort: ModuleType, tensorrt: bool = False) -> None:
    """Let onnxruntime load CUDA and cuDNN from the nvidia-* wheels of the gpu extra, and
    TensorRT from pip's TensorRT wheels (which keep it off the loader's search path)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception as error:  # noqa: BLE001 - a failed preload shows up as a provider failure
            log.debug("onnxruntime.preload_dlls failed: %s", error)
    if tensorrt:
        preload_tensorrt_libraries()


def preload_tensorrt_libraries() -> list[str]:
    """Load libnvinfer and friends from the ``tensorrt_libs`` package, where installed.

    onnxruntime's TensorRT provider opens them by name; pip puts them in site-packages,
    where the loader does not look. Returns the libraries loaded.
    """
    spec = importlib.util.find_spec("tensorrt_libs")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    if sys.platform == "win32":
        os.add_dll_directory(str(folder))
        return [str(folder)]
    loaded = []
    for pattern in ("libnvinfer.so.*", "libnvinfer_plugin.so.*", "libnvonnxparser.so.*"):
        for library in sorted(folder.glob(pattern)):
            try:
                ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            except OSError as error:
                log.debug("cannot load %s: %s", library, error)
            else:
                loaded.append(library.name)
    return loaded


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
        return TENSORRT_MISSING
    return (
        "the CUDA libraries load, so the driver may be too old for this onnxruntime-gpu's "
        "CUDA version (run nvidia-smi and update the driver); onnxruntime's own error is "
        "printed above"
    )
