"""Every person of a group keeps a matte: group pictures with exact ground truth (the
packaged astronaut, cut out once and laid side by side), scored person by person."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA, shared_data

from livematte.boxes import tiles
from livematte.config import Config
from livematte.demo import astronaut
from livematte.group import LOST_IOU, Cutout, Placement, compose, person_ious, side_by_side
from livematte.matting import create_matter
from livematte.matting.choice import POSE, SELFIE
from livematte.matting.selfie import TILE_OVERLAP, Selfie, feather
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1280, 720)


@pytest.fixture(scope="module")
def person() -> Cutout:
    """The astronaut cut out by the selfie model on her own portrait (its matte, made
    hard: the ground truth of every group below is then exact by construction), above the
    helmet in her lap (no person, though the selfie model takes it in)."""
    rgb = np.ascontiguousarray(astronaut()[:400])
    alpha = Selfie("general").infer(cv2.resize(rgb, (256, 256))).alpha
    alpha = cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return Cutout.from_alpha(rgb, np.where(alpha > 0.5, 255, 0).astype(np.uint8))


def backdrop(seed: int = 0) -> np.ndarray:
    """A plain wall with a soft texture: nothing person-like in it."""
    rng = np.random.default_rng(seed)
    noise = cv2.resize(rng.integers(90, 170, (9, 16, 3), dtype=np.uint8), SIZE)
    return cv2.GaussianBlur(noise, (0, 0), 25)


def matte_once(rgb: np.ndarray, **model: str) -> np.ndarray:
    """One still through the stages, as ``livematte run photo.jpg`` makes it."""
    config = Config()
    for key, value in model.items():
        setattr(config.model, key, value)
    stages = Stages(config, matter=create_matter(config.model))
    try:
        return stages.matte(rgb).alpha.copy()
    finally:
        stages.close()


def test_compose_hides_who_stands_behind_and_scores_each_person():
    square = Cutout(np.full((40, 40, 3), 200, np.uint8), np.ones((40, 40), np.float32))
    group = compose(
        np.zeros((60, 100, 3), np.uint8), [Placement(square, 10, 10), Placement(square, 30, 10)]
    )
    back, front = group.people
    # The front square hides the back one's right half; together they are the whole alpha.
    assert back[20, 35] == 0.0 and front[20, 35] == 1.0 and back[20, 15] == 1.0
    np.testing.assert_allclose(group.alpha, np.maximum(back, front))
    assert person_ious(group.alpha, group.people) == [1.0, 1.0]
    # A matte that drops the back person loses them alone.
    scores = person_ious(front, group.people)
    assert scores[0] < LOST_IOU and scores[1] == 1.0


def test_side_by_side_keeps_the_order_and_overlaps(person: Cutout):
    group = side_by_side(backdrop(), [person] * 3, height=0.6, overlap=0.2)
    assert len(group.people) == 3
    centres = [np.nonzero(p > 0.5)[1].mean() for p in group.people]
    assert centres == sorted(centres)  # left to right as given
    assert all(np.count_nonzero(p > 0.5) > 0.02 * p.size for p in group.people)
    assert group.rgb.dtype == np.uint8 and group.rgb.shape == (SIZE[1], SIZE[0], 3)


def test_tiles_cover_a_wide_frame_with_overlapping_squares():
    squares = tiles(640, 360)
    assert [side for _, _, side in squares] == [360] * 3
    assert squares[0][0] == 0 and squares[-1][0] + 360 == 640
    assert tiles(500, 500) == [(0, 0, 500)]
    shares = np.zeros(640)
    for x, y, side in squares:
        weight = feather(x, y, side, 640, 360)
        assert weight.shape == (1, side)
        shares[x : x + side] += weight[0]
    np.testing.assert_allclose(shares, 1.0, atol=1e-4)  # every column fully covered
    assert TILE_OVERLAP > 0


@pytest.mark.parametrize("count", [3, 5])
def test_every_person_of_a_group_photo_keeps_a_matte(person: Cutout, count: int):
    group = side_by_side(backdrop(count), [person] * count, height=0.55, overlap=0.12)
    alpha = matte_once(group.rgb)
    scores = person_ious(alpha, group.people)
    assert min(scores) >= 0.8, scores  # nobody lost, nobody half-kept
    truth, found = group.alpha > 0.5, alpha > 127
    assert np.count_nonzero(truth & found) / np.count_nonzero(truth | found) >= 0.8


def test_a_group_keeps_everyone_across_a_clip_as_people_slide_in(person: Cutout):
    config = Config()
    stages = Stages(config, matter=create_matter(config.model))
    worst = []
    try:
        for step in range(12):
            # The row slides left: its right-hand person enters on the fourth frame.
            group = side_by_side(
                backdrop(), [person] * 4, height=0.5, overlap=0.1, offset=0.3 - 0.03 * step
            )
            alpha = stages.matte(group.rgb).alpha
            seen = [p for p in group.people if np.count_nonzero(p > 0.5) > 0.01 * p.size]
            if step >= 8:  # followed within a few frames of entering
                worst.append(min(person_ious(alpha, seen)))
    finally:
        stages.close()
    assert min(worst) >= 0.8, worst


def test_a_new_frame_size_is_a_new_shot(person: Cutout):
    config = Config()
    matter = create_matter(config.model)
    stages = Stages(config, matter=matter)
    try:
        wide = side_by_side(backdrop(), [person] * 4, height=0.55, overlap=0.1)
        stages.matte(wide.rgb)
        assert matter.choice == POSE and len(matter.tracker.rois) >= 3
        stages.matte(np.ascontiguousarray(astronaut()))
        # A close-up portrait of another size: decided afresh at once, not three frames on.
        assert matter.choice == SELFIE
    finally:
        stages.close()


@pytest.mark.slow
def test_group_set_builds_from_the_shared_data_and_eval_takes_it(tmp_path: Path):
    shared_data("images/p3m_demo")
    out = tmp_path / "groups"
    run = [sys.executable, str(ROOT / "tools" / "make_group_set.py")]
    subprocess.run([*run, "build", str(out), "--data", str(SHARED_DATA)], check=True)
    for family in ("close", "full", "moving", "keyed"):
        images = sorted((out / family / "images").iterdir())
        assert images and len(images) == len(list((out / family / "alphas").iterdir()))
        assert list((out / family / "people").glob(f"{images[0].stem}_*.png"))
    done = subprocess.run(
        [sys.executable, "-m", "livematte", "eval", str(out / "full"), "--quality", "fast"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "full" in done.stdout
