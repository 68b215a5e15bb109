"""The README's two example cut-outs: a cat and a coffee cup through `--model object`.

python benchmarks/object_examples.py [--out assets]

The pictures are scikit-image's sample photographs, both CC0 (Chelsea the cat by Stefan
van der Walt; the coffee cup by Rachel Michetti). Each is run through the Python API with
``model="object", background="transparent"`` and shown beside its cut-out, which lies on a
checkerboard so the transparency shows: ``OUT/object-cat.png``, ``OUT/object-cup.png``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from livematte import process_video
from livematte.io.images import write_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from object_table import sample_photos  # noqa: E402

EXAMPLES = {"object-cat.png": "chelsea", "object-cup.png": "coffee"}
HEIGHT = 240  # each half of the side-by-side


def checkerboard(height: int, width: int, cell: int = 12) -> np.ndarray:
    ys, xs = np.indices((height, width)) // cell
    light = ((ys + xs) % 2 == 0)[..., None]
    return np.where(light, 235, 200).astype(np.float32) * np.ones(3, np.float32)


def side_by_side(rgb: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    over = rgba[:, :, :3] * alpha + checkerboard(height, width) * (1.0 - alpha)
    both = np.hstack([rgb, np.full((height, 8, 3), 255, np.uint8), over.astype(np.uint8)])
    scale = HEIGHT / height
    return cv2.resize(both, (round(both.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "assets")
    args = parser.parse_args(argv)
    logging.getLogger("livematte").setLevel(logging.WARNING)
    skimage_data = sample_photos()

    with tempfile.TemporaryDirectory() as tmp:
        for name, sample in EXAMPLES.items():
            rgb = getattr(skimage_data, sample)()
            source, cutout = Path(tmp) / f"{sample}.png", Path(tmp) / f"{sample}-cutout.png"
            write_image(source, rgb)
            process_video(source, cutout, model="object", background="transparent")
            rgba = cv2.cvtColor(cv2.imread(str(cutout), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
            target = args.out / name
            write_image(target, side_by_side(rgb, rgba), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(f"{target}: {target.stat().st_size // 1024} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
