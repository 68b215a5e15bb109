"""--device and --precision: every accelerator is either really active or refused.

onnxruntime's own build here is CPU-only, so the accelerators are simulated: the list of
providers the build offers is replaced, and so is the list a session says it holds
(``get_providers()``). A real CPU session underneath still runs the model. The silent
fallbacks users meet (a GPU provider offered but the session on the CPU) come from the
real onnxruntime, which falls back exactly so when a requested provider does not load.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx_factories as factories
import onnxruntime as ort
import pytest
from conftest import write_clip

from livematte.cli import main
from livematte.config import ModelConfig, load_config
from livematte.errors import UserError
from livematte.matting import create_matter, nvidia, runtimes
from livematte.matting.engine_cache import engine_folder
from livematte.matting.onnx_matter import RvmMatter, load_onnx_matter

P = runtimes.PROVIDERS
CPU, CUDA, TRT, DML, COREML, OPENVINO = (
    P[d] for d in ("cpu", "cuda", "tensorrt", "directml", "coreml", "openvino")
)
# The platform each accelerator runs on, for simulating it.
HOME = {"cuda": "linux", "tensorrt": "linux", "openvino": "linux"}
HOME |= {"directml": "win32", "coreml": "darwin"}
# What a build with the device offers (TensorRT builds have CUDA too).
OFFERED = {"tensorrt": [TRT, CUDA, CPU]} | {
    d: [P[d], CPU] for d in ("cuda", "openvino", "directml", "coreml")
}
# A phrase from the reason given when the device's provider does not come up.
FALLBACK_REASON = {
    "cuda": "NVIDIA",
    "tensorrt": "NVIDIA",
    "openvino": "OpenVINO did not start",
    "directml": "no DirectX 12 GPU",
    "coreml": "macOS 10.15",
}


@pytest.fixture
def tiny(tmp_path) -> str:
    return factories.save(factories.segmenter("NHWC", (256, 256), out_channels=1), tmp_path)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> Path:
    """TensorRT's engine folders go under the test's own cache, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def offer(monkeypatch, names: list[str]) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(names))


def on(monkeypatch, platform: str) -> None:
    monkeypatch.setattr(runtimes, "current_platform", lambda: platform)


def simulate(monkeypatch, device: str) -> None:
    on(monkeypatch, HOME[device])
    offer(monkeypatch, OFFERED[device])


class Claimed:
    """A real CPU session that reports other providers, as an accelerated one would."""

    def __init__(self, real: Any, active: list[str]) -> None:
        self._real, self._active = real, active

    def get_providers(self) -> list[str]:
        return list(self._active)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def sessions(monkeypatch, active: Any) -> list[list[Any]]:
    """Make every session report ``active(requested providers)``; returns the requests."""
    real = ort.InferenceSession
    requests: list[list[Any]] = []

    def session(path, sess_options=None, providers=None):
        requests.append(list(providers))
        cpu = real(path, sess_options=sess_options, providers=[CPU])
        return Claimed(cpu, active(providers))

    monkeypatch.setattr(ort, "InferenceSession", session)
    return requests


def installed(monkeypatch, versions: dict[str, str]) -> None:
    def version(name: str) -> str:
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(runtimes.importlib.metadata, "version", version)


def names(requested: list[Any]) -> list[str]:
    return [p[0] if isinstance(p, tuple) else p for p in requested]


# --- the device that runs is the one asked for, or an error ------------------------------


def test_cpu_device_says_so_with_threads(tiny):
    matter = load_onnx_matter(tiny, device="cpu", threads=1)
    assert (matter.device, matter.provider) == ("cpu", CPU)
    assert (
        matter.info == "model model.onnx (mediapipe-selfie) on CPU (CPUExecutionProvider, 1 thread)"
    )


@pytest.mark.parametrize("device", ["cuda", "tensorrt", "openvino", "directml", "coreml"])
def test_active_accelerator_is_reported_by_its_provider_name(monkeypatch, tiny, device):
    simulate(monkeypatch, device)
    requests = sessions(monkeypatch, names)
    matter = load_onnx_matter(tiny, device=device)
    assert (matter.device, matter.provider) == (device, P[device])
    assert f"on {runtimes.LABELS[device]} ({P[device]}" in matter.info
    assert names(requests[0])[0] == P[device]


