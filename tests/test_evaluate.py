"""Clip discovery, frame streaming and scoring for ``livematte eval``, on synthetic clips."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livematte.errors import UserError
from livematte.evaluate import (
    discover_clip,
    evaluate_clips,
    format_table,
    iter_frames,
    read_truth,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
H, W = 8, 6


def square_mask(index: int) -> np.ndarray:
    """A 3x2 square (6 of 48 pixels) that moves down one row per frame, wrapping at the bottom."""
    mask = np.zeros((H, W), np.uint8)
    row = index % (H - 2)
    mask[row : row + 3, 1:3] = 255
    return mask


def make_clip(
    root: Path,
    frames: int = 3,
    truth: str | None = "masks",
    image_names: Callable[[int], str] = "{:05d}.png".format,
    truth_names: Callable[[int], str] = "{:05d}.png".format,
) -> Path:
    """A clip whose frames are black with the person painted red where the mask is 255."""
    (root / "images").mkdir(parents=True)
    if truth:
        (root / truth).mkdir()
    for i in range(frames):
        mask = square_mask(i)
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[mask > 0] = (255, 0, 0)
        cv2.imwrite(str(root / "images" / image_names(i)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if truth:
            cv2.imwrite(str(root / truth / truth_names(i)), mask)
    return root


def red_is_person() -> Callable[[np.ndarray], np.ndarray]:
    """A perfect matter for :func:`make_clip` clips; a fresh one per clip, like a real model."""
    return lambda rgb: np.where(rgb[:, :, 0] > 127, 255, 0).astype(np.uint8)


def constant(value: int) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    return lambda: lambda rgb: np.full(rgb.shape[:2], value, np.uint8)


def write_video(path: Path, frames: int = 5, grey: int = 128) -> Path:
    """A tiny flat-grey MPEG-4 video written with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(frames):
            rgb = np.full((32, 32, 3), grey, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


# --- discovery ---------------------------------------------------------------------------


def test_frames_pair_with_masks_by_name(tmp_path: Path):
    clip = discover_clip(
        make_clip(tmp_path / "c", image_names="{:05d}.jpg".format, truth_names="{:05d}.png".format)
    )
    assert clip.name == "c" and clip.has_truth and not clip.is_video
    assert [p.name for p in clip.images] == ["00000.jpg", "00001.jpg", "00002.jpg"]
    assert [p.name for p in clip.truths] == ["00000.png", "00001.png", "00002.png"]


def test_frames_pair_by_natural_order_when_names_differ(tmp_path: Path):
    root = make_clip(
        tmp_path / "c", frames=11, image_names="frame{}.png".format, truth_names="m_{}.png".format
    )
    clip = discover_clip(root)
    assert clip.images[2].name == "frame2.png" and clip.images[10].name == "frame10.png"
    assert clip.truths[2].name == "m_2.png" and clip.truths[10].name == "m_10.png"
    for (rgb, truth), i in zip(iter_frames(clip), range(11), strict=True):
        np.testing.assert_array_equal(truth, square_mask(i))
        assert rgb.shape == (H, W, 3) and rgb[truth > 0, 0].min() == 255


def test_alphas_folder_is_preferred_over_masks(tmp_path: Path):
    root = make_clip(tmp_path / "c", truth="masks")
    (root / "alphas").mkdir()
    for i in range(3):
        cv2.imwrite(str(root / "alphas" / f"{i:05d}.png"), np.full((H, W), 7, np.uint8))
    clip = discover_clip(root)
    assert {p.parent.name for p in clip.truths} == {"alphas"}
    assert next(iter_frames(clip))[1].max() == 7


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "no images/ subfolder"),
        (lambda p: (p / "images").mkdir() or p, "holds no images"),
        (
            lambda p: cv2.imwrite(str(p / "a.png"), np.zeros((2, 2), np.uint8)) and p / "a.png",
            "single image",
        ),
    ],
)
def test_unusable_clips_are_user_errors(tmp_path: Path, setup, message: str):
    with pytest.raises(UserError, match=message):
        discover_clip(setup(tmp_path))


def test_mismatched_counts_are_a_user_error(tmp_path: Path):
    root = make_clip(tmp_path / "c", frames=3)
    (root / "masks" / "00002.png").unlink()
    with pytest.raises(UserError, match="holds 2 images but .* holds 3"):
        discover_clip(root)


def test_hidden_files_are_not_frames(tmp_path: Path):
    root = make_clip(tmp_path / "c", frames=2)
    (root / "images" / "._00000.png").write_bytes(b"macOS resource fork")
    assert len(discover_clip(root).images) == 2


