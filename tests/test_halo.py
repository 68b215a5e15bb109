"""No band of the old background around a full-body person keyed over a solid colour."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_data

from livematte.config import Config
from livematte.evaluate import discover_clip, iter_frames
from livematte.metrics import halo
from livematte.stages import Stages

KEY = (0, 177, 64)  # '#00b140'


def test_halo_counts_the_band_outside_the_body_only():
    frame = np.empty((200, 200, 3), np.uint8)
    frame[:] = KEY
    body = np.zeros((200, 200), bool)
    cv2.circle(body.view(np.uint8), (100, 100), 40, 1, -1)
    frame[body] = (90, 90, 120)  # the person's own colour does not count
    assert halo(frame, body, KEY) == 0.0
    # A 10 px band of grass-grey just outside the body: inside the ring's inner 4 px it is
    # not looked at, the 6 px beyond are.
    band = np.zeros((200, 200), np.uint8)
    cv2.circle(band, (100, 100), 50, 1, -1)
    frame[(band > 0) & ~body] = (120, 130, 90)
    share = halo(frame, body, KEY)
    ring = np.pi * (70**2 - 44**2)
    assert share == pytest.approx(np.pi * (50**2 - 44**2) / ring, rel=0.15)
    # Colours within the tolerance of the key (compression noise) are not a band.
    frame[(band > 0) & ~body] = (10, 190, 60)
    assert halo(frame, body, KEY) == 0.0


@pytest.mark.slow
def test_full_body_over_a_key_colour_keeps_no_old_background_around_the_person():
    # sam2_juggle: a man in front of a window, a tree and grass. The soft edge of the pose
    # model's matte used to leave a mottled band of them around shoulders and arms (about
    # 1% of the ring 4-30 px outside the body on these frames, 5% at worst elsewhere).
    from livematte.matting.pose import PoseTracker

    clip = discover_clip(shared_data("videos/sam2_juggle.mp4"))
    config = Config()
    config.background.specs = ["#00b140"]
    stages = Stages(config)
    reference = PoseTracker()
    shares = []
    try:
        for index, (rgb, _) in enumerate(iter_frames(clip)):
            if index < 140:
                continue
            matte = stages.matte(rgb)
            if index in (150, 155, 160, 165, 170):
                out = np.empty_like(rgb)
                stages.composite(rgb, matte, out)
                reference.reset()  # the model's own view of this frame, for the body
                found = reference.track(rgb)
                assert found is not None
                body = (found.alpha > 0.5) | (matte.alpha >= 128)
                shares.append(halo(out, body, KEY))
            if index >= 170:
                break
    finally:
        stages.close()
    assert len(shares) == 5
    assert np.mean(shares) < 0.005, shares
