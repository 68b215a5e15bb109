"""``livematte doctor``: what live use needs on this machine, checked and explained.

Each check says in plain words what it found and, when something is missing, the exact
command that fixes it. Exit status 0 when everything needed passes, 1 otherwise; checks
marked optional (``warn``) never fail the run. Every probe of the machine goes through
:class:`Probes`, so tests can fake each failure (a /sys tree, a missing tool, a broken
runtime) without the hardware.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError, reason_of
from .io.vcam import MODPROBE_FIX
from .matting.runtimes import install_line, installed_runtimes, runtime_conflict
from .run.on_demand import holders

LOOPBACK_INSTALL = "sudo apt install v4l2loopback-dkms"
RELOAD_FIX = f"sudo modprobe -r v4l2loopback && {MODPROBE_FIX}"
GROUP_FIX = "sudo usermod -aG video $USER, then log out and in"
GROUP_HINT = "; check that you are in the 'video' group (groups)"
# A one-node ONNX model (Relu on 1x4 floats): enough to prove a session starts and runs.
TINY_ONNX = base64.b64decode(
    "CAg6QAoMCgF4EgF5IgRSZWx1EgZkb2N0b3JaEwoBeBIOCgwIARIICgIIAQoCCARiEwoBeRIOCgwIARIICgIIAQoC"
    "CARCBAoAEA0="
)
CODECS = {"libx264": True, "libvpx-vp9": False, "prores_ks": False}  # codec -> needed
CODEC_USE = {"libx264": ".mp4/.mkv", "libvpx-vp9": ".webm", "prores_ks": ".mov with alpha"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True

    def lines(self) -> list[str]:
        mark = "ok  " if self.ok else "FAIL" if self.needed else "warn"
        out = [f"  {mark}  {self.name}: {self.detail}"]
        if not self.ok and self.fix:
            out.append(f"        fix: {self.fix}")
        return out


def _run(command: list[str]) -> str:
    """A tool's output, "" when it fails or hangs."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


def _opencv_modes(node: str) -> list[str]:
    """Which of MJPG 1280x720 / 1920x1080 a camera delivers, by opening it with OpenCV."""
    import cv2

    capture = cv2.VideoCapture(node, cv2.CAP_V4L2)
    modes = []
    try:
        if not capture.isOpened():
            return []
        for width, height in ((1280, 720), (1920, 1080)):
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            got = (
                int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            )
            code = int(capture.get(cv2.CAP_PROP_FOURCC))
            fourcc = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\0")
            modes.append(f"{got[0]}x{got[1]} {fourcc or '?'}")
    finally:
        capture.release()
    return sorted(set(modes))


def _tiny_session() -> str:
    """Run the tiny model on the device ``--device auto`` picks; its name."""
    import numpy as np

    from .matting.providers import no_accelerator_note, open_session

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doctor.onnx"
        path.write_bytes(TINY_ONNX)
        opened = open_session(str(path), "auto", 1)
        out = opened.session.run(None, {"x": np.array([[-1, 0, 1, 2]], np.float32)})[0]
    if out.tolist() != [[0, 0, 1, 2]]:
        raise RuntimeError(f"the test model gave {out.tolist()}")
    # The generic "which extra adds an accelerator" note: the doctor's accelerator line
    # says what fits this machine instead.
    opened.skipped.pop(no_accelerator_note(), None)
    return opened.describe()


def _providers() -> list[str]:
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def _model_files() -> list[Path]:
    """Every built-in file the default ``--model auto`` may load (UserError names a missing
    one): both selfie variants, chosen by frame shape, the pose detector and landmarks, and
    MODNet (quality best)."""
    from .matting import pose, selfie
    from .matting.builtin import model_path
    from .matting.modnet import MODNET_FILE

    names = [*selfie.model_files(), *pose.model_files(), MODNET_FILE]
    return [model_path(name) for name in names]


def _damaged_models(paths: list[Path]) -> list[str]:
    """Names of the built-in files whose bytes differ from the hashes the package records."""
    from .matting.builtin import recorded_hashes
    from .matting.engine_cache import file_sha256

    recorded = recorded_hashes()
    return [path.name for path in paths if recorded.get(path.name) != file_sha256(path)]


