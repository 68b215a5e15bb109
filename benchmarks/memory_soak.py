"""Memory over a long run: does the file pipeline stay flat?

Makes a long 1080p clip with audio cheaply (a few seconds of the demo's simulated webcam,
encoded once, then its packets repeated with shifted timestamps), runs ``process_video``
on it into a real H.264 file (audio copied) for ``--minutes`` of wall time, and samples
the process's resident memory (VmRSS) every ``--every`` seconds. Prints the samples, the
growth after warm-up and its slope; exits 1 if the slope exceeds ``--max-slope`` MB/min.

    python benchmarks/memory_soak.py --minutes 5
    python benchmarks/memory_soak.py --minutes 30 --size 1920x1080 --clip-minutes 30
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

from livematte.config import Config
from livematte.demo import SimulatedWebcam
from livematte.run.interrupt import StopRequest
from livematte.run.live import run_live
from livematte.run.offline import process_video

ROOT = Path(__file__).resolve().parents[1]

FPS = 30
RATE = 48000


def rss_mb() -> float:
    """Resident memory now (Linux /proc), else the peak (other systems)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_seed(path: Path, width: int, height: int, seconds: int) -> None:
    """A few seconds of moving portrait with a stereo AAC track."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "23", "g": str(FPS)}
        audio = out.add_stream("aac", rate=RATE)
        audio.layout = "stereo"
        samples = 0
        for frame in SimulatedWebcam(width=width, height=height, fps=FPS, frames=seconds * FPS):
            vframe = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24")
            vframe.pts = frame.index
            out.mux(video.encode(vframe))
            while samples < (frame.index + 1) * RATE // FPS:
                t = np.arange(samples, samples + 1024) / RATE
                tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                aframe = av.AudioFrame.from_ndarray(
                    np.stack([tone, tone]), format="fltp", layout="stereo"
                )
                aframe.sample_rate, aframe.pts = RATE, samples
                out.mux(audio.encode(aframe))
                samples += 1024
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def repeat(seed: Path, path: Path, minutes: float) -> None:
    """Copy the seed's packets over and over, shifting timestamps: a long clip, no encoding."""
    with av.open(str(seed)) as inp:
        packets = [(p, p.stream.index) for p in inp.demux() if p.dts is not None]
        # One loop lasts as long as the longest stream, so timestamps only ever rise.
        period = max(
            float((p.dts + p.duration) * p.time_base)
            - min(float(q.dts * q.time_base) for q, i in packets if i == index)
            for p, index in packets
        )
        with av.open(str(path), "w") as out:
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
            for loop in range(max(1, round(minutes * 60 / period))):
                for packet, index in packets:
                    shift = round(loop * period / packet.time_base)
                    copy = av.Packet(bytes(packet))
                    copy.pts, copy.dts = packet.pts + shift, packet.dts + shift
                    copy.duration, copy.time_base = packet.duration, packet.time_base
                    copy.is_keyframe = packet.is_keyframe
                    copy.stream = streams[index]
                    out.mux(copy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall time to run")
    parser.add_argument("--clip-minutes", type=float, default=10.0, help="length of the clip")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before judging")
    parser.add_argument("--max-slope", type=float, default=2.0, help="MB per minute allowed")
    parser.add_argument("--json", type=Path, default=None, help="also write the samples here")
    parser.add_argument(
        "--live",
        action="store_true",
        help="run the live driver instead (the clip played as a camera, -o null)",
    )
    parser.add_argument(
        "--no-planar", action="store_true", help="file mode on the RGB path (output.planar off)"
    )
    parser.add_argument(
        "--null",
        action="store_true",
        help="file mode without writing (-o null): tells the pipeline's memory from the MP4 "
        "muxer's, whose sample index grows with the output until it is written at the end",
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory(prefix="livematte-soak-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        make_seed(folder / "seed.mp4", width, height, seconds=4)
        repeat(folder / "seed.mp4", folder / "long.mp4", args.clip_minutes)
        print(
            f"clip: {args.clip_minutes:g} min at {width}x{height}, made in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )

        stop = StopRequest()
        result: dict[str, object] = {}

        def run() -> None:
            try:
                if args.live:
                    config = Config()
                    config.live.live = True
                    config.quiet = True
                    stats = run_live(str(folder / "long.mp4"), "null", config, stop)
                    result["report"] = stats
                else:
                    config = Config()
                    config.output.planar = not args.no_planar
                    output = "null" if args.null else folder / "out.mp4"
                    result["report"] = process_video(
                        folder / "long.mp4", output, config=config, stop=stop
                    )
            except BaseException as exc:  # noqa: BLE001 - reported below
                result["error"] = exc

        worker = threading.Thread(target=run)
        begin = time.perf_counter()
        worker.start()
        samples: list[tuple[float, float]] = []
        while worker.is_alive():
            elapsed = time.perf_counter() - begin
            samples.append((elapsed, rss_mb()))
            print(f"{elapsed:7.0f} s  {samples[-1][1]:8.1f} MB", flush=True)
            if elapsed >= args.minutes * 60:
                stop.set("time is up")
            worker.join(args.every)
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        report = result["report"]

    judged = [(t, m) for t, m in samples if t >= args.warmup]
    if len(judged) < 3:
        print("too few samples after warm-up to judge; run longer")
        return 1
    times = np.array([t for t, _ in judged]) / 60
    mbs = np.array([m for _, m in judged])
    slope = float(np.polyfit(times, mbs, 1)[0])
    summary = {
        "size": f"{width}x{height}",
        "mode": "live" if args.live else "file",
        "frames": getattr(report, "frames_out", getattr(report, "frames", 0)),
        "fps": round(getattr(report, "output_fps", 0.0) or getattr(report, "fps", 0.0), 2),
        "seconds": round(samples[-1][0], 1),
        "rss_after_warmup_mb": round(float(mbs[0]), 1),
        "rss_end_mb": round(float(mbs[-1]), 1),
        "rss_peak_mb": round(float(max(m for _, m in samples)), 1),
        "slope_mb_per_min": round(slope, 3),
        "samples": [(round(t, 1), round(m, 1)) for t, m in samples],
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "samples"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if slope <= args.max_slope else 1


if __name__ == "__main__":
    sys.exit(main())
