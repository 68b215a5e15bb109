"""ONNX models on onnxruntime: specs, recurrent state, real models' quality."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import onnx_factories as factories
import onnxruntime as ort
import pytest

from livematte.config import Config
from livematte.errors import UserError
from livematte.matting import providers
from livematte.matting.base import Matter
from livematte.matting.model_spec import BUILTIN_SPECS, ModelSpec, TensorInfo, detect_family
from livematte.matting.onnx_matter import (
    RvmMatter,
    auto_downsample_ratio,
    load_onnx_matter,
)
from livematte.matting.spec_file import load_spec_file
from livematte.matting.spec_resolve import resolve_spec
from livematte.stages import Stages

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MODELS = DATA / "models"
CPU, CUDA, TRT = (providers.PROVIDERS[d] for d in ("cpu", "cuda", "tensorrt"))


def write_spec(folder: Path, text: str) -> str:
    path = folder / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def red_left_blue_right(h: int = 480, w: int = 640) -> np.ndarray:
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, : w // 2, 0] = 255
    frame[:, w // 2 :, 2] = 255
    return frame


IDENTITY_SPEC = """
[input]
layout = "{layout}"
color_order = "{order}"
[output]
channel = {channel}
type = "{type}"
"""


# --- stateless segmenters --------------------------------------------------------------


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_segmenter_reads_layout_and_colour_order(tmp_path, layout, order):
    model = factories.save(factories.segmenter(layout), tmp_path)
    spec = write_spec(
        tmp_path, IDENTITY_SPEC.format(layout=layout, order=order, channel=1, type="softmax")
    )
    matter = load_onnx_matter(model, spec_path=spec, device="cpu")
    assert isinstance(matter, Matter)
    alpha = matter.infer(red_left_blue_right()).alpha
    assert alpha.shape == (48, 64) and alpha.dtype == np.float32  # model resolution
    person_left = order == "RGB"  # the model's first channel is red in RGB, blue in BGR
    left, right = alpha[:, :30].mean(), alpha[:, 34:].mean()
    assert (left, right) == pytest.approx((1.0, 0.0) if person_left else (0.0, 1.0), abs=1e-6)


@pytest.mark.parametrize("channels", [1, 2])
def test_logits_get_sigmoid_or_softmax(tmp_path, channels):
    model = factories.save(factories.segmenter(out_channels=channels, logits=True), tmp_path)
    spec = write_spec(
        tmp_path,
        IDENTITY_SPEC.format(layout="NCHW", order="RGB", channel=channels - 1, type="logits"),
    )
    frame = np.full((48, 64, 3), 153, np.uint8)  # red 0.6 -> logit 20 * 0.1 = 2
    alpha = load_onnx_matter(model, spec_path=spec, device="cpu").infer(frame).alpha
    expected = 1 / (1 + np.exp(-2.0)) if channels == 1 else 1 / (1 + np.exp(-4.0))  # 2 - (-2)
    assert alpha == pytest.approx(np.full((48, 64), expected), abs=1e-3)


def test_dynamic_model_uses_long_side_and_multiple(tmp_path):
    model = factories.save(factories.segmenter(size=None, out_channels=1), tmp_path)
    spec = write_spec(tmp_path, "[input]\nlong_side = 128\nmultiple = 32\n")
    matter = load_onnx_matter(model, spec_path=spec, device="cpu")
    assert matter.infer(red_left_blue_right(720, 1280)).alpha.shape == (64, 128)
    assert matter.infer(red_left_blue_right(480, 480)).alpha.shape == (128, 128)


def test_input_packer_normalises_with_scale_mean_std(tmp_path):
    model = factories.save(factories.segmenter(out_channels=1), tmp_path)
    spec = write_spec(tmp_path, "[input]\nscale = 1.0\nmean = [100.0, 0, 0]\nstd = [50.0, 1, 1]\n")
    frame = np.full((48, 64, 3), 125, np.uint8)  # (125 - 100) / 50 = 0.5
    alpha = load_onnx_matter(model, spec_path=spec, device="cpu").infer(frame).alpha
    assert alpha == pytest.approx(np.full((48, 64), 0.5), abs=1e-6)


# --- descriptions: detection, files, validation ------------------------------------------


def infos(model) -> tuple[list[TensorInfo], list[TensorInfo]]:
    session = ort.InferenceSession(model.SerializeToString(), providers=[CPU])
    return (
        [TensorInfo(i.name, tuple(i.shape), i.type) for i in session.get_inputs()],
        [TensorInfo(o.name, tuple(o.shape), o.type) for o in session.get_outputs()],
    )


@pytest.mark.parametrize(
    ("family", "model"),
    [
        ("rvm", factories.recurrent()),
        ("sinet", factories.segmenter("NCHW", (320, 320), input_name="data", output_name="out")),
        (
            "mediapipe-selfie",
            factories.segmenter("NHWC", (256, 256), out_channels=1, input_name="input_1:0"),
        ),
        ("mediapipe-selfie", factories.segmenter("NHWC", (144, 256), out_channels=1)),
        ("pphumanseg", factories.segmenter("NCHW", (192, 192), input_name="x")),
        (
            "modnet",
            factories.segmenter(
                "NCHW", None, out_channels=1, input_name="input", output_name="output"
            ),
        ),
        (None, factories.segmenter("NCHW", (48, 64))),
    ],
)
def test_families_are_recognised_from_the_graph(family, model):
    assert detect_family(*infos(model)) == family


def test_unrecognised_model_names_its_signature_and_the_fix(tmp_path):
    model = factories.save(factories.segmenter(), tmp_path, "mystery.onnx")
    with pytest.raises(
        UserError, match=r"mystery\.onnx.*image\[1,3,48,64\].*--model-type.*--model-spec"
    ):
        load_onnx_matter(model, device="cpu")


def test_model_type_overrides_detection_and_is_checked(tmp_path):
    model = factories.save(factories.segmenter("NCHW", (48, 64)), tmp_path)
    with pytest.raises(
        UserError, match=r"channels where layout NHWC puts them; its shape looks NCHW"
    ):
        load_onnx_matter(model, model_type="mediapipe-selfie", device="cpu")
    matter = load_onnx_matter(model, model_type="pphumanseg", device="cpu")
    assert matter.spec.family == "pphumanseg" and matter.infer(
        red_left_blue_right()
    ).alpha.shape == (48, 64)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "[input]\nsize = [32, 32]",
            r"input 'image' is 48x64 \(height x width\) but the description says size = \[32, 32\]",
        ),
        ('[output]\nname = "alpha"', r"there is no output named 'alpha' \(there are 'mask'\)"),
        (
            "[output]\nchannel = 2",
            r"output 'mask' has 2 channel\(s\) in layout NCHW but the description reads channel 2",
        ),
        ('[input]\nname = "img"\n[output]\nchannel = 5', r"no input named 'img'.*"),
        (
            '[input]\nlayout = "NHWC"\n[output]\nlayout = "NCHW"',
            r"input 'image' has 64 channels where layout NHWC",
        ),
    ],
)
def test_mismatches_are_named_exactly(tmp_path, spec, message):
    model = factories.save(factories.segmenter(), tmp_path)
    with pytest.raises(UserError, match=message):
        load_onnx_matter(model, spec_path=write_spec(tmp_path, spec), device="cpu")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[input]\ncolour_order = 'RGB'", r"unknown keys input\.colour_order"),
        ("[input]\nmean = [0.5, 0.5]", r"input\.mean must be a list of 3 numbers"),
        ("[input]\nstd = [1, 0, 1]", r"input\.std must not contain 0"),
        (
            "[output]\ntype = 'sigmoid'",
            r"output\.type must be one of probability, softmax, logits, labels",
        ),
        ("[input\n", r"not valid TOML"),
    ],
)
def test_bad_spec_files_say_which_key(tmp_path, text, message):
    with pytest.raises(UserError, match=message):
        load_spec_file(write_spec(tmp_path, text))


def test_forced_type_reading_a_multichannel_output_is_refused(tmp_path):
    """--model-type modnet on a SINet-shaped graph would read channel 0, the background."""
    sinet_like = factories.segmenter("NCHW", (320, 320), input_name="data", output_name="prob")
    model = factories.save(sinet_like, tmp_path)
    with pytest.raises(
        UserError,
        match=r"output 'prob' has 2 channels in layout NCHW but the description reads a "
        r"one-channel probability output and does not say which channel is the person.*"
        r"it looks like a sinet model, so use --model-type sinet",
    ):
        load_onnx_matter(model, model_type="modnet", device="cpu")


@pytest.mark.parametrize("output_type", ["probability", "logits"])
def test_spec_must_name_the_person_channel_of_a_multichannel_output(tmp_path, output_type):
    model = factories.save(factories.segmenter(), tmp_path)
    unnamed = write_spec(tmp_path, f'[output]\ntype = "{output_type}"')
    with pytest.raises(UserError, match=r"does not say which channel is the person"):
        load_onnx_matter(model, spec_path=unnamed, device="cpu")
    named = write_spec(tmp_path, f'[output]\ntype = "{output_type}"\nchannel = 1')
    assert load_onnx_matter(model, spec_path=named, device="cpu").spec.channel == 1


def test_labels_must_name_the_person_class():
    ins = [TensorInfo("image", (1, 3, 48, 64), "tensor(float)")]
    outs = [TensorInfo("classes", (1, 48, 64), "tensor(int64)")]
    with pytest.raises(UserError, match=r"does not say which class is the person"):
        resolve_spec(ModelSpec(output_type="labels"), "m.onnx", ins, outs)
    assert resolve_spec(ModelSpec(output_type="labels", channel=15), "m.onnx", ins, outs)


def test_shared_sinet_forced_as_modnet_is_refused():
    model = need(MODELS / "sinet_softmax.onnx")
    with pytest.raises(UserError, match=r"use --model-type sinet"):
        load_onnx_matter(str(model), model_type="modnet", device="cpu")


def test_spec_and_type_together_are_refused(tmp_path):
    model = factories.save(factories.segmenter(), tmp_path)
    with pytest.raises(UserError, match="either --model-type or --model-spec"):
        load_onnx_matter(
            model, model_type="sinet", spec_path=write_spec(tmp_path, ""), device="cpu"
        )


def test_example_configs_load_and_sinet_matches_the_builtin():
    configs = sorted((REPO / "configs").glob("model-*.toml"))
    assert len(configs) >= 2
    specs = {path.name: load_spec_file(path) for path in configs}
    sinet = specs["model-sinet.toml"]
    builtin = BUILTIN_SPECS["sinet"]
    assert sinet.std == pytest.approx(builtin.std) and sinet.mean == pytest.approx(builtin.mean)
    named = dataclasses.replace(builtin, input_name="data", output_name="Softmax/1", std=sinet.std)
    assert sinet == named


def test_input_size_rounds_to_the_multiple():
    spec = ModelSpec(long_side=512, multiple=32)
    assert spec.input_size(720, 1280) == (288, 512)
    assert spec.input_size(1080, 1920) == (288, 512)
    assert spec.input_size(1280, 720) == (512, 288)
    assert ModelSpec(size=(256, 256)).input_size(720, 1280) == (256, 256)


def test_rvm_signature_is_checked():
    ins, outs = infos(factories.recurrent())
    with pytest.raises(UserError, match=r"inputs r4i are missing; outputs fgr are missing"):
        resolve_spec(
            BUILTIN_SPECS["rvm"],
            "rvm.onnx",
            [i for i in ins if i.name != "r4i"],
            [o for o in outs if o.name != "fgr"],
        )


# --- Robust Video Matting: recurrent state -------------------------------------------------


@pytest.fixture
def rvm(tmp_path) -> RvmMatter:
    matter = load_onnx_matter(factories.save(factories.recurrent(), tmp_path), device="cpu")
    assert isinstance(matter, RvmMatter)
    return matter


def counts(matter, frames) -> list[float]:
    return [round(float(matter.infer(f).alpha.mean()), 3) for f in frames]


def test_rvm_state_is_carried_and_reset(rvm):
    frame = np.full((72, 128, 3), 100, np.uint8)
    assert counts(rvm, [frame] * 3) == [0.1, 0.2, 0.3]
    rvm.reset()
    assert counts(rvm, [frame] * 2) == [0.1, 0.2]


def test_rvm_returns_full_size_alpha_and_foreground(rvm):
    frame = red_left_blue_right(72, 128)
    matte = rvm.infer(frame)
    assert matte.alpha.shape == (72, 128) and matte.alpha.dtype == np.float32
    assert matte.foreground is not None and matte.foreground.dtype == np.uint8
    np.testing.assert_array_equal(matte.foreground, frame)


def test_rvm_resets_on_size_change(rvm):
    small, large = np.full((72, 128, 3), 100, np.uint8), np.full((90, 160, 3), 100, np.uint8)
    assert counts(rvm, [small, small, large, large]) == [0.1, 0.2, 0.1, 0.2]


def test_rvm_starts_afresh_at_a_scene_cut(rvm):
    """The stages find the cut (one detector for every model) and reset the model."""
    stages = Stages(Config(), matter=rvm)
    shot, cut = np.full((90, 160, 3), 100, np.uint8), np.full((90, 160, 3), 250, np.uint8)
    for frame in (shot, shot, shot):
        stages.matte(frame)
    before = rvm.resets
    stages.matte(cut)
    assert rvm.resets == before + 1 and stages.scene_cuts == 1


def test_rvm_fp16_feeds_float32_ratio_and_carries_state(tmp_path):
    matter = load_onnx_matter(
        factories.save(factories.recurrent(fp16=True), tmp_path), device="cpu"
    )
    frame = red_left_blue_right(36, 64)
    assert counts(matter, [frame] * 3) == [0.1, 0.2, 0.3]
    np.testing.assert_array_equal(matter.infer(frame).foreground, frame)


def test_rvm_downsample_ratio_is_automatic_unless_given(tmp_path):
    model = factories.save(factories.recurrent(alpha_from_ratio=True), tmp_path)
    hd = np.zeros((720, 1280, 3), np.uint8)
    assert load_onnx_matter(model, device="cpu").infer(hd).alpha.mean() == pytest.approx(0.4)
    given = load_onnx_matter(model, device="cpu", downsample_ratio=0.25)
    assert given.infer(hd).alpha.mean() == pytest.approx(0.25)
    assert auto_downsample_ratio(2160, 3840) == pytest.approx(512 / 3840)
    assert auto_downsample_ratio(240, 320) == 1.0


def test_missing_model_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_onnx_matter(str(tmp_path / "nope.onnx"))


def test_broken_model_file_is_a_user_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(UserError, match="onnxruntime cannot load the model"):
        load_onnx_matter(str(path), device="cpu")


# --- real models from ../shared/data --------------------------------------------------------


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (test data lives in ../shared/data beside the repo)")
    return path


def iou(alpha: np.ndarray, mask: np.ndarray) -> float:
    if alpha.shape != mask.shape:
        alpha = cv2.resize(alpha, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
    a, b = alpha > 0.5, mask > 127
    return float((a & b).sum() / max((a | b).sum(), 1))


def davis(clip: str, count: int = 10) -> list[tuple[np.ndarray, np.ndarray]]:
    folder = need(DATA / "frames_gt" / f"davis2016_{clip}")
    names = sorted((folder / "images").glob("*.jpg"))[::8][:count]
    return [
        (
            cv2.cvtColor(cv2.imread(str(name)), cv2.COLOR_BGR2RGB),
            cv2.imread(str(folder / "masks" / f"{name.stem}.png"), cv2.IMREAD_GRAYSCALE),
        )
        for name in names
    ]


@pytest.fixture(scope="module")
def selfie_onnx():
    return load_onnx_matter(str(need(MODELS / "mediapipe_selfie_segmentation.onnx")), device="cpu")


# Measured mean IoU over 10 frames: hike 0.85, dance-twirl 0.64, parkour 0.59 (a small
# far-away person; DAVIS is full-body, the selfie model is made for people near a webcam).
@pytest.mark.parametrize(
    ("clip", "floor"), [("hike", 0.78), ("dance-twirl", 0.55), ("parkour", 0.5)]
)
def test_selfie_onnx_on_davis(selfie_onnx, clip, floor):
    assert selfie_onnx.spec.family == "mediapipe-selfie"
    scores = [iou(selfie_onnx.infer(rgb).alpha, mask) for rgb, mask in davis(clip)]
    assert np.mean(scores) > floor


def test_selfie_onnx_agrees_with_the_built_in_selfie(selfie_onnx):
    from livematte.matting.selfie import Selfie

    reference = Selfie("general")
    for rgb, _ in davis("hike", 5) + davis("dance-twirl", 5):
        ours, theirs = selfie_onnx.infer(rgb).alpha, reference.infer(rgb).alpha
        assert ours.shape == theirs.shape
        assert iou(ours, (theirs * 255).astype(np.uint8)) > 0.97


def test_sinet_on_portraits():
    """SINet is a head-and-shoulders model: on P3M portraits it scores 0.9 mean IoU.

    (On DAVIS's full-body clips it scores 0.1-0.25, so DAVIS says nothing about it.)
    """
    matter = load_onnx_matter(str(need(MODELS / "sinet_softmax.onnx")), device="cpu")
    assert matter.spec.family == "sinet"
    folder = need(DATA / "images" / "p3m_demo")
    scores = []
    for name in sorted((folder / "images").glob("*.jpg"))[:6]:
        rgb = cv2.cvtColor(cv2.imread(str(name)), cv2.COLOR_BGR2RGB)
        alpha = cv2.imread(str(folder / "alpha" / f"{name.stem}.png"), cv2.IMREAD_GRAYSCALE)
        scores.append(iou(matter.infer(rgb).alpha, alpha))
    assert np.mean(scores) > 0.8