def _codecs() -> set[str]:
    import av

    return set(av.codecs_available)


def _open_vcam() -> str:
    import pyvirtualcam

    with pyvirtualcam.Camera(64, 48, 30) as camera:
        return f"{camera.device} ({camera.backend})"


@dataclass
class Probes:
    """Everything the doctor looks at; each can be replaced by a fake."""

    platform: str = sys.platform
    sys_root: Path = Path("/sys")
    dev_root: Path = Path("/dev")
    proc_root: Path = Path("/proc")
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    which: Callable[[str], str | None] = shutil.which
    run: Callable[[list[str]], str] = _run
    writable: Callable[[Path], bool] = lambda path: os.access(path, os.W_OK)
    camera_modes: Callable[[str], list[str]] = _opencv_modes
    runtimes: Callable[[], list[str]] = installed_runtimes
    providers: Callable[[], list[str]] = _providers
    session: Callable[[], str] = _tiny_session
    model_files: Callable[[], list[Path]] = _model_files
    damaged_models: Callable[[list[Path]], list[str]] = _damaged_models
    codecs: Callable[[], set[str]] = _codecs
    open_vcam: Callable[[], str] = _open_vcam
    root: bool = field(default_factory=lambda: hasattr(os, "geteuid") and os.geteuid() == 0)


def diagnose(probes: Probes | None = None) -> list[Check]:
    probes = probes or Probes()
    linux = probes.platform.startswith("linux")
    steps: list[Callable[[Probes], list[Check]]] = (
        [loopback, cameras, display] if linux else [obs_camera]
    )
    steps += [onnx_runtime, default_model, codecs]
    checks = []
    for step in steps:
        try:
            checks += step(probes)
        except Exception as exc:  # noqa: BLE001 - a probe's fault is a finding, not a crash
            name = step.__name__.replace("_", " ")
            checks.append(Check(name, False, f"could not be checked ({reason_of(exc)})"))
    if probes.root:
        for check in checks:
            check.fix = for_root(check.fix, probes.env.get("SUDO_USER", ""))
    return checks


def for_root(fix: str, sudo_user: str = "") -> str:
    """A fix as root reads it. ``sudo`` stays: the line is the one to type as a user (root
    in a container loads no kernel module: the host's user does, with sudo). Root opens
    any device, so no group to join, except for the user behind ``sudo livematte doctor``,
    who runs livematte as themself."""
    if sudo_user:
        return fix.replace("$USER", sudo_user)
    return fix.replace(GROUP_FIX, "").replace(GROUP_HINT, "")


# --- Linux: the virtual camera ------------------------------------------------------------


def loopback(p: Probes) -> list[Check]:
    module = p.sys_root / "module" / "v4l2loopback"
    if not module.is_dir():
        return [
            Check(
                "v4l2loopback",
                False,
                "the virtual camera module is not loaded",
                f"{LOOPBACK_INSTALL} && {MODPROBE_FIX}",
            ),
            *secure_boot(p),
        ]
    checks = [Check("v4l2loopback", True, "loaded")]
    params = module / "parameters"
    caps = _read(params / "exclusive_caps")
    buffers = _read(params / "max_buffers")
    exclusive = caps.split(",")[0].strip().upper() in ("Y", "1")
    checks.append(
        Check(
            "exclusive_caps",
            exclusive,
            f"{caps or 'unknown'} (Chrome, Meet, Teams and Discord list the camera only with 1)"
            + (f"; max_buffers {buffers}" if buffers else ""),
            RELOAD_FIX,
            needed=False,
        )
    )
    return checks + loopback_devices(p)


def secure_boot(p: Probes) -> list[Check]:
    if not p.which("mokutil"):
        return []
    state = p.run(["mokutil", "--sb-state"]).strip()
    if "enabled" not in state.lower():
        return [Check("Secure Boot", True, state or "not enabled")]
    return [
        Check(
            "Secure Boot",
            False,
            "enabled: the kernel only loads signed modules, so v4l2loopback built by DKMS may be "
            "refused ('Key was rejected by service')",
            "sudo mokutil --import /var/lib/dkms/mok.pub, reboot and enrol the key "
            "(or turn Secure Boot off in the firmware)",
        )
    ]


