"""--device openvino for real: onnxruntime-openvino running models on this machine's CPU.

onnxruntime-openvino cannot share a virtual environment with onnxruntime (both own the
``onnxruntime/`` folder), so these tests run in their own: ``make test-openvino`` builds
``.venv-openvino`` with ``.[openvino,dev]`` and runs them there (``make test`` does both).
In the main environment they skip.
"""

from __future__ import annotations

import json

import numpy as np
import onnx_factories as factories
import onnxruntime as ort
import pytest
from conftest import person_frames, shared_data, write_clip

from livematte.cli import main
from livematte.matting.onnx_matter import load_onnx_matter

OPENVINO = "OpenVINOExecutionProvider"

pytestmark = pytest.mark.skipif(
    OPENVINO not in ort.get_available_providers(),
    reason="this onnxruntime has no OpenVINO provider; `make test-openvino` runs these in "
    ".venv-openvino",
)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a > 0.5, b > 0.5
    return float((x & y).sum() / max((x | y).sum(), 1))


def test_selfie_model_on_openvino_matches_the_cpu():
    model = str(shared_data("models/mediapipe_selfie_segmentation.onnx"))
    on_openvino = load_onnx_matter(model, device="openvino")
    on_cpu = load_onnx_matter(model, device="cpu")
    assert (on_openvino.device, on_openvino.provider) == ("openvino", OPENVINO)
    assert on_openvino.session.get_providers()[0] == OPENVINO
    for rgb in person_frames(4, width=640, height=360):
        ours, theirs = on_openvino.infer(rgb).alpha, on_cpu.infer(rgb).alpha
        assert theirs.mean() > 0.05  # the CPU found the person, so the comparison means something
        assert mask_iou(ours, theirs) >= 0.98
        assert float(np.abs(ours - theirs).mean()) < 0.01


def test_recurrent_model_carries_its_state_on_openvino(tmp_path):
    matter = load_onnx_matter(factories.save(factories.recurrent(), tmp_path), device="openvino")
    assert matter.provider == OPENVINO
    frame = np.zeros((72, 128, 3), np.uint8)
    alphas = [float(matter.infer(frame).alpha.mean()) for _ in range(3)]
    assert alphas == pytest.approx([0.1, 0.2, 0.3], abs=1e-3)


def test_auto_picks_openvino_and_the_reports_say_so(tmp_path, capsys):
    model = factories.save(factories.segmenter("NHWC", (256, 256), out_channels=1), tmp_path)
    assert load_onnx_matter(model, device="auto").provider == OPENVINO
    clip = write_clip(tmp_path / "in.mp4", frames=4, audio=None)
    report = tmp_path / "bench.json"
    assert (
        main(["bench", str(clip), "--model", model, "--device", "openvino", "--json", str(report)])
        == 0
    )
    assert json.loads(report.read_text())["provider"] == OPENVINO
    capsys.readouterr()
    assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", model]) == 0
    assert f"(model.onnx on openvino ({OPENVINO})" in capsys.readouterr().err


def davis_frames(count: int) -> list[np.ndarray]:
    """Full-body frames of a real clip (hike), RGB, at the pose work size."""
    import cv2

    folder = shared_data("frames_gt/davis2016_hike/images")
    names = sorted(folder.iterdir())[:count]
    return [cv2.cvtColor(cv2.imread(str(name)), cv2.COLOR_BGR2RGB) for name in names]


@pytest.mark.parametrize("model", ["selfie", "pose", "auto"])
def test_built_in_models_on_openvino_match_the_cpu(model):
    """The packaged models on OpenVINO: the same mattes as on onnxruntime's CPU provider.

    Each frame starts afresh (reset): the pose tracker steers its next crop by its own
    landmarks, so float rounding between devices compounds over a clip (IoU 0.96-0.998
    by the sixth tracked frame of hike), while one frame compares the models themselves. A
    fresh pose frame also counts its people on squares across the frame (the detector run
    several times), so its edge may move by a pixel: IoU 0.998 on hike's first frames."""
    from livematte.config import ModelConfig
    from livematte.matting import create_matter

    on_openvino = create_matter(ModelConfig(name=model, device="openvino"))
    on_cpu = create_matter(ModelConfig(name=model, device="cpu"))
    assert (on_openvino.device, on_openvino.provider) == ("openvino", OPENVINO)
    frames = davis_frames(6) if model != "selfie" else list(person_frames(4, 640, 360))
    for rgb in frames:
        on_openvino.reset()
        on_cpu.reset()
        ours, theirs = on_openvino.infer(rgb).alpha, on_cpu.infer(rgb).alpha
        assert theirs.mean() > 0.02  # the CPU found the person
        assert mask_iou(ours, theirs) >= (0.999 if model == "selfie" else 0.995)
        assert float(np.abs(ours - theirs).mean()) < 0.002


def test_run_with_the_default_model_on_openvino_says_so(tmp_path, capsys):
    clip = write_clip(tmp_path / "in.mp4", frames=4, audio=None)
    assert main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "--device", "openvino"]) == 0
    err = capsys.readouterr().err
    assert "model auto on OpenVINO (OpenVINOExecutionProvider" in err
    assert f"on openvino ({OPENVINO})" in err