@pytest.mark.filterwarnings("ignore:Specified provider")
@pytest.mark.parametrize("device", ["cuda", "tensorrt", "openvino", "directml", "coreml"])
def test_provider_offered_but_not_active_fails_loudly(monkeypatch, tiny, device):
    """The real onnxruntime falls back to the CPU when the provider cannot load."""
    if P[device] in ort.get_available_providers():  # e.g. OpenVINO in .venv-openvino
        sessions(monkeypatch, lambda requested: [CPU])
    simulate(monkeypatch, device)
    with pytest.raises(UserError) as raised:
        load_onnx_matter(tiny, device=device)
    message = str(raised.value)
    label = runtimes.LABELS[device]
    assert message.startswith(f"--device {device} was asked for but {label} cannot be used")
    assert "the session came up on CPUExecutionProvider instead" in message
    assert FALLBACK_REASON[device] in message and "--device cpu" in message


def test_tensorrt_that_lands_on_cuda_is_not_tensorrt(monkeypatch, tiny):
    simulate(monkeypatch, "tensorrt")
    sessions(monkeypatch, lambda requested: [CUDA, CPU])  # TensorRT's libraries missing
    with pytest.raises(UserError, match="came up on CUDAExecutionProvider instead.*TensorRT"):
        load_onnx_matter(tiny, device="tensorrt")


def test_missing_cuda_libraries_are_named(monkeypatch, tiny):
    simulate(monkeypatch, "cuda")
    sessions(monkeypatch, lambda requested: [CPU])
    real = nvidia.ctypes.CDLL

    def cdll(name, *args, **kwargs):
        if name.startswith(("libcudnn", "cudnn")):
            raise OSError(f"{name}: cannot open shared object file")
        return None if "cud" in name or "cublas" in name else real(name, *args, **kwargs)

    monkeypatch.setattr(nvidia.ctypes, "CDLL", cdll)
    with pytest.raises(
        UserError, match=r"CUDA/cuDNN libraries (libcudnn\.so\.|cudnn64_)9.*livematte\[gpu\]"
    ):
        load_onnx_matter(tiny, device="cuda")


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_auto_tries_tensorrt_then_cuda_then_cpu_and_says_why(monkeypatch, tiny):
    simulate(monkeypatch, "tensorrt")
    tried: list[str] = []
    real = ort.InferenceSession

    def session(path, sess_options=None, providers=None):
        tried.append(names(providers)[0])
        if tried[-1] == TRT:
            raise RuntimeError("TensorRT EP could not build an engine\nlong details")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", session)
    matter = load_onnx_matter(tiny, device="auto")
    assert tried == [TRT, CUDA, CPU]
    assert (matter.device, matter.provider) == ("cpu", CPU)
    assert matter.info.startswith(
        "model model.onnx (mediapipe-selfie) on CPU (CPUExecutionProvider"
    )
    assert (
        "TensorRT not used: onnxruntime failed to start it: TensorRT EP could not build"
        in matter.info
    )
    assert "CUDA not used: the session came up on CPUExecutionProvider instead" in matter.info
    assert "long details" not in matter.info


@pytest.mark.parametrize("device", ["directml", "coreml", "openvino"])
def test_auto_uses_the_accelerator_the_build_has(monkeypatch, tiny, device):
    simulate(monkeypatch, device)
    sessions(monkeypatch, names)
    assert load_onnx_matter(tiny, device="auto").provider == P[device]


@pytest.mark.parametrize(
    ("platform", "extras"),
    [
        ("linux", ["gpu", "openvino"]),
        ("win32", ["gpu", "directml", "openvino"]),
    ],
)
def test_auto_on_a_cpu_build_names_the_extras_that_add_an_accelerator(
    monkeypatch, tiny, platform, extras
):
    on(monkeypatch, platform)
    offer(monkeypatch, [CPU])
    matter = load_onnx_matter(tiny, device="auto")
    assert matter.provider == CPU and "no accelerator provider" in matter.info
    assert [e for e in ("gpu", "directml", "openvino") if f"livematte[{e}]" in matter.info] == (
        extras
    )


