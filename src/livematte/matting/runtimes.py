"""The onnxruntime packages, the devices each one brings, and the platforms they run on.

Every onnxruntime build ships its own copy of the ``onnxruntime`` Python package, so two
installed together overwrite each other's files and whichever came last decides which
devices work. This module knows which package brings which execution provider, which
livematte extra installs it, and turns every broken or missing combination into one
sentence with the exact pip line that fixes it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
from dataclasses import dataclass
from types import ModuleType

from ..errors import UserError

log = logging.getLogger("livematte")

PLATFORM_NAMES = {"linux": "Linux", "win32": "Windows", "darwin": "macOS"}


@dataclass(frozen=True)
class Device:
    """One ``--device`` choice: its onnxruntime provider and where it comes from."""

    name: str
    provider: str  # onnxruntime's execution provider name
    label: str
    distribution: str  # the onnxruntime package whose build has the provider
    extra: str  # the livematte extra that installs that package
    platforms: tuple[str, ...]  # sys.platform values it runs on; empty = every platform
    hardware: str
    elsewhere: str = ""  # what to use instead off its platforms


# Both NVIDIA devices come from onnxruntime-gpu: package, extra, platforms, hardware, elsewhere.
_NVIDIA = (
    "onnxruntime-gpu",
    "gpu",
    ("linux", "win32"),
    "NVIDIA GPUs",
    "there is no CUDA on macOS; use --device coreml",
)
DEVICE_TABLE = {
    d.name: d
    for d in (
        Device("tensorrt", "TensorrtExecutionProvider", "TensorRT", *_NVIDIA),
        Device("cuda", "CUDAExecutionProvider", "CUDA", *_NVIDIA),
        Device(
            "directml",
            "DmlExecutionProvider",
            "DirectML",
            "onnxruntime-directml",
            "directml",
            ("win32",),
            "DirectX 12 GPUs on Windows (AMD, Intel, NVIDIA)",
            "DirectML is part of Windows; use --device cuda for NVIDIA, openvino for Intel "
            "or coreml on a Mac",
        ),
        Device(
            "coreml",
            "CoreMLExecutionProvider",
            "CoreML",
            "onnxruntime",
            "cpu",
            ("darwin",),
            "Apple GPUs and Neural Engine",
            "CoreML is part of macOS; use --device cuda for NVIDIA, openvino for Intel or "
            "directml for other GPUs on Windows",
        ),
        Device(
            "openvino",
            "OpenVINOExecutionProvider",
            "OpenVINO",
            "onnxruntime-openvino",
            "openvino",
            ("linux", "win32"),
            "Intel CPUs, GPUs and NPUs",
            "onnxruntime-openvino has no macOS build; use --device coreml",
        ),
        Device("cpu", "CPUExecutionProvider", "CPU", "onnxruntime", "cpu", (), "any CPU"),
    )
}
# The order ``--device auto`` tries the accelerators this onnxruntime build has.
AUTO_ORDER = ("tensorrt", "cuda", "directml", "coreml", "openvino")
PROVIDERS = {name: d.provider for name, d in DEVICE_TABLE.items()}
LABELS = {name: d.label for name, d in DEVICE_TABLE.items()}

# Each of these ships its own copy of the `onnxruntime` Python package.
DISTRIBUTION_EXTRAS = {
    "onnxruntime": "cpu",
    "onnxruntime-gpu": "gpu",
    "onnxruntime-openvino": "openvino",
    "onnxruntime-directml": "directml",
    "onnxruntime-qnn": "",
}
RUNTIME_DISTRIBUTIONS = tuple(DISTRIBUTION_EXTRAS)


def current_platform() -> str:
    """``sys.platform``, behind a function so tests can pretend to be another system."""
    return sys.platform


def platform_name(platform: str | None = None) -> str:
    platform = current_platform() if platform is None else platform
    return PLATFORM_NAMES.get(platform, platform)


def off_platform_reason(device: str) -> str | None:
    """Why ``device`` cannot run on this operating system, or None when it can."""
    info = DEVICE_TABLE[device]
    if not info.platforms or current_platform() in info.platforms:
        return None
    where = " and ".join(platform_name(p) for p in info.platforms)
    return (
        f"--device {device} runs only on {where} and this is {platform_name()} ({info.elsewhere})."
    )


# --- packaging ---------------------------------------------------------------------------


def installed_distributions() -> dict[str, str]:
    """The onnxruntime packages pip has installed, with their versions."""
    found = {}
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def installed_runtimes() -> list[str]:
    """``name version`` of each installed onnxruntime package (each owns ``onnxruntime/``)."""
    return [f"{name} {version}" for name, version in installed_distributions().items()]


def install_line(extra: str, replace: list[str] | None = None) -> str:
    """The pip line that leaves exactly the package of ``extra`` installed."""
    replace = installed_distributions() if replace is None else replace
    install = f"pip install 'livematte[{extra}]'"
    if not replace:
        return install
    return f"pip uninstall -y {' '.join(replace)} && {install}"


def runtime_conflict() -> str | None:
    """Explain two or more onnxruntime packages installed together, with the fix."""
    found = installed_distributions()
    if len(found) < 2:
        return None
    names = list(found)
    # The plain CPU package usually arrives as another library's dependency; the
    # accelerator packages are installed on purpose, so those are the ones to keep.
    keep = [n for n in names if n != "onnxruntime"]
    fixes = []
    for name in keep:
        extra = DISTRIBUTION_EXTRAS[name]
        line = install_line(extra, names) if extra else f"pip uninstall -y {' '.join(names)}"
        if not extra:
            line += f" && pip install {name}"
        fixes.append(f"to keep {name}: {line}" if len(keep) > 1 else line)
    listing = " and ".join(f"{n} {v}" for n, v in found.items())
    return (
        f"{listing} are all installed, but they unpack into the same onnxruntime folder and "
        "overwrite each other, so whichever was installed last decides which devices work "
        f"and uninstalling either breaks the other; keep exactly one: {'; or '.join(fixes)}"
    )


def missing_runtime_message() -> str:
    """What to install when no onnxruntime package imports at all."""
    if current_platform() == "darwin":
        return (
            "ONNX models need onnxruntime, which is not installed; install 'livematte[cpu]' "
            "(on macOS it includes CoreML)."
        )
    options = ["'livematte[gpu]' for NVIDIA GPUs", "'livematte[openvino]' for Intel hardware"]
    if current_platform() == "win32":
        options.append("'livematte[directml]' for other GPUs")
    return (
        "ONNX models need onnxruntime, which is not installed; install exactly one of "
        f"{', '.join(options)} or 'livematte[cpu]' otherwise."
    )


def import_onnxruntime() -> ModuleType:
    """Import onnxruntime, or say which extra to install (or which conflict to fix)."""
    try:
        import onnxruntime
    except ImportError as error:
        conflict = runtime_conflict()
        if conflict:
            raise UserError(f"onnxruntime does not import ({error}): {conflict}.") from None
        raise UserError(missing_runtime_message()) from None
    conflict = runtime_conflict()
    if conflict:
        log.warning("%s.", conflict[0].upper() + conflict[1:])
    return onnxruntime


def missing_package_reason(device: str, available: list[str]) -> str:
    """Why the installed onnxruntime has no provider for ``device``, and the pip fix."""
    conflict = runtime_conflict()
    if conflict:
        return conflict
    info = DEVICE_TABLE[device]
    runtimes = ", ".join(installed_runtimes()) or "onnxruntime"
    have = ", ".join(available)
    if device == "tensorrt" and PROVIDERS["cuda"] in available:
        return f"the installed {runtimes} has no TensorRT provider (only {have}); use --device cuda"
    return (
        f"{info.provider} for {info.hardware} comes with {info.distribution}, and the "
        f"installed {runtimes} has only {have}; replace it: {install_line(info.extra)}"
    )
