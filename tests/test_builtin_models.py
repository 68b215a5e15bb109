"""The built-in ONNX models in the package: the files are the ones listed, and each opens in
onnxruntime with the signature the run-time code feeds (no mediapipe needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

import livematte
from livematte.demo import astronaut

MODELS = Path(livematte.__file__).resolve().parent / "models"

# file -> (input shape, [(output name, output shape)]), as the .tflite models have them.
SIGNATURES = {
    "selfie_segmentation.onnx": ((1, 256, 256, 3), [("activation_10", (1, 256, 256, 1))]),
    "selfie_segmentation_landscape.onnx": (
        (1, 144, 256, 3),
        [("segment_back", (1, 144, 256, 1))],
    ),
    "pose_detection.onnx": (
        (1, 224, 224, 3),
        [("Identity", (1, 2254, 12)), ("Identity_1", (1, 2254, 1))],
    ),
    "pose_landmark_full.onnx": (
        (1, 256, 256, 3),
        [
            ("Identity", (1, 195)),
            ("Identity_1", (1, 1)),
            ("Identity_2", (1, 256, 256, 1)),
            ("Identity_3", (1, 64, 64, 39)),
            ("Identity_4", (1, 117)),
        ],
    ),
}


def listed_sums() -> dict[str, str]:
    sums = {}
    for line in (MODELS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    return sums


def session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODELS / name), providers=["CPUExecutionProvider"])


def test_files_match_their_listed_sha256() -> None:
    sums = listed_sums()
    assert list(sums) == sorted(sums), "SHA256SUMS is sorted by file name"
    assert set(SIGNATURES) <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == digest, name


def test_every_model_file_is_listed_and_documented() -> None:
    sums = listed_sums()
    documented = (MODELS / "MODELS.md").read_text()
    for path in MODELS.glob("*.onnx"):
        assert path.name in sums, f"{path.name} is not in SHA256SUMS"
        assert sums[path.name] in documented, f"MODELS.md lacks {path.name}'s sha256"
    assert "Apache" in (MODELS / "NOTICE").read_text()


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_model_opens_with_the_tflite_signature(name: str) -> None:
    in_shape, outputs = SIGNATURES[name]
    sess = session(name)
    (inp,) = sess.get_inputs()
    assert (inp.name, tuple(inp.shape), inp.type) == ("input", in_shape, "tensor(float)")
    assert [(o.name, tuple(o.shape)) for o in sess.get_outputs()] == outputs
    results = sess.run(None, {"input": np.zeros(in_shape, np.float32)})
    assert [r.shape for r in results] == [shape for _, shape in outputs]
    assert all(r.dtype == np.float32 and np.isfinite(r).all() for r in results)


def _astronaut(width: int, height: int) -> np.ndarray:
    """A real person (the demo's astronaut), RGB in [0, 1], batch of one."""
    rgb = cv2.resize(astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    return (rgb.astype(np.float32) / 255.0)[None]


@pytest.mark.parametrize(
    ("name", "size"),
    [("selfie_segmentation.onnx", (256, 256)), ("selfie_segmentation_landscape.onnx", (256, 144))],
)
def test_selfie_models_find_the_person(name: str, size: tuple[int, int]) -> None:
    width, height = size
    (mask,) = session(name).run(None, {"input": _astronaut(width, height)})
    mask = mask[0, :, :, 0]
    # The astronaut fills the middle of the picture; the top right corner is background.
    assert mask[height // 2 - 10 : height // 2 + 10, width // 2 - 10 : width // 2 + 10].min() > 0.9
    assert mask[:10, -10:].max() < 0.1
    assert 0.3 < (mask > 0.5).mean() < 0.8


def test_pose_models_find_the_person() -> None:
    _, scores = session("pose_detection.onnx").run(None, {"input": _astronaut(224, 224) * 2 - 1})
    assert 1 / (1 + np.exp(-scores.max())) > 0.5  # the detector's threshold
    landmarks, presence, segmentation, _, _ = session("pose_landmark_full.onnx").run(
        None, {"input": _astronaut(256, 256)}
    )
    assert presence[0, 0] > 0.5
    # Segmentation logits: the middle of the crop is person, the top right corner is not.
    assert segmentation[0, 118:138, 118:138, 0].min() > 0
    assert segmentation[0, :10, -10:, 0].max() < 0
