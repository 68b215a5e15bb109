"""MODNet built in (--model modnet) and --quality fast|best|auto under --model auto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import person_frames, shared_data, write_clip

from livematte.cli import main
from livematte.composite import ColourBackground
from livematte.config import Config, ModelConfig, load_config
from livematte.controls import LiveControls
from livematte.errors import UserError
from livematte.matting import create_matter, quality
from livematte.matting import modnet as modnet_module
from livematte.matting.auto import AutoMatter
from livematte.matting.base import Matte, Matter
from livematte.matting.best import BestMatter, crop_for
from livematte.matting.modnet import demo_size
from livematte.metrics import iou, mad
from livematte.stages import Stages

P3M = "images/p3m_demo"


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1280, 720), (896, 512)), ((854, 480), (832, 480)), ((1080, 1080), (512, 512))],
)
def test_modnet_input_follows_its_own_demo(size: tuple[int, int], expected: Any) -> None:
    """Short side to 512 when both sides are larger, else kept; sides down to 32s."""
    assert demo_size(*size) == expected


@pytest.fixture(scope="module")
def modnet() -> Any:
    return create_matter(ModelConfig(name="modnet", device="cpu", threads=1))


@pytest.mark.slow
def test_modnet_mattes_a_real_portrait(modnet: Any) -> None:
    """The real MODNet file, run as --model modnet through the stages, on a P3M portrait:
    the person kept, the background gone, soft hair in between."""
    folder = shared_data(P3M)
    rgb = read_rgb(folder / "images" / "p_07141906.jpg")
    truth = cv2.imread(str(folder / "alpha" / "p_07141906.png"), cv2.IMREAD_GRAYSCALE)
    assert (modnet.name, modnet.quality, modnet.provider) == (
        "modnet",
        "best",
        "CPUExecutionProvider",
    )
    alpha = Stages(Config(), matter=modnet).matte(rgb).alpha
    assert alpha.shape == truth.shape
    assert iou(alpha, truth) > 0.95
    assert mad(alpha, truth) < 10.0  # x1e3: mean error under 1%
    soft = np.count_nonzero((alpha > 20) & (alpha < 235)) / alpha.size
    assert 0.002 < soft < 0.1  # a matte's edge band, neither hard nor hazy


def test_modnet_describes_what_ran(modnet: Any) -> None:
    assert modnet.describe()["quality"] == "best"
    assert "model modnet" in modnet.info


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("CPUExecutionProvider", "fast"),
        ("OpenVINOExecutionProvider", "fast"),  # OpenVINO on the CPU
        ("OpenVINOExecutionProvider:GPU", "best"),
        ("CUDAExecutionProvider", "best"),
        ("TensorrtExecutionProvider", "best"),
        ("DmlExecutionProvider", "best"),
        ("CoreMLExecutionProvider", "best"),
    ],
)
def test_auto_quality_is_best_on_a_gpu_and_fast_on_a_cpu(provider: str, expected: str) -> None:
    assert quality.resolve_quality("auto", provider) == expected


@pytest.mark.parametrize("provider", ["CPUExecutionProvider", "CUDAExecutionProvider"])
@pytest.mark.parametrize("typed", ["fast", "best"])
def test_a_typed_quality_wins_over_the_device(typed: str, provider: str) -> None:
    assert quality.resolve_quality(typed, provider) == typed


def test_auto_quality_on_a_cpu_builds_the_fast_model_without_modnet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_modnet(config: ModelConfig) -> None:
        raise AssertionError("MODNet loaded for a CPU run at quality auto")

    monkeypatch.setattr(quality, "first_provider", lambda device: "CPUExecutionProvider")
    monkeypatch.setattr("livematte.matting.modnet.load_modnet", no_modnet)
    matter = create_matter(ModelConfig(name="auto", threads=1))
    assert isinstance(matter, AutoMatter) and matter.quality == "fast"


def test_auto_quality_on_a_gpu_provider_builds_best(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider faked as CUDA (before and after the session opens): auto takes best."""
    monkeypatch.setattr(quality, "first_provider", lambda device: "CUDAExecutionProvider")
    loaded = []
    original = modnet_module.load_modnet

    def spy(config: ModelConfig) -> Any:
        matter = original(config)
        matter.provider = "CUDAExecutionProvider"
        loaded.append(matter)
        return matter

    monkeypatch.setattr(modnet_module, "load_modnet", spy)
    matter = create_matter(ModelConfig(name="auto", threads=1))
    assert isinstance(matter, BestMatter) and loaded
    assert matter.describe()["quality"] == "best"


@pytest.mark.slow
def test_quality_best_on_a_cpu_runs_modnet_on_the_person() -> None:
    """A typed best runs on the CPU: the person in a P3M portrait mattes well."""
    folder = shared_data(P3M)
    rgb = read_rgb(folder / "images" / "p_818e689d.jpg")
    truth = cv2.imread(str(folder / "alpha" / "p_818e689d.png"), cv2.IMREAD_GRAYSCALE)
    matter = create_matter(ModelConfig(name="auto", quality="best", threads=1))
    assert isinstance(matter, BestMatter)
    alpha = Stages(Config(), matter=matter).matte(rgb).alpha
    assert iou(alpha, truth) > 0.95 and mad(alpha, truth) < 15.0
    assert matter.name.startswith(("best: selfie", "best: pose"))


def test_crop_sides_are_multiples_of_32_inside_the_canvas() -> None:
    region = np.zeros((144, 256), np.uint8)
    region[40:100, 100:140] = 1
    box = crop_for(region, 896, 512, 0.08)
    assert box is not None
    assert (box.x1 - box.x0) % 32 == 0 and (box.y1 - box.y0) % 32 == 0
    assert box.x0 >= 0 and box.x1 <= 896 and box.y0 >= 0 and box.y1 <= 512
    # the region (350..490 x 142..356 on the canvas) is inside, with a margin
    assert box.x0 < 350 - 20 and box.x1 > 490 + 20 and box.y0 < 142 and box.y1 > 356
    assert crop_for(np.zeros((144, 256), np.uint8), 896, 512, 0.08) is None