def loopback_devices(p: Probes) -> list[Check]:
    found = []
    for folder in sorted((p.sys_root / "devices" / "virtual" / "video4linux").glob("video*")):
        node = p.dev_root / folder.name
        users = holders(str(node), p.proc_root)
        used = f", in use by pid {', '.join(map(str, users))}" if users else ", not in use"
        writable = p.writable(node)
        found.append(
            Check(
                f"virtual camera {node}",
                writable,
                f"'{_read(folder / 'name')}'"
                + ("" if writable else ", not writable by you")
                + used,
                GROUP_FIX,
            )
        )
    if not found:
        return [
            Check("virtual camera", False, "the module is loaded but made no device", RELOAD_FIX)
        ]
    if any(check.ok for check in found):
        for check in found:
            check.needed = False  # one usable device is enough
    return found


def cameras(p: Probes) -> list[Check]:
    checks = []
    for link in sorted((p.sys_root / "class" / "video4linux").glob("video*")):
        if "virtual" in os.path.realpath(link):
            continue
        node = str(p.dev_root / link.name)
        modes = _v4l2_modes(p, node) if p.which("v4l2-ctl") else p.camera_modes(node)
        if not modes:
            continue  # a metadata node (each webcam has one beside its picture node)
        checks.append(
            Check(f"camera {node}", True, f"'{_read(link / 'name')}': {', '.join(modes)}")
        )
    if not checks:
        checks.append(
            Check(
                "camera",
                False,
                "no webcam found",
                f"plug one in{GROUP_HINT}",
            )
        )
    return checks


def _v4l2_modes(p: Probes, node: str) -> list[str]:
    """'MJPG 1280x720, 1920x1080' per pixel format, from v4l2-ctl --list-formats-ext."""
    text = p.run(["v4l2-ctl", "-d", node, "--list-formats-ext"])
    modes: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        fmt = re.search(r"\[\d+\]: '(\w+)'", line)
        size = re.search(r"Size: Discrete (\d+x\d+)", line)
        if fmt:
            current = fmt.group(1)
            modes.setdefault(current, [])
        elif size and current and size.group(1) not in modes[current]:
            modes[current].append(size.group(1))
    return [f"{fmt} {' '.join(sizes)}" for fmt, sizes in modes.items() if sizes]


def display(p: Probes) -> list[Check]:
    name = p.env.get("WAYLAND_DISPLAY") or p.env.get("DISPLAY")
    if name:
        return [Check("display", True, f"{name} (for --preview)")]
    return [
        Check(
            "display",
            False,
            "none, so no --preview window; the control page and the terminal keys still work",
            "run from a desktop session",
            needed=False,
        )
    ]


def obs_camera(p: Probes) -> list[Check]:
    try:
        return [Check("OBS virtual camera", True, p.open_vcam())]
    except Exception as exc:  # noqa: BLE001 - pyvirtualcam's errors are plain RuntimeErrors
        return [
            Check(
                "OBS virtual camera",
                False,
                f"not available ({reason_of(exc)})",
                "install OBS Studio 26 or later and click 'Start Virtual Camera' once",
            )
        ]


# --- everywhere ---------------------------------------------------------------------------


def onnx_runtime(p: Probes) -> list[Check]:
    found = p.runtimes()
    if not found:
        return [
            Check(
                "onnxruntime",
                False,
                "not installed (only needed for --model x.onnx)",
                "pip install 'livematte[cpu]' (or 'livematte[gpu]' with an NVIDIA GPU)",
                needed=False,
            )
        ]
    if len(found) > 1:
        names = [entry.split()[0] for entry in found]
        fix = install_line("cpu", names) + " (or the extra of the device you use)"
        return [Check("onnxruntime", False, runtime_conflict() or " and ".join(found), fix)]
    providers = p.providers()
    checks = [Check("onnxruntime", True, f"{found[0]}; providers {', '.join(providers)}")]
    try:
        checks.append(Check("onnxruntime session", True, f"a test model ran on {p.session()}"))
    except Exception as exc:  # noqa: BLE001 - UserError or any runtime fault
        checks.append(
            Check(
                "onnxruntime session",
                False,
                f"a test model does not run ({reason_of(exc)})",
                "pip install --force-reinstall " + found[0].split()[0],
            )
        )
    if not set(providers) - CPU_PROVIDERS and p.platform != "darwin":
        checks.append(accelerator(p, found[0].split()[0]))
    return checks