def test_truth_of_another_size_is_a_user_error(tmp_path: Path):
    root = make_clip(tmp_path / "c", frames=1)
    cv2.imwrite(str(root / "masks" / "00000.png"), np.zeros((H + 1, W), np.uint8))
    with pytest.raises(UserError, match="must match"):
        list(iter_frames(discover_clip(root)))


def test_sixteen_bit_grey_and_rgba_files_become_8_bit(tmp_path: Path):
    root = make_clip(tmp_path / "c", frames=1)
    cv2.imwrite(str(root / "masks" / "00000.png"), np.full((H, W), 0xFFFF, np.uint16))
    bgra = np.zeros((H, W, 4), np.uint8)
    bgra[..., 2] = 200  # red in OpenCV's BGRA
    bgra[..., 3] = 255
    cv2.imwrite(str(root / "images" / "00000.png"), bgra)
    rgb, truth = next(iter_frames(discover_clip(root)))
    assert rgb.dtype == np.uint8 and rgb.shape == (H, W, 3)
    assert tuple(rgb[0, 0]) == (200, 0, 0)
    assert truth.dtype == np.uint8 and truth.shape == (H, W) and truth.min() == 255
    assert read_truth(root / "masks" / "00000.png").max() == 255


# --- scoring -----------------------------------------------------------------------------


def test_perfect_matter_scores_perfectly(tmp_path: Path):
    results = evaluate_clips([make_clip(tmp_path / "c", frames=4)], red_is_person)
    clip = results["clips"][0]
    assert clip["frames"] == 4 and clip["ground_truth"] is True
    assert clip["iou"] == 1.0
    assert clip["mad"] == clip["mse"] == clip["dtssd"] == 0.0
    # OpenCV's filters round differently with the arrays' memory alignment (about 1e-9 per
    # pixel), so Grad of equal alphas held in different arrays is 0 only up to that.
    assert clip["grad"] == pytest.approx(0.0, abs=1e-12)
    assert len(clip["per_frame"]["mad"]) == 4


def test_empty_matter_scores_the_missed_area(tmp_path: Path):
    results = evaluate_clips([make_clip(tmp_path / "c", frames=2)], constant(0))
    clip = results["clips"][0]
    assert clip["iou"] == 0.0
    # 6 of 48 pixels are missed by 1.0 each: MAD = MSE = 6/48 = 0.125 -> x1e3 = 125
    assert clip["mad"] == pytest.approx(125.0)
    assert clip["mse"] == pytest.approx(125.0)
    assert clip["grad"] > 0
    # alpha never changes while the square moves down a row: the truth changes on the row it
    # leaves and the row it enters, 2 px each -> d^2 sums to 4 of 48; sqrt(4/48) x100 = 28.87
    assert clip["per_frame"]["dtssd"] == [0.0, pytest.approx(100 * math.sqrt(4 / 48))]


def test_each_clip_gets_a_fresh_alpha_fn_and_is_timed(tmp_path: Path):
    made = []

    def factory() -> Callable[[np.ndarray], np.ndarray]:
        made.append(1)

        def slow(rgb: np.ndarray) -> np.ndarray:
            time.sleep(0.005)
            return red_is_person()(rgb)

        return slow

    paths = [make_clip(tmp_path / "a", frames=2), make_clip(tmp_path / "b", frames=3)]
    results = evaluate_clips(paths, factory)
    assert len(made) == 2
    assert [c["name"] for c in results["clips"]] == ["a", "b"]
    assert all(c["ms"] >= 5.0 for c in results["clips"])
    assert results["overall"]["frames"] == 5 and results["overall"]["iou"] == 1.0


def test_alpha_of_the_wrong_size_is_a_bug_not_a_user_error(tmp_path: Path):
    with pytest.raises(ValueError, match="full-resolution"):
        evaluate_clips(
            [make_clip(tmp_path / "c", frames=1)], lambda: lambda rgb: np.zeros((4, 4), np.uint8)
        )


def test_clips_are_all_checked_before_any_is_scored(tmp_path: Path):
    calls = []
    with pytest.raises(UserError, match="does not exist"):
        evaluate_clips([make_clip(tmp_path / "c"), tmp_path / "typo"], lambda: calls.append(1))
    assert calls == []


def test_folder_of_images_only_gives_flicker_and_time(tmp_path: Path):
    results = evaluate_clips([make_clip(tmp_path / "c", frames=3, truth=None)], constant(255))
    clip = results["clips"][0]
    assert clip["ground_truth"] is False
    assert math.isnan(clip["iou"]) and math.isnan(clip["mad"]) and math.isnan(clip["dtssd"])
    assert clip["flicker"] == 0.0  # a constant alpha never flickers
    assert clip["counts"]["flicker"] == 2 and not math.isnan(clip["ms"])


