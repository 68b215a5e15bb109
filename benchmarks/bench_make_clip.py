"""Make a bigger test clip by scaling one up with PyAV (e.g. 720p → 1080p for benchmarks).

python benchmarks/bench_make_clip.py ../shared/data/videos/sam2_juggle.mp4 /tmp/juggle1080.mp4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--height", type=int, default=1080)
    args = parser.parse_args()
    with av.open(str(args.input)) as inp, av.open(str(args.output), "w") as out:
        video = inp.streams.video[0]
        video.thread_type = "AUTO"
        ctx = video.codec_context
        width = round(ctx.width * args.height / ctx.height / 2) * 2
        stream = out.add_stream("libx264", rate=video.average_rate or 25)
        stream.width, stream.height, stream.pix_fmt = width, args.height, "yuv420p"
        stream.time_base = video.time_base
        stream.options = {"crf": "18", "preset": "veryfast"}
        for frame in inp.decode(video):
            big = frame.reformat(width=width, height=args.height, interpolation="BICUBIC")
            big.pts, big.time_base = frame.pts, frame.time_base
            big.pict_type = av.video.frame.PictureType.NONE
            for packet in stream.encode(big):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
