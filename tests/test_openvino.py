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
    assert f"(model.onnx on openvino ({OPENVINO}))" in capsys.readouterr().err
