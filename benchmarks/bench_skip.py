"""What skipping the model on still frames (``model.skip_still``) costs in quality and saves.

Runs livematte's stages (default model, smoothing, refinement) over clips with ground truth,
once with the model on every frame and once per threshold, and prints IoU, MAD and dtSSD
(``livematte.metrics``), the share of frames whose model call was skipped, and the median
model + temporal milliseconds per frame.

    python benchmarks/bench_skip.py ../shared/data/frames_gt/davis2016_*
    python benchmarks/bench_skip.py CLIP... --thresholds 0.01 0.02 0.04 --skip-max 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from livematte.config import Config
from livematte.evaluate import discover_clip, evaluate_clip
from livematte.metrics import combine_summaries
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]


def measure(clips: list[Path], threshold: float, skip_max: int) -> dict[str, float]:
    summaries, skipped, frames, model_ms = [], 0, 0, []
    for path in clips:
        config = Config()
        config.background.specs = ["#000000"]
        config.model.skip_still = threshold
        config.model.skip_max = skip_max
        stages = Stages(config)
        try:
            summaries.append(
                evaluate_clip(discover_clip(path), lambda rgb, s=stages: s.matte(rgb).alpha)
            )
            skipped += stages.model_skipped
            frames += summaries[-1]["frames"]
            model_ms += [
                m + t
                for m, t in zip(
                    stages.timer.samples["model"], stages.timer.samples["temporal"], strict=True
                )
            ]
        finally:
            stages.close()
    overall = combine_summaries(summaries)
    return {
        "iou": overall["iou"],
        "mad": overall["mad"],
        "dtssd": overall["dtssd"],
        "flicker": overall["flicker"],
        "skipped": skipped / max(frames, 1),
        "model_ms": statistics.median(model_ms),
        "frames": frames,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.01, 0.02, 0.04])
    parser.add_argument("--skip-max", type=int, default=2)
    args = parser.parse_args()
    clips = args.clips
    truth = sum(discover_clip(c).has_truth for c in clips)
    print(f"{len(clips)} clip(s), {truth} with ground truth; skip_max {args.skip_max}")
    print(
        f"{'skip_still':>10} {'frames':>6} {'skipped':>8} {'IoU':>7} {'MADx1e3':>8} "
        f"{'dtSSDx1e2':>9} {'model+temporal ms':>18}"
    )
    for threshold in [0.0, *args.thresholds]:
        row = measure(clips, threshold, args.skip_max)
        print(
            f"{threshold:>10.3f} {row['frames']:>6d} {row['skipped']:>7.0%} {row['iou']:>7.4f} "
            f"{row['mad']:>8.2f} {row['dtssd']:>9.2f} {row['flicker']:>9.2f} "
            f"{row['model_ms']:>18.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
