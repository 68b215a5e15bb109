"""Clips per minute of `livematte batch`: 1 and 2 local jobs, and a local Ray with 2 workers.

python benchmarks/batch_scaling.py [--clips 8] [--frames 60] [--repeat 1] [--json out.json]

The clips are the first ``--frames`` frames of the videos in ../shared/data/videos (taken
in turn, so 8 clips are two of each), re-encoded into a temporary folder. Every setup
processes the same clips into a fresh output folder with the default settings. Ray runs
with ``num_cpus=2`` and one CPU per clip, so it has as many workers as the 2-job pool; its
start-up (a cluster is started once, not per batch) is timed apart from the batch.
Ray's overhead per clip is (Ray's batch time - the 2-job pool's) / clips; ``cores_busy``
is the pool's CPU time over its wall time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

from livematte import Config, load_config, process_batch

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def make_clips(folder: Path, count: int, frames: int) -> list[Path]:
    sources = sorted(VIDEOS.glob("*.mp4"))
    if not sources:
        sys.exit(f"{VIDEOS} holds no videos; this benchmark reads the shared data.")
    clips = []
    for index in range(count):
        target = folder / f"clip{index:02d}.mp4"
        trim(sources[index % len(sources)], target, frames)
        clips.append(target)
    return clips


def trim(source: Path, target: Path, frames: int) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video = inp.streams.video[0]
        rate = Fraction(video.average_rate or 25)
        stream = out.add_stream("libx264", rate=rate)
        stream.time_base = stream.codec_context.time_base = 1 / rate
        stream.width, stream.height = video.codec_context.width, video.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for index, frame in enumerate(inp.decode(video)):
            if index >= frames:
                break
            frame.pts, frame.time_base = index, 1 / rate
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def timed_batch(clips: list[Path], outdir: Path, **options: object) -> float:
    start = time.perf_counter()
    report = process_batch(clips, outdir, **options)
    seconds = time.perf_counter() - start
    statuses = {r.status for r in report.results}
    if statuses != {"done"}:
        sys.exit(f"benchmark batch did not finish every clip: {statuses}")
    return seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(clips: list[Path], work: Path, tag: str) -> dict[str, float]:
    def config() -> Config:  # a fresh, quiet config per batch
        made = load_config()
        made.quiet = True
        return made

    figures: dict[str, float] = {}
    for jobs in (1, 2):
        cpu_before = _children_cpu()
        seconds = timed_batch(clips, work / f"{tag}-local{jobs}", jobs=jobs, config=config())
        figures[f"local{jobs}_s"] = seconds
        # Cores the pool's workers kept busy (their CPU time / wall time): with one job,
        # the cores one clip uses, which sets the default --jobs.
        figures[f"local{jobs}_cores_busy"] = (_children_cpu() - cpu_before) / seconds
    import ray

    start = time.perf_counter()
    ray.init(
        num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
    )
    figures["ray_init_s"] = time.perf_counter() - start
    try:
        figures["ray2_s"] = timed_batch(
            clips, work / f"{tag}-ray", ray=True, clip_cpus=1, config=config()
        )
    finally:
        ray.shutdown()
    count = len(clips)
    for name in ("local1", "local2", "ray2"):
        figures[f"{name}_clips_per_min"] = 60.0 * count / figures[f"{name}_s"]
    figures["ray_overhead_s_per_clip"] = (figures["ray2_s"] - figures["local2_s"]) / count
    figures["ray_vs_local2"] = figures["local2_s"] / figures["ray2_s"]
    figures["local2_vs_local1"] = figures["local1_s"] / figures["local2_s"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="livematte-batch-bench-") as tmp:
        work = Path(tmp)
        (work / "clips").mkdir()
        clips = make_clips(work / "clips", args.clips, args.frames)
        print(
            f"{len(clips)} clips x {args.frames} frames from {VIDEOS}, {os.cpu_count()} cores",
            file=sys.stderr,
        )
        for repeat in range(args.repeat):
            figures = run_once(clips, work, f"run{repeat}")
            runs.append(figures)
            print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
