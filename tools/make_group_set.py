"""Build (and score) a multi-person set with exact ground truth from the shared data.

People come from the P3M portraits (``images/p3m_demo``: close-ups, soft alphas) and the
DAVIS frames (``frames_gt/davis2016_*``: full bodies, binary masks), each cut out with its
own alpha and laid side by side, partly overlapping, over the shared backgrounds. Every
family is a clip folder that ``livematte eval`` takes as it is::

    OUT/close/   2..7 portraits, heads and shoulders cut by the bottom edge
    OUT/full/    2..7 whole bodies, from a small crowd to a few large people
    OUT/moving/  people sliding across the rotating Earth: one enters, one leaves
    OUT/keyed/   one person (DAVIS hike) keyed over the rotating Earth

each with ``images/`` (JPEG), ``alphas/`` (the whole alpha, PNG) and ``people/`` (each
person's visible alpha, ``<frame>_<k>.png``: people in front hide those behind).

    python tools/make_group_set.py build /tmp/groups
    livematte eval /tmp/groups/full --quality fast
    python tools/make_group_set.py score /tmp/groups/full /tmp/groups/close --quality fast
    python tools/make_group_set.py clip /tmp/five.mp4 --people 5   # for livematte bench

``score`` runs the pipeline as ``livematte eval`` does and prints, per family, the mean IoU
and MAD (x1e3) over frames, the mean and lowest IoU over people, and how many people were
lost (own IoU under 0.5); ``--json`` writes the per-person scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from livematte.config import Config
from livematte.eval_command import pipeline_alpha_fns
from livematte.evaluate import discover_clip, iter_frames
from livematte.group import LOST_IOU, Cutout, Group, Placement, compose, person_ious, side_by_side
from livematte.matting import create_matter

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1280, 720)
DAVIS = ("davis2016_dance-twirl", "davis2016_hike", "davis2016_parkour")
BACKGROUNDS = ("architecture-5082700_1280.jpg", "saxon-switzerland-539418_1280.jpg")
EARTH = "rotating_earth.webm"
# A person showing less than this share of the frame (sliding in or out) is not scored.
MIN_VISIBLE = 0.002
# Families of unrelated pictures: scored each on its own (the model starts afresh).
STILLS = ("close", "full")


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return image


def portraits(data: Path) -> list[Cutout]:
    folder = data / "images" / "p3m_demo"
    images = sorted((folder / "images").iterdir())
    alphas = {p.stem: p for p in (folder / "alpha").iterdir()}
    return [Cutout.from_alpha(read_rgb(p), read_gray(alphas[p.stem])) for p in images]


def bodies(data: Path, per_clip: int = 5) -> list[Cutout]:
    """``per_clip`` frames spread over each DAVIS clip, so poses differ."""
    found = []
    for clip in DAVIS:
        folder = data / "frames_gt" / clip
        images = sorted((folder / "images").iterdir())
        masks = sorted((folder / "masks").iterdir())
        for index in np.linspace(0, len(images) - 1, per_clip).round().astype(int):
            found.append(Cutout.from_alpha(read_rgb(images[index]), read_gray(masks[index])))
    return found


def background(data: Path, name: str) -> np.ndarray:
    return cv2.resize(read_rgb(data / "backgrounds" / name), SIZE, interpolation=cv2.INTER_AREA)


def earth_frames(data: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(data / "backgrounds" / EARTH))
    frames = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), SIZE))
    capture.release()
    if not frames:
        raise SystemExit(f"cannot decode {data / 'backgrounds' / EARTH}")
    return frames


def write(folder: Path, stem: str, group: Group) -> None:
    for sub in ("images", "alphas", "people"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(group.rgb, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(folder / "alphas" / f"{stem}.png"), to_u8(group.alpha))
    seen = [p for p in group.people if np.count_nonzero(p > 0.5) >= MIN_VISIBLE * p.size]
    for k, person in enumerate(seen):
        cv2.imwrite(str(folder / "people" / f"{stem}_{k}.png"), to_u8(person))


def to_u8(alpha: np.ndarray) -> np.ndarray:
    return np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


def stills(out: Path, family: str, people: list[Cutout], heights: list[float], data: Path) -> int:
    """One picture per (count 2..7, height): people drawn in turn, backgrounds in turn."""
    rng = np.random.default_rng(len(family))
    backs = [background(data, name) for name in BACKGROUNDS]
    made = 0
    for count in range(2, 8):
        for height in heights:
            chosen = [people[i] for i in rng.choice(len(people), count, replace=False)]
            overlap = float(rng.uniform(0.05, 0.3))
            ground = 1.0 if family == "close" else float(rng.uniform(0.85, 0.98))
            group = side_by_side(backs[made % len(backs)], chosen, height, overlap, ground)
            write(out / family, f"{made:05d}", group)
            made += 1
    return made


def moving(out: Path, people: list[Cutout], data: Path, frames: int = 48) -> int:
    """Three people sliding right over the rotating Earth (a dark, moving background): the
    row starts with its right-hand person off the canvas and ends with its left-hand one
    gone, so people enter and leave; they pass partly behind one another."""
    chosen = [people[0], people[6], people[11]]
    backs = earth_frames(data, frames)
    for index in range(frames):
        t = index / max(1, frames - 1)
        group = side_by_side(
            backs[index % len(backs)],
            chosen,
            0.75,
            overlap=0.2,
            ground=0.97,
            offset=-0.45 + 0.9 * t,
            fit=False,
        )
        write(out / "moving", f"{index:05d}", group)
    return frames


def keyed(out: Path, data: Path, frames: int = 40) -> int:
    """One person (DAVIS hike, cut out by its own masks where they stand) keyed over the
    rotating Earth: the dark, moving background on which best lost to both its parts."""
    folder = data / "frames_gt" / "davis2016_hike"
    images = sorted((folder / "images").iterdir())[:frames]
    masks = sorted((folder / "masks").iterdir())[:frames]
    backs = earth_frames(data, len(images))
    for index, (image, mask) in enumerate(zip(images, masks, strict=True)):
        rgb = read_rgb(image)
        back = cv2.resize(backs[index % len(backs)], (rgb.shape[1], rgb.shape[0]))
        alpha = read_gray(mask).astype(np.float32) / 255.0
        whole = Cutout(rgb, alpha)
        group = compose(back, [Placement(whole, 0, 0)])
        write(out / "keyed", f"{index:05d}", group)
    return len(images)


def clip(out: Path, data: Path, count: int, frames: int = 120) -> None:
    """A video of ``count`` whole bodies drifting slowly over the mountains, for ``livematte
    bench``: what a wide shot of a group costs."""
    found = bodies(data)  # five of each clip: take the clips in turn
    people = [found[(i % 3) * 5 + (i // 3) % 5] for i in range(count)]
    back = background(data, BACKGROUNDS[1])
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for index in range(frames):
        offset = 0.05 * np.sin(2 * np.pi * index / frames)
        group = side_by_side(back, people, 0.8, overlap=0.1, ground=0.97, offset=offset)
        writer.write(cv2.cvtColor(group.rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    print(f"{frames} frames of {count} people written to {out}")


def build(out: Path, data: Path) -> None:
    if out.resolve().is_relative_to(ROOT):
        raise SystemExit(f"{out} is inside the repository; name a folder outside it.")
    made = stills(out, "close", portraits(data), [0.9, 0.6], data)
    full = bodies(data)
    made += stills(out, "full", full, [0.85, 0.45], data)
    made += moving(out, full, data)
    made += keyed(out, data)
    print(f"{made} frames written under {out} (close/, full/, moving/, keyed/)")


def people_of(folder: Path, stem: str) -> list[np.ndarray]:
    files = sorted(
        (folder / "people").glob(f"{stem}_*.png"), key=lambda p: int(p.stem.split("_")[-1])
    )
    return [read_gray(p).astype(np.float32) / 255.0 for p in files]


def score(folders: list[Path], config: Config) -> dict[str, dict]:
    matter = create_matter(config.model)
    factory, close = pipeline_alpha_fns(config, matter)
    results: dict[str, dict] = {}
    try:
        for folder in folders:
            clip = discover_clip(folder)
            alpha_fn = factory()
            frame_ious, people_scores, mads = [], [], []
            for image, (rgb, truth) in zip(clip.images, iter_frames(clip), strict=True):
                if folder.name in STILLS:
                    alpha_fn = factory()
                alpha = alpha_fn(rgb)
                found, sure = alpha > (127 if alpha.dtype == np.uint8 else 0.5), truth > 127
                frame_ious.append(float((found & sure).sum() / max(1, (found | sure).sum())))
                scale = 255.0 if alpha.dtype == np.uint8 else 1.0
                mads.append(float(np.abs(alpha / scale - truth / 255.0).mean() * 1e3))
                people_scores.append(person_ious(alpha, people_of(folder, image.stem)))
            flat = [s for frame in people_scores for s in frame]
            results[folder.name] = {
                "model": matter.name,
                "frames": len(frame_ious),
                "iou": float(np.mean(frame_ious)),
                "mad": float(np.mean(mads)),
                "person_iou": float(np.mean(flat)),
                "worst": float(np.min(flat)),
                "people": len(flat),
                "lost": sum(s < LOST_IOU for s in flat),
                "per_frame": people_scores,
            }
    finally:
        close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the set to a folder outside the repository")
    make.add_argument("out", type=Path)
    make.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    video = sub.add_parser("clip", help="a video of N people for livematte bench")
    video.add_argument("out", type=Path)
    video.add_argument("--people", type=int, default=5)
    video.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    rate = sub.add_parser("score", help="score the pipeline on families of the set")
    rate.add_argument("folders", type=Path, nargs="+")
    rate.add_argument("--model", default="auto")
    rate.add_argument("--quality", default="fast")
    rate.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command in ("build", "clip"):
        if not args.data.is_dir():
            print(f"{args.data} is absent: the set is built from the shared data.", file=sys.stderr)
            return 2
        if args.command == "clip":
            clip(args.out, args.data, args.people)
        else:
            build(args.out, args.data)
        return 0
    config = Config()
    config.model.name, config.model.quality = args.model, args.quality
    results = score(args.folders, config)
    for name, r in results.items():
        print(
            f"{name:8s} {r['model']:24s} frames {r['frames']:3d}  IoU {r['iou']:.3f}  "
            f"MAD {r['mad']:6.2f}  "
            f"person IoU {r['person_iou']:.3f} (worst {r['worst']:.3f})  "
            f"lost {r['lost']}/{r['people']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
