"""The per-shot choice between the selfie and pose models, on synthetic scale sequences."""

from __future__ import annotations

import pytest

from livematte.matting.choice import POSE, SELFIE, TO_POSE, TO_SELFIE, ShotChoice

FULL_BODY, CLOSE_UP, BAND = 0.8, 2.4, (TO_POSE + TO_SELFIE) / 2


def run(choice: ShotChoice, scales: list[float | None]) -> list[str]:
    return [choice.observe(s) for s in scales]


def test_first_observation_decides_the_shot():
    assert ShotChoice().observe(FULL_BODY) == POSE
    assert ShotChoice().observe(CLOSE_UP) == SELFIE
    assert ShotChoice().observe(None) == SELFIE  # nobody: the selfie matte


def test_scale_wobbling_around_a_threshold_never_flips():
    choice = ShotChoice(patience=3)
    wobble = [TO_POSE - 0.05, TO_SELFIE + 0.05] * 20  # alternates across the whole band
    assert set(run(choice, [FULL_BODY, *wobble])) == {POSE}
    choice = ShotChoice(patience=3)
    assert set(run(choice, [CLOSE_UP, *wobble])) == {SELFIE}


def test_the_band_holds_the_current_choice():
    choice = ShotChoice()
    assert run(choice, [FULL_BODY, *[BAND] * 50]) == [POSE] * 51


def test_a_lasting_change_of_framing_switches_once():
    choice = ShotChoice(patience=3)
    seen = run(choice, [FULL_BODY] * 5 + [CLOSE_UP] * 10)
    assert seen == [POSE] * 7 + [SELFIE] * 8
    assert seen.count(SELFIE) and seen.index(SELFIE) == 7  # after 3 close-ups in a row


def test_scene_cut_decides_again_at_once():
    choice = ShotChoice(patience=5)
    run(choice, [CLOSE_UP] * 10)
    choice.reset()
    assert choice.observe(FULL_BODY) == POSE


def test_nobody_found_falls_back_to_selfie_and_returns_without_flicker():
    choice = ShotChoice(patience=3)
    # The person walks out for a while, then back in; short dropouts change nothing.
    seen = run(choice, [FULL_BODY] * 5 + [None] * 2 + [FULL_BODY] * 3 + [None] * 10)
    assert seen[:10] == [POSE] * 10
    assert seen[-1] == SELFIE
    seen = run(choice, [FULL_BODY, None] * 10 + [FULL_BODY] * 5)
    switches = sum(a != b for a, b in zip(seen, seen[1:], strict=False))
    assert switches <= 1 and seen[-1] == POSE


def test_band_must_be_ordered():
    with pytest.raises(ValueError):
        ShotChoice(to_pose=2.0, to_selfie=1.0)
