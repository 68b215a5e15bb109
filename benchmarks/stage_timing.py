"""Milliseconds per frame of the quality stages (temporal, refine, composite) at 720p.

The model runs once per frame beforehand; then each stage is timed on its own, frame after
frame (the refiner after the model's input was made, whose shrink it shares, as in the
pipeline), over several interleaved rounds, and the best round's median is kept (this machine
is shared: the best round is the least disturbed one). Composite is timed for each kind of
background, with livematte's default settings (decontamination, light wrap) unless told.

    python benchmarks/stage_timing.py                       # ../shared/data sam2_juggle.mp4
    python benchmarks/stage_timing.py clip.mp4 --frames 60 --rounds 5 --json timing.json
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

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.composite import Compositor, parse_background
from livematte.config import Config
from livematte.frame import shrink_to
from livematte.io.sources import VideoFileSource
from livematte.matting import create_matter
from livematte.planar import ColourSpace, I420Picture, RgbPicture
from livematte.refine import Refiner
from livematte.temporal import TemporalFilter

ROOT = Path(__file__).resolve().parents[1]

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


def load_planar(path: Path, frames: int) -> tuple[list[I420Picture], ColourSpace]:
    """The clip's first frames as decoded 4:2:0, at its own size."""
    source = VideoFileSource(path)
    source.planar = True
    out = []
    try:
        for frame in source:
            out.append(frame.yuv)
            if len(out) >= frames:
                break
    finally:
        source.close()
    return out, source.colour


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

    def timed(
        step: Callable[[int], object], prepare: Callable[[int], object] | None = None
    ) -> Callable[[], list[float]]:
        def run_round() -> list[float]:
            times = []
            for i in range(len(frames)):
                if prepare is not None:
                    prepare(i)
                start = time.perf_counter()
                step(i)
                times.append((time.perf_counter() - start) * 1e3)
            return times

        return run_round

    results: dict[str, float] = {}
    results["temporal"] = best_median(
        timed(lambda i: temporal.smooth(alphas[i], greys[i])), args.rounds
    )
    rgb_pictures: list[RgbPicture | None] = [None] * len(frames)

    def fresh_rgb(i: int) -> None:
        # As in the pipeline: the model's input was shrunk first, sharing its halvings.
        rgb_pictures[i] = RgbPicture(frames[i])
        rgb_pictures[i].model_input(alphas[i].shape[1], alphas[i].shape[0])

    results["refine"] = best_median(
        timed(lambda i: refiner.refine(alphas[i], rgb_pictures[i]), fresh_rgb), args.rounds
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
    if (width, height) == (source_size := _size_of(args.clip)):
        results.update(_planar(args, frames, alphas, config, timed, source_size))
        total = results["temporal"] + results["planar refine"] + results["planar composite blur"]
        results["planar total (blur)"] = total
    print(f"{width}x{height}, {len(frames)} frames, best of {args.rounds} rounds (median ms):")
    for name, value in results.items():
        print(f"  {name:24s} {value:6.2f}")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _size_of(clip: Path) -> tuple[int, int]:
    source = VideoFileSource(clip)
    source.close()
    return source.width, source.height


def _planar(args, frames, alphas, config, timed, size) -> dict[str, float]:  # noqa: ANN001
    """Refine and blur-composite on the decoded 4:2:0 frames (the path file re-encodes take).

    Each timed call gets a fresh picture (nothing cached from an earlier round) on which
    the model's half-size RGB copy was already made, as in the pipeline, where the model
    runs first."""
    decoded, colour = load_planar(args.clip, len(frames))
    pictures: list[I420Picture | None] = [None] * len(frames)
    scratch: dict[str, np.ndarray] = {}

    def fresh(i: int) -> None:
        pictures[i] = I420Picture(decoded[i].y, decoded[i].u, decoded[i].v, colour)
        pictures[i].model_input(alphas[i].shape[1], alphas[i].shape[0], scratch=scratch)

    refiner = Refiner(config.refine)
    results = {}
    results["planar refine"] = best_median(
        timed(lambda i: refiner.refine(alphas[i], pictures[i]), fresh), args.rounds
    )
    mattes = []
    for i in range(len(frames)):
        fresh(i)
        alpha = refiner.refine(alphas[i], pictures[i]).copy()
        assert refiner.small is not None
        mattes.append((alpha, (refiner.small[0].copy(), refiner.small[1].copy())))
    out = I420Picture.empty(*size, colour)
    specs = {"blur": "blur", "colour": "#00b140", "image": str(args.image)}
    for name, spec in specs.items():
        compositor = Compositor(parse_background(spec), config.background)
        results[f"planar composite {name}"] = best_median(
            timed(
                lambda i, c=compositor: c.composite_planar(
                    pictures[i], mattes[i][0], out, mattes[i][1]
                ),
                fresh,
            ),
            args.rounds,
        )
    return results


if __name__ == "__main__":
    sys.exit(main())
