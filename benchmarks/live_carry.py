"""What each piece of the carried live matte adds, replayed frame by frame at a set model lag.

A live run's quality depends on the machine (how far behind the model's thread falls), so
this replays the live policy (``livematte.run.live_mattes.FrameMattes``, the code the live
loop runs) deterministically: the model's matte of frame m becomes available at frame
m + LAG, and the model then takes that frame (as the model thread takes the newest frame
when it is free). Every frame is scored against its own ground truth:

- ``offline``  the model on every frame (a file run);
- ``reuse``    the newest model matte as it is (today's live driver between model runs);
- ``flow``     carried by optical flow only;
- ``+refine``  (fast) then snapped to the frame's edges by the guided filter;
- ``+cheap``   (best) joined with the fast model's matte of the frame (run on every frame);
- ``live``     the whole live policy while the cheap model fits the budget (fast: the
               fast model's own matte of the frame; best: flow joined with the cheap
               matte); where it does not fit, fast is the ``flow`` row.

Clips: the DAVIS full-body clips (``frames_gt/``) and close-ups made from the P3M portraits
(``images/p3m_demo``): a 720x720 window panning and zooming slowly over each 1080x1080
portrait and its alpha, 40 frames, shrunk to 480x480.

    python benchmarks/live_carry.py --quality fast --lag 2
    python benchmarks/live_carry.py --quality best --lag 10 --frames 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.carry import MatteCarrier
from livematte.config import Config
from livematte.evaluate import discover_clip, iter_frames, read_truth
from livematte.io.sources import read_image
from livematte.metrics import ClipMetrics
from livematte.run.live_mattes import FrameMattes
from livematte.stages import Stages

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DAVIS = ("davis2016_parkour", "davis2016_dance-twirl", "davis2016_hike")
VARIANTS = ("offline", "reuse", "flow", "+refine", "+cheap", "live")


def portrait_pan(
    image: Path, alpha: Path, frames: int = 40
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A slow pan and zoom over a P3M portrait: (RGB, alpha) frames at 480x480."""
    rgb, truth = read_image(image), read_truth(alpha)
    size = rgb.shape[0]
    for index in range(frames):
        side = int(720 - 2 * index)  # zooms in 2 px a frame
        x = min(size - side, 120 + 5 * index)  # pans 5 px a frame
        y = min(size - side, 180 + 2 * index)
        crop = (slice(y, y + side), slice(x, x + side))
        yield (
            cv2.resize(rgb[crop], (480, 480), interpolation=cv2.INTER_AREA),
            cv2.resize(truth[crop], (480, 480), interpolation=cv2.INTER_AREA),
        )


def clips(frames: int, portraits: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name in DAVIS:
        clip = discover_clip(DATA / "frames_gt" / name)
        pairs = []
        for rgb, truth in iter_frames(clip):
            pairs.append((rgb, truth))
            if len(pairs) >= frames:
                break
        out[name] = pairs  # type: ignore[assignment]
    folder = DATA / "images" / "p3m_demo"
    for image in sorted((folder / "images").glob("*.jpg"))[:portraits]:
        alpha = folder / "alpha" / f"{image.stem}.png"
        out[f"p3m {image.stem}"] = list(portrait_pan(image, alpha, min(frames, 40)))
    return out


def config_for(quality: str) -> Config:
    config = Config()
    config.model.quality = quality
    return config


def fast_stages(config: Config, like: Stages) -> Stages:
    fast = dataclasses.replace(config.model, quality="fast")
    refine = dataclasses.replace(config.refine, enabled=False)
    return Stages(
        dataclasses.replace(config, model=fast, refine=refine), backgrounds=like.backgrounds
    )


def replay(
    pairs: list[tuple[np.ndarray, np.ndarray]], quality: str, variant: str, lag: int
) -> dict[str, Any]:
    """Score one variant on one clip (fresh stages, so no state leaks between variants)."""
    config = config_for(quality)
    stages = Stages(config)
    height, width = pairs[0][0].shape[:2]
    carrier = MatteCarrier(width, height, warp=variant != "reuse")
    cheap = None
    if variant in ("+cheap", "live"):
        cheap = fast_stages(config, stages)
    pick = FrameMattes(
        stages,
        carrier,
        cheap,
        join_cheap=variant in ("+cheap", "live"),
        refine_carried=variant in ("+refine", "live"),
    )
    scores = ClipMetrics(variant)
    keyframe, pending = None, 0  # the model's frame in flight
    kinds: dict[str, int] = {}
    try:
        for index, (rgb, truth) in enumerate(pairs):
            if variant == "offline":
                alpha = stages.matte(rgb).alpha
                kinds["model"] = kinds.get("model", 0) + 1
            else:
                if index - pending >= lag or index == 0:  # the model's result is in
                    source = pairs[pending][0]
                    alpha_m = stages.matte(source).alpha
                    keyframe = carrier.keyframe(pending, 0.0, source, alpha_m)
                    pending = index  # and it takes the newest frame
                matte, kind = pick(rgb, index, keyframe)
                alpha = matte.alpha
                kinds[kind] = kinds.get(kind, 0) + 1
            scores.add(alpha, truth, rgb)
    finally:
        stages.close()
        if cheap is not None:
            cheap.close()
    return {**scores.summary(), "kinds": kinds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", choices=("fast", "best"), default="fast")
    parser.add_argument("--lag", type=int, default=2, help="model lag in frames")
    parser.add_argument("--frames", type=int, default=60, help="frames per DAVIS clip")
    parser.add_argument("--portraits", type=int, default=3, help="P3M portraits panned")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if args.quality == "fast":
        variants = [v for v in variants if v != "+cheap"]
    else:
        variants = [v for v in variants if v != "+refine"]
    results: dict[str, dict[str, Any]] = {}
    for name, pairs in clips(args.frames, args.portraits).items():
        results[name] = {}
        for variant in variants:
            row = replay(pairs, args.quality, variant, args.lag)
            results[name][variant] = row
            print(
                f"{name:28s} {variant:8s} MAD {row['mad']:6.2f}  IoU {row['iou']:.4f}  "
                f"dtSSD {row['dtssd']:5.2f}  flicker {row['flicker']:5.2f}  {row['kinds']}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
