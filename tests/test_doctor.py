"""``livematte doctor`` with a fake machine: a /sys tree, tools and runtimes that fail on cue."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from livematte.cli import main
from livematte.doctor import Probes, default_model, diagnose, main_doctor
from livematte.errors import UserError
from livematte.matting import builtin

V4L2_CTL = """ioctl: VIDIOC_ENUM_FMT
\tType: Video Capture
\t[0]: 'MJPG' (Motion-JPEG, compressed)
\t\tSize: Discrete 1280x720
\t\tSize: Discrete 1920x1080
\t[1]: 'YUYV' (YUYV 4:2:2)
\t\tSize: Discrete 640x480
"""


MODEL_FILES = [
    "selfie_segmentation.onnx",
    "selfie_segmentation_landscape.onnx",
    "pose_detection.onnx",
    "pose_landmark_full.onnx",
    "modnet.onnx",
]


def healthy(root: Path) -> Probes:
    """A Linux machine with v4l2loopback (exclusive_caps), one webcam and everything else."""
    sys_root, dev, proc = root / "sys", root / "dev", root / "proc"
    params = sys_root / "module" / "v4l2loopback" / "parameters"
    params.mkdir(parents=True)
    (params / "exclusive_caps").write_text("Y,N,N,N\n")
    (params / "max_buffers").write_text("2\n")
    virtual = sys_root / "devices" / "virtual" / "video4linux" / "video4"
    virtual.mkdir(parents=True)
    (virtual / "name").write_text("livematte\n")
    real = sys_root / "devices" / "pci0000:00" / "video4linux" / "video0"
    real.mkdir(parents=True)
    (real / "name").write_text("Integrated Webcam\n")
    classes = sys_root / "class" / "video4linux"
    classes.mkdir(parents=True)
    os.symlink(real, classes / "video0")
    os.symlink(virtual, classes / "video4")
    dev.mkdir()
    (dev / "video4").touch()
    (proc / "4242" / "fd").mkdir(parents=True)
    os.symlink(str(dev / "video4"), proc / "4242" / "fd" / "9")
    return Probes(
        platform="linux",
        sys_root=sys_root,
        dev_root=dev,
        proc_root=proc,
        env={"DISPLAY": ":0"},
        which=lambda tool: f"/usr/bin/{tool}",
        run=lambda command: V4L2_CTL if command[0] == "v4l2-ctl" else "SecureBoot disabled",
        writable=lambda path: True,
        camera_modes=lambda node: [],
        runtimes=lambda: ["onnxruntime 1.20.0"],
        providers=lambda: ["CPUExecutionProvider"],
        session=lambda: "cpu",
        model_files=lambda: [Path("/lm/models") / name for name in MODEL_FILES],
        damaged_models=lambda paths: [],
        codecs=lambda: {"libx264", "libvpx-vp9", "prores_ks"},
        open_vcam=lambda: "OBS Virtual Camera",
        root=False,
    )


def by_name(checks):
    return {check.name: check for check in checks}


def test_a_healthy_machine_passes_and_says_what_it_found(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    assert main_doctor(probes) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "Everything live use needs is in place." in out
    checks = by_name(diagnose(probes))
    assert "MJPG 1280x720 1920x1080" in checks[f"camera {tmp_path}/dev/video0"].detail
    vcam = checks[f"virtual camera {tmp_path}/dev/video4"]
    assert "'livematte'" in vcam.detail and "pid 4242" in vcam.detail
    assert "max_buffers 2" in checks["exclusive_caps"].detail


def _fail(probes: Probes, capsys) -> str:
    assert main_doctor(probes) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return out


def test_missing_module_gives_the_install_command_and_the_secure_boot_cause(
    tmp_path: Path, capsys
) -> None:
    probes = healthy(tmp_path)
    (probes.sys_root / "module" / "v4l2loopback" / "parameters" / "exclusive_caps").unlink()
    (probes.sys_root / "module" / "v4l2loopback" / "parameters" / "max_buffers").unlink()
    (probes.sys_root / "module" / "v4l2loopback" / "parameters").rmdir()
    (probes.sys_root / "module" / "v4l2loopback").rmdir()
    probes.run = lambda command: "SecureBoot enabled"
    out = _fail(probes, capsys)
    assert "v4l2loopback-dkms && sudo modprobe v4l2loopback exclusive_caps=1" in out
    assert "Secure Boot: enabled" in out and "mokutil --import" in out


def test_without_exclusive_caps_it_warns_with_the_reload_command(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    (probes.sys_root / "module" / "v4l2loopback" / "parameters" / "exclusive_caps").write_text("N")
    assert main_doctor(probes) == 0  # works, but Chrome-based apps will not list it
    out = capsys.readouterr().out
    assert "warn  exclusive_caps" in out and "sudo modprobe -r v4l2loopback" in out


def test_an_unwritable_virtual_camera_gives_the_group_fix(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    probes.writable = lambda path: False
    assert "usermod -aG video" in _fail(probes, capsys)


def test_as_root_the_fixes_keep_sudo_and_drop_the_video_group(tmp_path: Path, capsys) -> None:
    """Root (a container, say) gets the lines a user types, sudo included (the module is
    loaded on the host), and no group to join: root opens any device."""
    probes = healthy(tmp_path)
    probes.root = True
    (probes.sys_root / "module" / "v4l2loopback" / "parameters" / "exclusive_caps").write_text("N")
    probes.run = lambda command: ""  # no camera either
    out = _fail(probes, capsys)
    assert (
        "fix: sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback exclusive_caps=1" in out
    )
    assert "fix: plug one in\n" in out
    assert "video' group" not in out
    shutil.rmtree(probes.sys_root / "module" / "v4l2loopback")
    out = _fail(probes, capsys)
    assert "fix: sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback" in out


def test_under_sudo_the_group_fix_names_the_user(tmp_path: Path, capsys) -> None:
    """`sudo livematte doctor`: the user behind sudo runs livematte later, as themself."""
    probes = healthy(tmp_path)
    probes.root, probes.env = True, {"DISPLAY": ":0", "SUDO_USER": "alice"}
    probes.writable = lambda path: False
    assert "fix: sudo usermod -aG video alice, then log out and in" in _fail(probes, capsys)


def test_no_camera_and_no_display(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    probes.run = lambda command: ""
    probes.env = {}
    out = _fail(probes, capsys)
    assert "FAIL  camera: no webcam found" in out and "warn  display" in out


def test_cameras_are_probed_with_opencv_without_v4l2_ctl(tmp_path: Path) -> None:
    probes = healthy(tmp_path)
    probes.which = lambda tool: None
    probes.camera_modes = lambda node: ["1280x720 MJPG"]
    assert "1280x720 MJPG" in by_name(diagnose(probes))[f"camera {tmp_path}/dev/video0"].detail


def test_two_onnxruntimes_are_a_conflict_with_the_fix(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    probes.runtimes = lambda: ["onnxruntime 1.20.0", "onnxruntime-gpu 1.20.0"]
    out = _fail(probes, capsys)
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in out


def test_a_session_that_does_not_run_fails(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)

    def broken() -> str:
        raise UserError("onnxruntime cannot load the model")

    probes.session = broken
    assert "a test model does not run (onnxruntime cannot load" in _fail(probes, capsys)


def test_missing_model_and_codec(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)

    def no_model() -> list[Path]:
        raise UserError("The selfie segmentation model is missing")

    probes.model_files = no_model
    probes.codecs = lambda: {"libvpx-vp9"}
    out = _fail(probes, capsys)
    assert "FAIL  default model" in out and "FAIL  codec libx264" in out
    assert "warn  codec prores_ks" in out


def test_the_default_model_check_names_every_file_auto_loads(tmp_path: Path) -> None:
    check = by_name(diagnose(healthy(tmp_path)))["default model"]
    assert check.ok and check.detail == (
        "selfie_segmentation.onnx, selfie_segmentation_landscape.onnx, "
        "pose_detection.onnx, pose_landmark_full.onnx, modnet.onnx in /lm/models"
    )


def test_the_installed_builtin_models_pass_the_real_check() -> None:
    """The real probe on this install: every file auto loads is there with its hash."""
    (check,) = default_model(Probes())
    assert check.ok, check.detail


@pytest.mark.parametrize("missing", MODEL_FILES)
def test_any_missing_builtin_model_file_fails_the_check(
    tmp_path: Path, monkeypatch, missing: str
) -> None:
    """The real probe, with one file of the package gone: the check fails and names it."""
    for name in MODEL_FILES:
        (tmp_path / name).touch()
    (tmp_path / missing).unlink()
    monkeypatch.setattr(builtin, "models_folder", lambda: tmp_path)
    (check,) = default_model(Probes())
    assert not check.ok and missing in check.detail and check.needed
    assert check.fix == "pip install --force-reinstall livematte"


def test_a_damaged_builtin_model_file_fails_the_check(tmp_path: Path, monkeypatch) -> None:
    """A file whose bytes differ from the recorded hash (a broken copy) is named."""
    for name in MODEL_FILES:
        shutil.copyfile(builtin.model_path(name), tmp_path / name)
    shutil.copyfile(builtin.models_folder() / builtin.SUMS_FILE, tmp_path / builtin.SUMS_FILE)
    with open(tmp_path / "pose_detection.onnx", "ab") as handle:
        handle.write(b"\0")
    monkeypatch.setattr(builtin, "models_folder", lambda: tmp_path)
    (check,) = default_model(Probes())
    assert not check.ok and "pose_detection.onnx differ" in check.detail


def test_a_probe_that_crashes_is_reported_not_raised(tmp_path: Path, capsys) -> None:
    probes = healthy(tmp_path)
    probes.providers = lambda: 1 / 0
    assert "could not be checked (division by zero)" in _fail(probes, capsys)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_check_the_obs_camera(tmp_path: Path, capsys, platform) -> None:
    probes = healthy(tmp_path)
    probes.platform = platform

    def missing() -> str:
        raise RuntimeError("'obs' backend: virtual camera output could not be started")

    probes.open_vcam = missing
    out = _fail(probes, capsys)
    assert "OBS virtual camera" in out and "Start Virtual Camera" in out
    assert "v4l2loopback" not in out


def test_the_command_runs_on_this_machine_without_a_traceback(capsys) -> None:
    assert main(["doctor"]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


def _cpu(probes: Probes, vendor: str, model: str) -> Probes:
    (probes.proc_root / "cpuinfo").write_text(
        f"processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {model}\n\n"
        f"processor\t: 1\nvendor_id\t: {vendor}\nmodel name\t: {model}\n"
    )
    return probes


def test_on_an_amd_cpu_openvino_is_not_offered_as_made_for_it(tmp_path: Path, capsys) -> None:
    """What OpenVINO would do on this CPU, from the figures measured on an AMD EPYC."""
    probes = _cpu(healthy(tmp_path), "AuthenticAMD", "AMD EPYC 7B13")
    main_doctor(probes)
    out = capsys.readouterr().out
    assert "Intel CPUs" not in out
    line = next(line for line in out.splitlines() if "accelerator" in line)
    assert "AMD EPYC 7B13" in line and "OpenVINO" in line and "slower" in line, line
    assert "livematte[gpu]" not in out  # no NVIDIA GPU here


def test_on_an_intel_cpu_openvino_is_the_suggestion(tmp_path: Path, capsys) -> None:
    probes = _cpu(healthy(tmp_path), "GenuineIntel", "Intel(R) Core(TM) i7-1165G7")
    main_doctor(probes)
    out = capsys.readouterr().out
    assert "livematte[openvino]" in out and "i7-1165G7" in out


def test_an_nvidia_gpu_gets_the_gpu_extra_and_unknown_cpus_no_openvino(
    tmp_path: Path, capsys
) -> None:
    probes = _cpu(healthy(tmp_path), "ARM", "Neoverse-N1")
    (probes.dev_root / "nvidia0").touch()
    main_doctor(probes)
    out = capsys.readouterr().out
    assert "livematte[gpu]" in out and "openvino" not in out.lower()


def test_the_session_line_drops_the_intel_note_on_this_machine(capsys) -> None:
    """The real probe: the doctor's own accelerator line replaces the generic note."""
    from livematte.doctor import _tiny_session

    pytest.importorskip("onnxruntime")
    assert "Intel CPUs" not in _tiny_session()