def test_rvm_on_an_accelerator_other_than_nvidia_keeps_its_state_in_host_memory(
    monkeypatch, tmp_path
):
    simulate(monkeypatch, "directml")
    sessions(monkeypatch, names)
    matter = load_onnx_matter(factories.save(factories.recurrent(), tmp_path), device="directml")
    assert isinstance(matter, RvmMatter) and matter.provider == DML
    frame = np.zeros((36, 64, 3), np.uint8)
    assert [float(matter.infer(frame).alpha.mean()) for _ in range(2)] == pytest.approx([0.1, 0.2])


# --- refused before anything loads ------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "platform", "sentence"),
    [
        ("directml", "linux", "--device directml runs only on Windows and this is Linux"),
        ("coreml", "win32", "--device coreml runs only on macOS and this is Windows"),
        ("cuda", "darwin", "--device cuda runs only on Linux and Windows and this is macOS"),
        ("openvino", "darwin", "--device openvino runs only on Linux and Windows and this is"),
    ],
)
def test_devices_off_their_platform_are_refused_in_one_sentence(
    monkeypatch, tiny, device, platform, sentence
):
    on(monkeypatch, platform)
    offer(monkeypatch, [P[device], CPU])  # even a build that has it
    with pytest.raises(UserError) as raised:
        load_onnx_matter(tiny, device=device)
    message = str(raised.value)
    assert message.startswith(sentence) and message.count(". ") == 0 and message.endswith(".")


@pytest.mark.parametrize(
    ("device", "extra"),
    [("cuda", "gpu"), ("tensorrt", "gpu"), ("openvino", "openvino"), ("directml", "directml")],
)
def test_device_whose_package_is_missing_gives_the_pip_line(monkeypatch, tiny, device, extra):
    on(monkeypatch, HOME[device])
    offer(monkeypatch, [CPU])
    installed(monkeypatch, {"onnxruntime": "1.32.0"})
    with pytest.raises(UserError) as raised:
        load_onnx_matter(tiny, device=device)
    message = str(raised.value)
    assert message.startswith(f"--device {device} cannot be used: {P[device]}")
    assert f"pip uninstall -y onnxruntime && pip install 'livematte[{extra}]'" in message


def test_coreml_missing_from_a_mac_build_points_to_the_standard_wheel(monkeypatch, tiny):
    on(monkeypatch, "darwin")
    offer(monkeypatch, [CPU])
    with pytest.raises(UserError, match=r"pip install 'livematte\[cpu\]'"):
        load_onnx_matter(tiny, device="coreml")


def test_unknown_device_is_refused(tiny):
    with pytest.raises(
        UserError,
        match="Unknown --device 'gpu'; choose one of auto, cpu, cuda, tensorrt, openvino, "
        "directml, coreml",
    ):
        load_onnx_matter(tiny, device="gpu")


# --- exactly one onnxruntime package -------------------------------------------------------


PACKAGES = {
    "onnxruntime": "cpu",
    "onnxruntime-gpu": "gpu",
    "onnxruntime-openvino": "openvino",
    "onnxruntime-directml": "directml",
}


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(PACKAGES, 2)))
def test_every_pair_of_runtimes_is_explained_with_its_fix(monkeypatch, first, second):
    installed(monkeypatch, {first: "1.22.0", second: "1.23.0"})
    message = runtimes.runtime_conflict()
    assert message is not None
    assert f"{first} 1.22.0 and {second} 1.23.0" in message and "same onnxruntime folder" in message
    uninstall = f"pip uninstall -y {first} {second} && "
    kept = [p for p in (first, second) if p != "onnxruntime"]
    for package in kept:
        assert f"{uninstall}pip install 'livematte[{PACKAGES[package]}]'" in message
    if len(kept) == 2:  # two accelerators: the user chooses, so both fixes are given
        assert f"to keep {first}:" in message and f"to keep {second}:" in message