def test_video_clip_streams_frames_and_measures_flicker(tmp_path: Path):
    video = write_video(tmp_path / "still.mp4", frames=5)
    clip = discover_clip(video)
    assert clip.is_video and not clip.has_truth and clip.name == "still.mp4"
    frames = list(iter_frames(clip))
    assert len(frames) == 5 and frames[0][0].shape == (32, 32, 3) and frames[0][1] is None

    def blinking() -> Callable[[np.ndarray], np.ndarray]:
        state = {"on": False}

        def alpha_fn(rgb: np.ndarray) -> np.ndarray:
            state["on"] = not state["on"]
            return np.full(rgb.shape[:2], 255 if state["on"] else 0, np.uint8)

        return alpha_fn

    # The picture is still, so every pixel counts, and the alpha jumps by 1 each frame.
    result = evaluate_clips([video], blinking)["clips"][0]
    assert result["frames"] == 5 and math.isnan(result["mad"])
    assert result["flicker"] == pytest.approx(1000.0)


def test_unreadable_video_is_a_user_error(tmp_path: Path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(UserError):
        evaluate_clips([bad], constant(0))


def test_json_is_strict_with_nan_as_null(tmp_path: Path):
    out = tmp_path / "scores.json"
    paths = [make_clip(tmp_path / "gt", frames=2), make_clip(tmp_path / "nogt", truth=None)]
    results = evaluate_clips(paths, red_is_person, json_path=out)
    data = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["overall"]["frames"] == 5
    assert data["clips"][0]["iou"] == 1.0
    assert data["clips"][1]["iou"] is None
    assert data["clips"][1]["per_frame"]["flicker"][0] is None
    assert data["overall"]["counts"] == results["overall"]["counts"]


def test_unwritable_json_path_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="Cannot write"):
        evaluate_clips(
            [make_clip(tmp_path / "c", frames=1)], red_is_person, tmp_path / "no" / "x.json"
        )


def test_table_has_units_clip_rows_and_overall_row(tmp_path: Path):
    paths = [make_clip(tmp_path / "gt", frames=2), make_clip(tmp_path / "nogt", truth=None)]
    table = format_table(evaluate_clips(paths, red_is_person))
    lines = table.splitlines()
    for unit in ("IoU", "MAD x1e3", "MSE x1e3", "Grad x1e-3", "dtSSD x1e2", "flicker x1e3"):
        assert unit in lines[0]
    assert "ms/frame" in lines[0]
    rows = {line.split()[0]: line.split() for line in lines if not line.startswith(("-", "clip"))}
    assert set(rows) == {"gt", "nogt", "overall"}
    assert rows["gt"][1:4] == ["2", "1.0000", "0.00"]
    assert rows["nogt"][2] == "-"  # no ground truth: no IoU
    assert rows["overall"][1] == "5"
    assert len({len(line) for line in lines if line.startswith("-")}) == 1


# --- real data ---------------------------------------------------------------------------


@pytest.mark.slow
def test_davis_clip_with_its_own_masks_scores_perfectly():
    root = SHARED_DATA / "frames_gt" / "davis2016_hike"
    if not (root / "images").is_dir():
        pytest.skip(f"shared test data not found at {root}")
    clip = discover_clip(root)
    assert clip.has_truth and len(clip.images) == len(clip.truths) == 80

    def replay_truth() -> Callable[[np.ndarray], np.ndarray]:
        truths = iter(clip.truths)
        return lambda rgb: read_truth(next(truths))

    result = evaluate_clips([root], replay_truth)["clips"][0]
    assert result["frames"] == 80
    assert result["iou"] == 1.0 and result["mad"] == 0.0 and result["dtssd"] == 0.0
    assert result["flicker"] >= 0.0


def test_model_chosen_per_clip_is_reported(tmp_path: Path):
    """A model that chooses per shot (``--model auto``) names its choice for each clip."""
    choices = iter(["auto (pose)", "auto (selfie)"])
    choice = {"now": ""}

    def factory() -> Callable[[np.ndarray], np.ndarray]:
        choice["now"] = next(choices)
        return red_is_person()

    paths = [make_clip(tmp_path / "a", frames=2), make_clip(tmp_path / "b", frames=2)]
    results = evaluate_clips(
        paths, factory, about={"model": "auto"}, model_name=lambda: choice["now"]
    )
    assert [c["model"] for c in results["clips"]] == ["auto (pose)", "auto (selfie)"]
    # The top level keeps the setting and lists what ran, never a choice made before the clips.
    assert results["model"] == "auto" and results["models"] == ["auto (pose)", "auto (selfie)"]
    table = format_table(results)
    rows = {line.split()[0]: line for line in table.splitlines()}
    assert table.splitlines()[0].rstrip().endswith("model")
    assert rows["a"].endswith("auto (pose)") and rows["b"].endswith("auto (selfie)")
