"""Milliseconds per frame of the quality stages (temporal, refine, composite) at 720p.

The model runs once per frame beforehand; then each stage is timed on its own, frame after
frame, over several interleaved rounds, and the best round's median is kept (this machine
is shared: the best round is the least disturbed one). Composite is timed for each kind of
background, with livematte's default settings (decontamination, light wrap) unless told.

    python benchmarks/quality_timing.py                       # ../shared/data sam2_juggle.mp4
    python benchmarks/quality_timing.py clip.mp4 --frames 60 --rounds 5 --json timing.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.composite import Compositor, parse_background  # noqa: E402
from livematte.config import Config  # noqa: E402
from livematte.frame import shrink_to  # noqa: E402
from livematte.matting import create_matter  # noqa: E402
from livematte.refine import Refiner  # noqa: E402
from livematte.sources import VideoFileSource  # noqa: E402
from livematte.temporal import TemporalFilter  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "videos" / "sam2_juggle.mp4"
DEFAULT_IMAGE = (
    ROOT.parent / "shared" / "data" / "backgrounds" / "saxon-switzerland-539418_1280.jpg"
)


def load(path: Path, frames: int, width: int, height: int) -> list[np.ndarray]:
    source = VideoFileSource(path)
    out = []
    try:
        for frame in source:
            rgb = frame.rgb
            if rgb.shape[:2] != (height, width):
                rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            out.append(rgb)
            if len(out) >= frames:
                break
    finally:
        source.close()
    return out


def best_median(run_round: Callable[[], list[float]], rounds: int) -> float:
    return min(statistics.median(run_round()) for _ in range(rounds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="image background")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    config = Config()
    frames = load(args.clip, args.frames, width, height)
    matter = create_matter(config.model)
    alphas = [matter.infer(rgb).alpha for rgb in frames]
    greys = [
        cv2.cvtColor(shrink_to(rgb, a.shape[1], a.shape[0]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        / 255.0
        for rgb, a in zip(frames, alphas, strict=True)
    ]
    temporal = TemporalFilter(config.temporal)
    refiner = Refiner(config.refine)
    full = [refiner.refine(a, rgb).copy() for a, rgb in zip(alphas, frames, strict=True)]
    smalls = []
    for a, rgb in zip(alphas, frames, strict=True):
        refiner.refine(a, rgb)
        assert refiner.small is not None
        smalls.append((refiner.small[0].copy(), refiner.small[1].copy()))  # reused buffers

    def timed(step: Callable[[int], object]) -> Callable[[], list[float]]:
        def run_round() -> list[float]:
            times = []
            for i in range(len(frames)):
                start = time.perf_counter()
                step(i)
                times.append((time.perf_counter() - start) * 1e3)
            return times

        return run_round

    results: dict[str, float] = {}
    results["temporal"] = best_median(
        timed(lambda i: temporal.smooth(alphas[i], greys[i])), args.rounds
    )
    results["refine"] = best_median(
        timed(lambda i: refiner.refine(alphas[i], frames[i])), args.rounds
    )
    out = np.empty_like(frames[0])
    specs = {"blur": "blur", "colour": "#00b140", "image": str(args.image)}
    for name, spec in specs.items():
        compositor = Compositor(parse_background(spec), config.background)
        results[f"composite {name}"] = best_median(
            timed(lambda i, c=compositor: c.composite(frames[i], full[i], out, None, smalls[i])),
            args.rounds,
        )
    results["total (blur)"] = results["temporal"] + results["refine"] + results["composite blur"]
    print(f"{width}x{height}, {len(frames)} frames, best of {args.rounds} rounds (median ms):")
    for name, value in results.items():
        print(f"  {name:18s} {value:6.2f}")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