def test_quality_flag_reaches_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class Seen(Exception):
        pass

    def spy(self: Stages, config: Config, *args: Any, **kwargs: Any) -> None:
        seen["config"] = config
        raise Seen

    monkeypatch.setattr(Stages, "__init__", spy)
    with pytest.raises(Seen):
        main(["eval", "clip", "--quality", "fast"])
    assert seen["config"].model.quality == "fast"


def test_an_unknown_quality_is_refused() -> None:
    with pytest.raises(UserError, match="model.quality must be one of auto, fast, best"):
        load_config(overrides={"model.quality": "great"})


def test_auto_quality_that_lands_on_the_cpu_falls_back_to_fast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An accelerator that fails to start leaves MODNet on the CPU: auto gives fast."""
    monkeypatch.setattr(quality, "first_provider", lambda device: "CUDAExecutionProvider")
    matter = create_matter(ModelConfig(name="auto", threads=1))
    assert isinstance(matter, AutoMatter)


class _Fixed(Matter):
    """A model that always answers the same low-resolution alpha."""

    def __init__(self, quality: str) -> None:
        self.quality = quality
        self.alpha = np.zeros((18, 32), np.float32)
        self.alpha[4:14, 10:22] = 1.0
        self.alpha[4:14, 9] = 0.5

    def infer(self, rgb: np.ndarray) -> Matte:
        return Matte(self.alpha.copy())


def test_a_true_matte_is_upsampled_not_refined() -> None:
    """The guided filter reshapes a segmenter's edge; a best-quality matte keeps its own."""
    rgb = np.random.default_rng(1).integers(0, 256, (180, 320, 3), np.uint8)
    plain = Config()
    plain.refine.enabled = False
    plain.temporal.enabled = False
    upsampled = Stages(plain, matter=_Fixed("fast")).matte(rgb).alpha
    config = Config()
    config.temporal.enabled = False
    best = Stages(config, matter=_Fixed("best")).matte(rgb).alpha
    fast = Stages(config, matter=_Fixed("fast")).matte(rgb).alpha
    assert np.array_equal(best, upsampled)
    assert not np.array_equal(fast, upsampled)


def test_the_page_switches_quality_under_auto_only() -> None:
    controls = LiveControls([ColourBackground((0, 0, 0))])
    with pytest.raises(ValueError, match="--model auto only"):
        controls.apply({"quality": "best"})
    controls.quality = "fast"
    with pytest.raises(ValueError, match="fast, best"):
        controls.apply({"quality": "great"})
    assert controls.apply({"quality": "best"}) == "quality best"
    assert controls.state()["quality"] == "best"


@pytest.mark.slow
def test_switching_quality_rebuilds_the_model() -> None:
    config = Config()
    config.model.quality, config.model.threads = "fast", 1
    stages = Stages(config)
    assert isinstance(stages.matter, AutoMatter)
    stages.switch_quality("best")
    assert isinstance(stages.matter, BestMatter) and stages.matter.quality == "best"
    rgb = np.full((180, 320, 3), 128, np.uint8)
    assert stages.matte(rgb).alpha.shape == (180, 320)
    stages.switch_quality("fast")
    assert isinstance(stages.matter, AutoMatter)
    stages.close()


@pytest.mark.slow
def test_eval_with_quality_best_names_the_quality_and_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames=3, audio=None)
    json_path = tmp_path / "scores.json"
    assert main(["eval", str(clip), "--quality", "best", "--json", str(json_path)]) == 0
    data = json.loads(json_path.read_text())
    assert data["quality"] == "best" and data["provider"] == "CPUExecutionProvider"
    assert data["models"][0].startswith("best: ")
    assert "(quality best)" in capsys.readouterr().err


@pytest.mark.slow
def test_best_keeps_its_crop_while_the_person_stays_inside() -> None:
    """A still person gets the same MODNet input every frame: the crop does not wander."""
    matter = create_matter(ModelConfig(name="auto", quality="best", threads=1))
    assert isinstance(matter, BestMatter)
    frames = list(person_frames(3, 448, 256))
    for rgb in frames:
        matter.infer(rgb)
    first = matter.crop
    assert first is not None and first.area < 448 * 256  # a crop, not the whole frame
    for _ in range(2):
        matter.infer(frames[-1])
        assert matter.crop == first


def test_a_live_run_crops_the_true_matte_at_its_live_size(monkeypatch) -> None:
    """Live, MODNet runs on a crop shrunk to LIVE_MAX_SHORT so its thread keeps pace; a
    file run keeps MAX_SHORT."""
    from livematte.matting.best import LIVE_MAX_SHORT, MAX_SHORT
    from livematte.run.live_quality import live_sized

    config = Config()
    config.model.quality, config.model.threads = "best", 1
    frame = next(person_frames(1, 1280, 720))
    sizes = {}
    for live in (False, True):
        stages = Stages(config)
        if live:
            live_sized(stages)
        seen: list[tuple[int, int]] = []
        modnet = stages.matter.modnet  # type: ignore[attr-defined]
        real = modnet.infer
        monkeypatch.setattr(
            modnet,
            "infer",
            lambda rgb, real=real, seen=seen: seen.append(rgb.shape[:2]) or real(rgb),
        )
        stages.matte(frame)
        stages.close()
        sizes[live] = min(seen[-1])
    assert sizes[True] <= LIVE_MAX_SHORT < sizes[False] <= MAX_SHORT
