"""A product on a table, filmed: `--model object` on video, its speed and its flicker.

python benchmarks/object_video.py [--frames 60] [--clip clip.mp4] [--json out.json]

Without ``--clip`` the clip is built here, 1280x720 at 30 fps: scikit-image's coffee cup
(CC0), cut out once by U²-Net-p, stands on a still background (the shared data's
architecture photo) whose right third shows the rotating-earth video; the cup holds still,
slides and turns a little, holds still again, and every frame gets sensor noise (sigma 2
grey levels), so a model that answers each frame alone shows its jitter. Flicker is
livematte's figure (metrics.flicker: mean |alpha_t - alpha_t-1| x 1000 over the pixels
whose picture did not change); MAD (x1000) is against the alpha the cup was placed with,
apart for the still and the moving thirds (smoothing that lags shows in the second).
Rows: the plain U²-Net-p loop (every frame alone, bilinear upsampling), `--model object`
with its defaults, without temporal smoothing, and with the refiner tuned on people. fps
is the file run's own (``RunReport.fps``: decode to encode, -o null).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from livematte import load_config, process_video
from livematte.matting import OBJECT_FILE
from livematte.matting.builtin import model_path
from livematte.metrics import flicker, luma, mad

sys.path.insert(0, str(Path(__file__).resolve().parent))
from object_table import plain_u2netp, sample_photos  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "backgrounds"
WIDTH, HEIGHT, FPS = 1280, 720, 30
VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("object (defaults)", {}),
    ("object, no temporal", {"temporal.enabled": False}),
    ("object, refiner on (tuned on people)", {"refine.enabled": True}),
]


def cup_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The coffee cup (RGB) and its alpha (float 0..1), cut out once by U²-Net-p."""
    skimage_data = sample_photos()

    rgb = skimage_data.coffee()
    alpha = plain_u2netp(model_path(OBJECT_FILE))(rgb)
    alpha = cv2.GaussianBlur(np.clip((alpha - 0.3) / 0.4, 0, 1), (0, 0), 1.0)
    return rgb, alpha.astype(np.float32)


def build_clip(path: Path, frames: int) -> list[np.ndarray]:
    """Write the clip described in the module docstring; return each frame's true alpha
    (the cut-out's, where it was placed: uint8, frame-sized)."""
    background = cv2.cvtColor(
        cv2.imread(str(SHARED / "architecture-5082700_1280.jpg")), cv2.COLOR_BGR2RGB
    )
    background = cv2.resize(background, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    earth = av.open(str(SHARED / "rotating_earth.webm"))
    earth_frames = earth.decode(video=0)
    cup, alpha = cup_cutout()
    rng = np.random.default_rng(7)
    truth = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "16", "preset": "veryfast"}
        for index in range(frames):
            frame = background.copy()
            planet = next(earth_frames).to_ndarray(format="rgb24")
            frame[:, 2 * WIDTH // 3 :] = cv2.resize(planet, (WIDTH - 2 * WIDTH // 3, HEIGHT))
            phase = index / max(frames - 1, 1)
            # Still for the first and last third; in between it slides and turns a little.
            moving = min(max((phase - 1 / 3) * 3, 0.0), 1.0)
            angle = 12.0 * math.sin(math.pi * moving)
            shift = 160.0 * moving
            matrix = cv2.getRotationMatrix2D((300, 200), angle, 0.9)
            matrix[:, 2] += (120 + shift, 150)
            size = (2 * WIDTH // 3, HEIGHT)
            warped = cv2.warpAffine(cup, matrix, size, flags=cv2.INTER_LINEAR)
            weight = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR)[..., None]
            placed = np.zeros((HEIGHT, WIDTH), np.uint8)
            placed[:, : size[0]] = np.round(weight[..., 0] * 255.0).astype(np.uint8)
            truth.append(placed)
            left = frame[:, : size[0]].astype(np.float32)
            left = warped * weight + left * (1.0 - weight)
            frame[:, : size[0]] = np.clip(left, 0, 255).astype(np.uint8)
            noisy = frame.astype(np.float32) + rng.normal(0, 2.0, frame.shape)
            picture = av.VideoFrame.from_ndarray(np.clip(noisy, 0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    earth.close()
    return truth


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def clip_flicker(alphas: list[np.ndarray], frames: list[np.ndarray]) -> float:
    greys = [luma(frame) for frame in frames]
    values = [
        flicker(alphas[i - 1], alphas[i], greys[i - 1], greys[i]) for i in range(1, len(alphas))
    ]
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def measure(alphas: list[np.ndarray], frames: list[np.ndarray], truth: list[np.ndarray]) -> dict:
    """Flicker over the clip, and MAD against the placed cut-out's alpha while the cup
    stands still (first and last third) and while it moves (the middle third)."""
    count = len(alphas)
    moving = range(count // 3, 2 * count // 3)
    errors = [mad(alpha, true) for alpha, true in zip(alphas, truth, strict=True)]
    return {
        "flicker": clip_flicker(alphas, frames),
        "mad_still": float(np.mean([e for i, e in enumerate(errors) if i not in moving])),
        "mad_moving": float(np.mean([errors[i] for i in moving])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--keep", type=Path, default=None, help="save the built clip here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.getLogger("livematte").setLevel(logging.WARNING)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.keep or Path(tmp) / "cup.mp4"
        truth = build_clip(clip, args.frames)
        frames = read_frames(clip)
        plain = plain_u2netp(model_path(OBJECT_FILE))
        results["plain U²-Net-p loop"] = measure([plain(frame) for frame in frames], frames, truth)
        for name, settings in VARIANTS:
            mattes = Path(tmp) / name.replace(" ", "_").replace(",", "")
            config = load_config(overrides={"quiet": True, "model.name": "object", **settings})
            report = process_video(clip, "null", alpha_out=mattes, config=config)
            alphas = [
                cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(mattes.glob("*.png"))
            ]
            results[name] = {**measure(alphas, frames, truth), "fps": report.fps}
    height, width = frames[0].shape[:2]
    print(f"{len(frames)} frames at {width}x{height}; load average {os.getloadavg()[0]:.1f}")
    print("| run | flicker (x1000) | MAD still (x1000) | MAD moving (x1000) | fps |")
    print("|---|---|---|---|---|")
    for name, row in results.items():
        fps = f"{row['fps']:.2f}" if "fps" in row else "-"
        print(
            f"| {name} | {row['flicker']:.2f} | {row['mad_still']:.1f} "
            f"| {row['mad_moving']:.1f} | {fps} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