REINSTALL = "pip install --force-reinstall livematte"


def cpu_model(p: Probes) -> tuple[str, str]:
    """(vendor, model name) from /proc/cpuinfo; ("", "") where there is none."""
    fields: dict[str, str] = {}
    for line in _read(p.proc_root / "cpuinfo").splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields.get("vendor_id", ""), fields.get("model name", "")


def accelerator(p: Probes, runtime: str) -> Check:
    """What would run models faster on this machine, and only what fits it."""
    vendor, model = cpu_model(p)
    swap = f"pip uninstall -y {runtime} && pip install"
    nvidia = (p.dev_root / "nvidia0").exists() or (p.proc_root / "driver" / "nvidia").exists()
    if nvidia:
        return Check(
            "accelerator",
            False,
            "none in this onnxruntime, and there is an NVIDIA GPU",
            f"{swap} 'livematte[gpu]'",
            needed=False,
        )
    if vendor == "GenuineIntel":
        return Check(
            "accelerator",
            False,
            f"none in this onnxruntime; OpenVINO runs models on this {model or 'Intel CPU'} "
            "(and on Intel GPUs and NPUs) with a plugin tuned for it",
            f"{swap} 'livematte[openvino]'",
            needed=False,
        )
    if vendor == "AuthenticAMD":
        return Check(
            "accelerator",
            True,
            f"none in this onnxruntime; OpenVINO ('livematte[openvino]') also runs on this "
            f"{model or 'AMD CPU'}, with a plugin tuned for Intel's: measured on an AMD EPYC "
            "it made the selfie network 1.2-1.4x faster and Robust Video Matting slower "
            "(0.65-0.96x; docs/devices.md), so onnxruntime's CPU provider is "
            "the sure choice here",
        )
    return Check(
        "accelerator",
        True,
        f"none in this onnxruntime; onnxruntime's CPU provider is what fits this {model or 'CPU'}",
    )


def default_model(p: Probes) -> list[Check]:
    try:
        paths = p.model_files()
    except UserError as exc:
        return [Check("default model", False, str(exc), REINSTALL)]
    damaged = p.damaged_models(paths)
    if damaged:
        why = f"{', '.join(damaged)} differ from the hashes recorded in the package (damaged)"
        return [Check("default model", False, why, REINSTALL)]
    folders = {path.parent for path in paths}
    where = f" in {folders.pop()}" if len(folders) == 1 else ""
    return [Check("default model", True, ", ".join(path.name for path in paths) + where)]


def codecs(p: Probes) -> list[Check]:
    available = p.codecs()
    return [
        Check(
            f"codec {name}",
            name in available,
            f"for {CODEC_USE[name]} outputs" + ("" if name in available else ", missing"),
            "pip install --force-reinstall av (its wheels carry FFmpeg with these codecs)",
            needed=needed,
        )
        for name, needed in CODECS.items()
    ]


# Providers that run on the CPU (Azure is a remote-call stub every build lists).
CPU_PROVIDERS = {"CPUExecutionProvider", "AzureExecutionProvider"}


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def main_doctor(probes: Probes | None = None) -> int:
    checks = diagnose(probes)
    print("livematte doctor: what live use needs on this machine")
    for check in checks:
        print("\n".join(check.lines()))
    failed = [c for c in checks if not c.ok and c.needed]
    if failed:
        print(f"{len(failed)} problem(s) to fix; run the 'fix:' command under each FAIL.")
        return 1
    print("Everything live use needs is in place.")
    return 0
