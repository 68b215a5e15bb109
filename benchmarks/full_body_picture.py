"""The README's full-body picture: one sam2_juggle frame, before (selfie) and after (auto).

Each row shows input | matte | output over an image background; the clip runs through
``Stages`` from its first frame to ``--frame`` so the temporal filter and the pose tracking
are in their steady state, as in a real re-encode.

    python benchmarks/full_body_picture.py   # writes assets/full-body-before-after.png
    python benchmarks/full_body_picture.py --frame 120 --out /tmp/p.png
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.config import Config
from livematte.evaluate import discover_clip, iter_frames
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TILE_WIDTH = 480


def row(model: str, clip: Path, background: Path, frame: int) -> tuple[np.ndarray, str]:
    """input | matte | output at ``frame`` of ``clip`` with ``model``; and the model's name."""
    config = Config()
    config.model.name = model
    config.background.specs = [str(background)]
    stages = Stages(config)
    try:
        for index, (rgb, _) in enumerate(iter_frames(discover_clip(clip))):
            matte = stages.matte(rgb)
            if index == frame:
                out = np.empty_like(rgb)
                stages.composite(rgb, matte, out)
                alpha = cv2.cvtColor(matte.alpha, cv2.COLOR_GRAY2RGB)
                tiles = [rgb, alpha, out]
                break
        else:
            raise SystemExit(f"{clip} has fewer than {frame + 1} frames")
        name = stages.matter.name
    finally:
        stages.close()
    height = round(rgb.shape[0] * TILE_WIDTH / rgb.shape[1])
    small = [cv2.resize(t, (TILE_WIDTH, height), interpolation=cv2.INTER_AREA) for t in tiles]
    picture = np.hstack(small)
    cv2.putText(picture, name, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 0), 2)
    return picture, name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=DATA / "videos" / "sam2_juggle.mp4")
    parser.add_argument(
        "--background",
        type=Path,
        default=DATA / "backgrounds" / "saxon-switzerland-539418_1280.jpg",
    )
    parser.add_argument("--frame", type=int, default=90)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "full-body-before-after.png")
    args = parser.parse_args(argv)
    if not args.clip.is_file() or not args.background.is_file():
        print(f"{args.clip} or {args.background} is absent (shared data).", file=sys.stderr)
        return 2
    rows = [row(model, args.clip, args.background, args.frame)[0] for model in ("selfie", "auto")]
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
