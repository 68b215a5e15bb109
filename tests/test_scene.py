"""The scene-cut detector: a new shot is found, motion within a shot is not."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import shared_data

from livematte.config import TemporalConfig
from livematte.scene import SceneCutDetector, thumbnail


def grey_thumb(rgb: np.ndarray) -> np.ndarray:
    return thumbnail(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def test_a_pan_is_no_cut_and_a_new_picture_is() -> None:
    detect = SceneCutDetector(TemporalConfig().scene_cut)
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:, :160] = (255, 0, 0)
    frame[:, 160:] = (0, 0, 255)
    assert not detect(grey_thumb(frame))
    assert not detect(grey_thumb(np.roll(frame, 8, axis=1)))  # a small pan
    assert detect(grey_thumb(255 - frame))


def test_cuts_between_davis_clips_are_found_and_fast_motion_is_not() -> None:
    """Every frame of parkour (the fastest motion here), then hike: exactly one cut."""
    names = [
        sorted((shared_data(f"frames_gt/davis2016_{clip}") / "images").glob("*.jpg"))
        for clip in ("parkour", "hike")
    ]
    frames = names[0] + names[1][:5]
    detect = SceneCutDetector(TemporalConfig().scene_cut)
    flags = [
        detect(thumbnail(cv2.imread(str(name), cv2.IMREAD_REDUCED_GRAYSCALE_4))) for name in frames
    ]
    assert flags.index(True) == len(names[0]) and flags.count(True) == 1
