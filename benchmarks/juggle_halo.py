"""The halo around a full-body person over a key colour: measured, and shown before/after.

sam2_juggle (1280x720) runs through ``Stages`` with ``-b '#00b140'`` and the default model;
on frames 40-200 (every 20th) :func:`livematte.metrics.halo` gives the share of the ring
4-30 px outside the person that is not the plain key colour: a band of the old background
left by a soft, wide edge. The person is where the pose model's own segmentation, on that
frame alone, is over 0.5, or where the final alpha is (a kicked ball is not a halo).

"Before" is another revision of livematte (``--before``, default the commit this work
started from), unpacked with ``git archive`` and run in a subprocess on the same clip; the
picture puts the two crops side by side, shoulders and arms enlarged.

    python benchmarks/juggle_halo.py     # writes assets/juggle-halo-before-after.png
    python benchmarks/juggle_halo.py --before HEAD~3 --frame 100 --out /tmp/halo.png
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.config import Config
from livematte.evaluate import discover_clip, iter_frames
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "videos" / "sam2_juggle.mp4"
KEY = "#00b140"
PICTURE = "juggle-halo-before-after.png"
MEASURED = range(40, 201, 20)
# The crop shown: shoulders, arms and the gap between arm and body (frame pixels).
CROP = (slice(60, 420), slice(560, 980))


def key_rgb(spec: str = KEY) -> tuple[int, int, int]:
    value = int(spec.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 255, value & 255


def render(clip: Path, frames: set[int]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(input, output over the key colour, alpha) of ``frames``, the clip run from its start.

    Only the API every revision has (Config, Stages, the eval's frame reader), so an older
    revision's code can run it too."""
    config = Config()
    config.background.specs = [KEY]
    stages = Stages(config)
    shown: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    try:
        for index, (rgb, _) in enumerate(iter_frames(discover_clip(clip))):
            matte = stages.matte(rgb)
            if index in frames:
                out = np.empty_like(rgb)
                stages.composite(rgb, matte, out)
                shown[index] = (rgb, out, matte.alpha.copy())
            if index >= max(frames):
                break
    finally:
        stages.close()
    if len(shown) < len(frames):
        raise SystemExit(f"{clip} has fewer than {max(frames) + 1} frames")
    return shown


def halo_shares(shown: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[float]:
    """The halo share of each measured frame; the person is this checkout's pose model's
    own 0.5 level on that frame alone (the same for both sides), or the final alpha's."""
    from livematte.matting.pose import PoseTracker
    from livematte.metrics import halo

    reference = PoseTracker()
    shares = []
    for index in MEASURED:
        rgb, out, alpha = shown[index]
        reference.reset()
        found = reference.track(rgb)
        body = alpha >= 128
        if found is not None:
            body |= found.alpha > 0.5
        shares.append(halo(out, body, key_rgb()))
    return shares


def render_revision(revision: str, clip: Path, frames: set[int]) -> dict[int, tuple]:
    """:func:`render` with the ``src`` of another git revision, in a subprocess."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(work, filter="data")
        env = {**os.environ, "PYTHONPATH": f"{work}/src"}
        command = [sys.executable, __file__, "--clip", str(clip), "--render-only", work]
        subprocess.run(
            [*command, "--frames", ",".join(map(str, sorted(frames)))],
            env=env,
            check=True,
            capture_output=True,
        )
        return {i: load(Path(work), i) for i in frames}


def save(folder: Path, index: int, views: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    for name, image in zip(("in", "out", "alpha"), views, strict=True):
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"{name}{index}.png"), image)


def load(folder: Path, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rgb, out = (cv2.imread(str(folder / f"{n}{index}.png"))[:, :, ::-1] for n in ("in", "out"))
    return rgb, out, cv2.imread(str(folder / f"alpha{index}.png"), cv2.IMREAD_GRAYSCALE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--frame", type=int, default=160)
    parser.add_argument("--before", default="f65aa1e", help="git revision shown as before")
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / PICTURE)
    parser.add_argument("--render-only", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frames", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.clip.is_file():
        print(f"{args.clip} is absent (shared data).", file=sys.stderr)
        return 2
    if args.render_only is not None:  # the "before" side, in its own revision's code
        frames = {int(i) for i in args.frames.split(",")}
        for index, views in render(args.clip, frames).items():
            save(args.render_only, index, views)
        return 0
    frames = {*MEASURED, args.frame}
    sides = {
        f"before ({args.before})": render_revision(args.before, args.clip, frames),
        "after": render(args.clip, frames),
    }
    tiles = []
    for label, shown in sides.items():
        shares = halo_shares(shown)
        listed = " ".join(f"{s:.3f}" for s in shares)
        print(f"{label}: halo share, frames {MEASURED.start}-{MEASURED.stop - 1}: {listed}")
        print(f"{label}: mean {np.mean(shares):.4f}  worst {np.max(shares):.4f}")
        tile = np.ascontiguousarray(shown[args.frame][1][CROP])
        tile = cv2.resize(tile, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
        cv2.putText(tile, label, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        tiles.append(tile)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} (frame {args.frame})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