def test_both_runtimes_installed_is_explained_when_loading(monkeypatch, tiny, caplog):
    installed(monkeypatch, {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"})
    offer(monkeypatch, [CPU])
    with pytest.raises(
        UserError,
        match=r"onnxruntime 1\.32\.0 and onnxruntime-gpu 1\.31\.1 .*same onnxruntime folder.*"
        r"pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'livematte\[gpu\]'",
    ):
        load_onnx_matter(tiny, device="cuda")
    with caplog.at_level(logging.WARNING, logger="livematte"):
        assert load_onnx_matter(tiny, device="cpu").device == "cpu"
    assert "same onnxruntime folder" in caplog.text


def test_one_runtime_installed_is_fine():
    assert runtimes.runtime_conflict() is None
    assert len(runtimes.installed_runtimes()) == 1  # whichever one this venv has


# --- precision and the TensorRT engine cache ---------------------------------------------


def test_tensorrt_fp16_engines_are_cached_per_model_and_precision(monkeypatch, tmp_path, own_cache):
    simulate(monkeypatch, "tensorrt")
    requests = sessions(monkeypatch, names)
    model = factories.save(factories.segmenter("NHWC", (256, 256), out_channels=1), tmp_path)
    matter = load_onnx_matter(model, device="tensorrt", precision="fp16")
    assert matter.precision == "fp16" and matter.info.endswith("(TensorrtExecutionProvider, fp16)")
    name, options = requests[0][0]
    assert name == TRT and options["trt_fp16_enable"] is True
    assert options["trt_engine_cache_enable"] is True
    folder = Path(options["trt_engine_cache_path"])
    assert folder.parent == own_cache / "livematte" / "tensorrt" and folder.is_dir()
    assert folder.name.endswith("-fp16") and folder == engine_folder(model, fp16=True)
    # Same model again: same folder (no rebuild); fp32 or another model: another folder.
    assert engine_folder(model, fp16=True) == folder
    assert engine_folder(model, fp16=False) != folder
    other = factories.save(factories.segmenter("NCHW", (48, 64)), tmp_path, "other.onnx")
    assert engine_folder(other, fp16=True).name[:16] != folder.name[:16]


@pytest.mark.parametrize("device", ["cpu", "cuda", "openvino"])
def test_fp16_of_an_fp32_model_off_tensorrt_is_refused(monkeypatch, tiny, device):
    if device != "cpu":
        simulate(monkeypatch, device)
        sessions(monkeypatch, names)
    with pytest.raises(
        UserError, match="--precision fp16 was asked for but .* use --device tensorrt"
    ):
        load_onnx_matter(tiny, device=device, precision="fp16")


def test_fp16_export_runs_as_fp16_and_refuses_fp32(tmp_path):
    model = factories.save(factories.recurrent(fp16=True), tmp_path)
    assert load_onnx_matter(model, device="cpu", precision="fp16").precision == "fp16"
    assert load_onnx_matter(model, device="cpu").precision == "fp16"
    with pytest.raises(UserError, match="is an fp16 export"):
        load_onnx_matter(model, device="cpu", precision="fp32")


# --- the built-in model, the command line and the reports ----------------------------------


BUILT_IN_MODELS = ["auto", "selfie", "pose"]


@pytest.mark.slow
@pytest.mark.parametrize("model", BUILT_IN_MODELS)
@pytest.mark.parametrize("device", ["cuda", "tensorrt", "openvino", "directml", "coreml"])
def test_built_in_models_run_on_every_accelerator_with_proof(monkeypatch, model, device):
    """Every session of a built-in model (selfie, detector, landmarks; auto on an
    accelerator takes quality best, so MODNet too) asks for the device, and the model
    reports the provider that really holds it."""
    simulate(monkeypatch, device)
    requests = sessions(monkeypatch, names)
    matter = create_matter(ModelConfig(name=model, device=device))
    assert (matter.device, matter.provider) == (device, P[device])
    best = model == "auto" and device != "openvino"  # OpenVINO here runs on the CPU
    assert matter.quality == ("best" if best else "fast")
    assert len(requests) == {"selfie": 1, "pose": 3, "auto": 4 if best else 3}[model]
    assert {names(r)[0] for r in requests} == {P[device]}
    matter.infer(np.zeros((144, 256, 3), np.uint8))  # the landscape variant opens on demand
    assert {names(r)[0] for r in requests} == {P[device]}


@pytest.mark.filterwarnings("ignore:Specified provider")
@pytest.mark.parametrize("model", BUILT_IN_MODELS)
def test_built_in_model_on_an_accelerator_that_does_not_come_up_fails_loudly(monkeypatch, model):
    simulate(monkeypatch, "cuda")
    sessions(monkeypatch, lambda requested: [CPU])
    with pytest.raises(UserError, match="--device cuda was asked for but CUDA cannot be used"):
        create_matter(ModelConfig(name=model, device="cuda"))


@pytest.mark.parametrize("model", BUILT_IN_MODELS)
def test_built_in_model_device_whose_package_is_missing_gives_the_pip_line(monkeypatch, model):
    on(monkeypatch, "linux")
    offer(monkeypatch, [CPU])
    installed(monkeypatch, {"onnxruntime": "1.32.0"})
    with pytest.raises(
        UserError, match=r"pip uninstall -y onnxruntime && pip install 'livematte\[openvino\]'"
    ):
        create_matter(ModelConfig(name=model, device="openvino"))


def test_built_in_model_fp16_is_tensorrt_only():
    """The built-in files are fp32 exports: fp16 is refused where no device makes it."""
    with pytest.raises(UserError, match="--precision fp16 was asked for but CPU runs"):
        create_matter(ModelConfig(device="cpu", precision="fp16"))


@pytest.mark.parametrize("model", BUILT_IN_MODELS)
def test_built_in_model_reports_its_runtime(model):
    matter = create_matter(ModelConfig(name=model, device="cpu"))
    assert (matter.device, matter.provider) == ("cpu", CPU)


def test_without_onnxruntime_the_built_in_model_names_the_pip_line(monkeypatch):
    """``pip install livematte`` alone has no onnxruntime: one sentence, never a traceback."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    installed(monkeypatch, {})
    with pytest.raises(UserError, match=r"install exactly one of .*'livematte\[cpu\]'"):
        create_matter(ModelConfig())


def test_cli_runs_the_built_in_model_on_the_device_asked_for(monkeypatch, tmp_path, capsys):
    simulate(monkeypatch, "openvino")
    sessions(monkeypatch, names)
    clip = write_clip(tmp_path / "in.mp4", frames=3, audio=None)
    assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "--device", "openvino"]) == 0
    err = capsys.readouterr().err
    assert "model auto on OpenVINO (OpenVINOExecutionProvider, 1 thread)" in err
    assert "(auto: selfie (landscape) on openvino (OpenVINOExecutionProvider), quality fast)" in err


def test_config_file_device_and_precision_are_checked(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[model]\ndevice = "gpu"\n')
    clip = write_clip(tmp_path / "in.mp4", frames=3, audio=None)
    assert main(["run", str(clip), "-o", "null", "--config", str(config)]) == 2
    assert "model.device must be one of auto, cpu, cuda" in capsys.readouterr().err
    assert load_config(None, {"model.precision": "fp16"}).model.precision == "fp16"


def test_run_and_bench_report_the_provider_that_ran(tmp_path, tiny, capsys):
    clip = write_clip(tmp_path / "in.mp4", frames=4, audio=None)
    argv = ["--model", tiny, "--device", "cpu"]
    assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), *argv]) == 0
    assert "(model.onnx on cpu (CPUExecutionProvider))." in capsys.readouterr().err
    report = tmp_path / "bench.json"
    assert main(["bench", str(clip), "--json", str(report), *argv]) == 0
    assert json.loads(report.read_text())["provider"] == CPU


def test_tensorrt_libraries_from_pip_wheels_are_loaded_globally(monkeypatch, tmp_path):
    assert nvidia.preload_tensorrt_libraries() == []  # no tensorrt_libs here: nothing to do
    package = tmp_path / "tensorrt_libs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("libnvinfer.so.10", "libnvonnxparser.so.10", "libunrelated.so.1"):
        (package / name).write_bytes(b"")
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []
    monkeypatch.setattr(nvidia.ctypes, "CDLL", lambda path, mode=0: calls.append((path, mode)))
    assert nvidia.preload_tensorrt_libraries() == ["libnvinfer.so.10", "libnvonnxparser.so.10"]
    assert [Path(p).name for p, _ in calls] == ["libnvinfer.so.10", "libnvonnxparser.so.10"]
    assert {mode for _, mode in calls} == {nvidia.ctypes.RTLD_GLOBAL}


def test_every_device_setting_has_a_runtime_entry():
    """config.DEVICES (what the flag and config files accept) and runtimes agree."""
    from livematte.config import DEVICES

    assert set(DEVICES) == {"auto", *runtimes.DEVICE_TABLE}
    assert set(runtimes.AUTO_ORDER) == set(runtimes.DEVICE_TABLE) - {"cpu"}
