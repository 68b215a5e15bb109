"""The pose matter on real frames: where its region goes, where its matte lands, and the
per-shot choice around it (selfie for close-ups, other people kept, nobody found)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_data

from livematte.frame import shrink_to
from livematte.matting.auto import AutoMatter
from livematte.matting.choice import POSE, SELFIE
from livematte.matting.pose import PoseTracker, Roi, ssd_anchors, work_size
from livematte.matting.selfie import Selfie


def davis(clip: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """One DAVIS frame at the pose work size (RGB) and its person mask (bool)."""
    folder = shared_data(f"frames_gt/davis2016_{clip}")
    image = sorted((folder / "images").iterdir())[index]
    mask = sorted((folder / "masks").iterdir())[index]
    rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    size = work_size(rgb.shape[1], rgb.shape[0])
    truth = cv2.resize(cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE), size, cv2.INTER_AREA)
    return shrink_to(rgb, *size), truth > 127


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    found = alpha > 0.5
    return float((found & truth).sum() / max(1, (found | truth).sum()))


@pytest.fixture(scope="module")
def tracker() -> PoseTracker:
    return PoseTracker()


def auto(mode: str = "auto") -> AutoMatter:
    return AutoMatter(Selfie(), PoseTracker(), mode)


def test_anchor_layout_matches_the_detector_output():
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    assert anchors.min() > 0 and anchors.max() < 1


def test_roi_turns_the_body_upright():
    # Body circle point to the right of the hip centre: the head is to the right, so the
    # crop's "up" must point right in the frame (rotation +90 degrees).
    roi = Roi.from_points(np.array([100.0, 100.0]), np.array([150.0, 100.0]))
    assert roi.rotation == pytest.approx(np.pi / 2)
    assert roi.side == pytest.approx(2 * 50 * 1.25)
    matrix = roi.crop_to_frame(256)
    top_centre = matrix @ np.array([127.5, 0.0, 1.0]) + 0.5
    assert top_centre[0] > 150 and abs(top_centre[1] - 100) < 1


def near(truth: np.ndarray, margin: float = 0.2) -> tuple[slice, slice]:
    """The person's bounding box grown by ``margin`` of its size (others in the frame, such
    as dance-twirl's audience, lie outside it)."""
    ys, xs = np.nonzero(truth)
    dy, dx = int(margin * (ys.max() - ys.min())), int(margin * (xs.max() - xs.min()))
    return slice(max(0, ys.min() - dy), ys.max() + dy + 1), slice(
        max(0, xs.min() - dx), xs.max() + dx + 1
    )


@pytest.mark.parametrize("clip", ["hike", "parkour", "dance-twirl"])
def test_matte_lands_on_the_person_and_the_region_follows(tracker, clip):
    tracker.reset()
    for index in range(4):  # consecutive frames: detected on the first, then tracked
        small, truth = davis(clip, index)
        result = tracker.track(small)
        assert result is not None
        box = near(truth)
        assert iou(result.alpha[box], truth[box]) > 0.75
        ys, xs = np.nonzero(truth)
        assert xs.min() <= result.roi.cx <= xs.max() and ys.min() <= result.roi.cy <= ys.max()
        if index == 0:
            detections = tracker.detections
    assert tracker.detections == detections


def test_lying_person_rotated_back_matches_upright(tracker):
    small, truth = davis("hike", 0)
    tracker.reset()
    lying = np.ascontiguousarray(np.rot90(small))
    result = tracker.track(lying)
    assert result is not None
    assert iou(np.rot90(result.alpha, -1), truth) > 0.7


def test_upside_down_and_cut_off_do_not_crash():
    small, _ = davis("parkour", 0)
    matter = auto()
    for frame in (small[::-1].copy(), small[: small.shape[0] // 3].copy()):
        matter.reset()
        alpha = matter.infer(frame).alpha
        assert alpha.ndim == 2 and np.isfinite(alpha).all() and alpha.max() <= 1.0


def test_auto_picks_pose_for_full_body_and_selfie_for_a_close_up():
    small, _ = davis("hike", 0)
    matter = auto()
    matter.infer(small)
    assert matter.choice == POSE
    cap = cv2.VideoCapture(str(shared_data("videos/pixabay_doctor_26732.mp4")))
    ok, bgr = cap.read()
    assert ok
    matter.reset()
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    matter.infer(shrink_to(rgb, *matter.input_size(rgb.shape[1], rgb.shape[0])))
    assert matter.choice == SELFIE
    # Decided: the next close-up frames are the selfie model's alone, at its own size.
    assert matter.input_size(rgb.shape[1], rgb.shape[0]) == (256, 144)


def two_people(base: str, other: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A DAVIS frame with the person of another clip pasted (by its mask) into the half of
    the frame its own person leaves free; the frame and each person's mask."""
    frame, base_truth = davis(base, 0)
    donor, donor_truth = davis(other, 0)
    width = frame.shape[1]
    target = 0.8 * width if np.nonzero(base_truth)[1].mean() < width / 2 else 0.2 * width
    shift = int(target - np.nonzero(donor_truth)[1].mean())
    donor_truth, donor = np.roll(donor_truth, shift, axis=1), np.roll(donor, shift, axis=1)
    frame = frame.copy()
    frame[donor_truth] = donor[donor_truth]
    return frame, base_truth & ~donor_truth, donor_truth


def test_two_people_nobody_dropped():
    # The parkour runner is too small for the detector on the letterboxed whole frame: he is
    # found on the end square of the wide frame.
    frame, first, second = two_people("hike", "parkour")
    alpha = auto("pose").infer(frame).alpha
    for person in (first, second):
        assert ((alpha > 0.5) & person).sum() / person.sum() > 0.8


def test_empty_room_falls_back_to_selfie_and_the_return_is_blended():
    small, _ = davis("hike", 0)
    matter = auto()
    matter.infer(small)
    assert matter.weight == 1.0
    empty = np.full_like(small, 90)
    weights = []
    for _ in range(8):
        alpha = matter.infer(empty).alpha
        assert np.isfinite(alpha).all()
        weights.append(matter.weight)
    # The pose matte fades out over several frames, never in one jump.
    assert weights[0] < 1.0 and weights[0] > 0.5 and weights[-1] == 0.0
    assert matter.choice == SELFIE


@pytest.mark.parametrize(
    ("name", "kind", "mode"),
    [
        ("auto", AutoMatter, "auto"),
        ("pose", AutoMatter, "pose"),
        ("selfie", Selfie, None),
    ],
)
def test_model_names(name, kind, mode):
    from livematte.config import ModelConfig
    from livematte.matting import create_matter

    matter = create_matter(ModelConfig(name=name))
    assert isinstance(matter, kind)
    assert getattr(matter, "mode", None) == mode
    assert ModelConfig().name == "auto"


@pytest.mark.parametrize("old", ["default", "mediapipe", "mediapipe-landscape"])
def test_the_pre_release_model_names_are_refused_naming_the_current_ones(old):
    from livematte.config import ModelConfig
    from livematte.errors import UserError
    from livematte.matting import create_matter

    with pytest.raises(UserError, match="use auto .*selfie, pose, modnet, object"):
        create_matter(ModelConfig(name=old))
