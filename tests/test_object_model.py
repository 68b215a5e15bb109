"""`--model object`: the packaged U²-Net-p finds the subject of a picture, whatever it is."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from livematte.config import ModelConfig
from livematte.errors import UserError
from livematte.matting import OBJECT_FILE, create_matter
from livematte.matting.builtin import model_path
from livematte.matting.model_spec import BUILTIN_SPECS
from livematte.matting.onnx_matter import load_onnx_matter
from livematte.matting.spec_file import load_spec_file
from livematte.metrics import iou

MODELS = Path(__file__).resolve().parents[1] / "src" / "livematte" / "models"


def product_shot(width: int = 480, height: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """A red mug-like shape on a light grey studio background, and its mask."""
    rgb = np.full((height, width, 3), 225, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    cv2.rectangle(mask, (170, 100), (300, 280), 255, -1)
    cv2.ellipse(mask, (305, 190), (45, 50), 0, 0, 360, 255, 18)  # the handle
    rgb[mask > 0] = (190, 30, 40)
    shade = np.linspace(0.8, 1.1, width, dtype=np.float32)[None, :, None]
    rgb = np.clip(rgb * shade, 0, 255).astype(np.uint8)
    return rgb, mask


def test_the_packaged_file_is_the_one_written_down() -> None:
    path = model_path(OBJECT_FILE)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    listed = dict(
        reversed(line.split("  ", 1)) for line in (MODELS / "SHA256SUMS").read_text().splitlines()
    )
    assert listed[OBJECT_FILE] == digest
    assert digest in (MODELS / "MODELS.md").read_text()


@pytest.mark.slow
def test_object_finds_a_product_the_person_model_misses() -> None:
    rgb, mask = product_shot()
    matter = create_matter(ModelConfig(name="object"))
    assert matter.spec.family == "u2netp"
    alpha = cv2.resize(matter.infer(rgb).alpha, (rgb.shape[1], rgb.shape[0]))
    assert iou(alpha, mask) > 0.85
    selfie = create_matter(ModelConfig(name="selfie"))
    try:
        person = selfie.infer(cv2.resize(rgb, selfie.input_size(480, 360) or (480, 360))).alpha
    finally:
        selfie.close()
    assert iou(cv2.resize(person, (480, 360)), mask) < 0.5


def test_the_graph_is_recognised_without_a_type() -> None:
    """Given as a .onnx path, U²-Net-p is recognised by its seven one-channel outputs."""
    matter = load_onnx_matter(str(model_path(OBJECT_FILE)))
    assert matter.spec.family == "u2netp" and matter.spec.divide_by_max and matter.spec.minmax


@pytest.mark.slow
def test_divide_by_max_makes_exposure_irrelevant() -> None:
    """The authors' preprocessing divides by the brightest value: a darker shot of the same
    product (every pixel scaled) gives the same matte."""
    rgb, _ = product_shot()
    matter = create_matter(ModelConfig(name="object"))
    bright = matter.infer(rgb).alpha.copy()
    dark = matter.infer((rgb.astype(np.float32) * 0.5).round().astype(np.uint8)).alpha
    assert np.abs(bright - dark).mean() < 0.02


def test_a_flat_map_is_nothing_not_noise_stretched() -> None:
    from livematte.matting.onnx_matter import person_alpha

    spec = BUILTIN_SPECS["u2netp"]
    flat = np.full((1, 1, 8, 8), 0.3, np.float32)
    assert not person_alpha(flat, spec).any()
    ramp = np.linspace(0.2, 0.6, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    stretched = person_alpha(ramp, spec)
    assert stretched.min() == 0.0 and stretched.max() == pytest.approx(1.0)


def test_spec_files_take_the_new_keys(tmp_path: Path) -> None:
    spec = tmp_path / "u2.toml"
    spec.write_text("[input]\ndivide_by_max = true\n[output]\nminmax = true\n")
    loaded = load_spec_file(spec)
    assert loaded.divide_by_max and loaded.minmax
    spec.write_text('[input]\ndivide_by_max = "yes"\n')
    with pytest.raises(UserError, match="divide_by_max must be true or false"):
        load_spec_file(spec)


def test_object_refuses_the_options_of_onnx_files() -> None:
    with pytest.raises(UserError, match="own description"):
        create_matter(ModelConfig(name="object", type="modnet"))
    with pytest.raises(UserError, match="downsample-ratio"):
        create_matter(ModelConfig(name="object", downsample_ratio=0.5))


def test_object_starts_from_its_own_stage_defaults_and_the_user_still_wins(
    tmp_path: Path,
) -> None:
    from livematte.config import Config, config_for_call, load_config

    assert load_config(overrides={"model.name": "object"}).refine.enabled is False
    assert config_for_call(None, model="object").refine.enabled is False
    assert load_config().refine.enabled is True  # the people models keep theirs
    toml = tmp_path / "c.toml"
    toml.write_text('[model]\nname = "object"\n[refine]\nenabled = true\n')
    assert load_config(toml).refine.enabled is True  # the file wins over the model's default
    assert load_config(toml, {"refine.enabled": False}).refine.enabled is False  # a flag too
    toml.write_text('[model]\nname = "object"\n')
    assert load_config(toml).refine.enabled is False
    assert load_config(toml, {"model.name": "auto"}).refine.enabled is True
    mine = Config()  # a Config the caller built: settings at the old model's defaults move
    assert config_for_call(mine, model="object").refine.enabled is False
    mine.refine.enabled = False
    mine.model.name = "object"
    assert config_for_call(mine, model="auto").refine.enabled is True
    mine.refine.radius = 5.0  # not a setting object has its own default for: kept
    assert config_for_call(mine, model="object").refine.radius == 5.0


def test_a_manifest_row_naming_object_starts_from_its_defaults(tmp_path: Path) -> None:
    from livematte.config import Config
    from livematte.run.manifest import plan_clips

    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    manifest = tmp_path / "list.csv"
    manifest.write_text(
        "input,model.name,refine.enabled\na.png,object,\nb.png,object,true\nc.png,,\n"
    )
    plan = plan_clips([], tmp_path / "out", Config(), manifest=manifest)
    refine = {job.input.name: job.config.refine.enabled for job in plan.jobs}
    assert refine == {"a.png": False, "b.png": True, "c.png": True}
