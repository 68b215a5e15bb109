"""Processing alone: the stages on preloaded frames, with no decoder or encoder beside them.

``livematte bench`` times the stages inside the threaded pipeline, where they share the
cores with decoding and encoding. This times the same ``Stages`` (model, temporal,
refine, composite, default settings) frame after frame on frames decoded beforehand, on
both paths: RGB (what live mode and PNG outputs use) and planar 4:2:0 (what H.264
re-encodes use). Prints wall and CPU ms per frame and the per-stage medians, per round.

    python benchmarks/processing_isolated.py                        # sam2_juggle.mp4, 720p
    python benchmarks/processing_isolated.py clip1080.mp4 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.config import Config
from livematte.io.sources import VideoFileSource
from livematte.planar import I420Picture
from livematte.stages import Stages, StageTimer

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "videos" / "sam2_juggle.mp4"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(clip: Path, frames: int, planar: bool) -> list:
    source = VideoFileSource(clip)
    source.planar = planar
    out = []
    try:
        for frame in source:
            out.append(frame.yuv if planar else frame.rgb)
            if len(out) >= frames:
                break
    finally:
        source.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    inputs = {
        "rgb": load(args.clip, args.frames, False),
        "planar": load(args.clip, args.frames, True),
    }
    first = inputs["rgb"][0]
    height, width = first.shape[:2]
    print(f"{args.clip.name}: {width}x{height}, {len(inputs['rgb'])} frames, median ms:")
    for _ in range(args.rounds):
        for name, images in inputs.items():
            stages = Stages(Config())
            if name == "planar":
                out = I420Picture.empty(width, height, images[0].colour)
            else:
                out = np.empty((height, width, 3), np.uint8)
            for image in images[:10]:  # warm up: buffers, the model's first calls
                stages.composite(image, stages.matte(image), out)
            stages.timer = StageTimer()
            began, cpu = time.perf_counter(), cpu_seconds()
            for image in images:
                stages.composite(image, stages.matte(image), out)
            count = len(images)
            wall = (time.perf_counter() - began) / count * 1e3
            used = (cpu_seconds() - cpu) / count * 1e3
            medians = ", ".join(
                f"{stage} {row['median_ms']:.2f}" for stage, row in stages.timer.summary().items()
            )
            print(f"  {name:6s} {wall:5.2f} ms wall, {used:5.2f} ms CPU a frame ({medians})")
            stages.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
