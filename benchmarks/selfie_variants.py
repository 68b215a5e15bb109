"""Which selfie variant for which frame: general (256x256) against landscape (144x256), and
general on a square crop around the person (from the pose detector) for small subjects.

Measured on three families, each through ``Stages`` with livematte's defaults:

- wide close-ups: the P3M portraits centre-cropped to 16:9 (MAD, Grad against their alpha);
- wide full-body shots: the DAVIS clips, 854x480 (MAD, IoU against their masks);
- a wide talking head: ``videos/pixabay_doctor_26732.mp4`` (flicker; no ground truth).

    python benchmarks/selfie_variants.py               # everything (a few minutes)
    python benchmarks/selfie_variants.py --frames 40   # first 40 frames of each clip
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from quality_table import stills  # the script's own folder is on sys.path

from livematte.config import Config
from livematte.evaluate import Clip, discover_clip, iter_frames
from livematte.matting import Matte, Matter
from livematte.matting.pose import PoseDetector, Roi
from livematte.matting.selfie import Selfie
from livematte.metrics import ClipMetrics, combine_summaries
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("general", "landscape", "crop")


class CropSelfie(Matter):
    """Selfie (general) on a square crop around the person the pose detector finds (its
    body circle, 1.25x), pasted back into a frame-sized alpha; the whole frame when nobody
    is found. Works on the full frame (no ``input_size``)."""

    name, device = "selfie on a person crop", "cpu"

    def __init__(self) -> None:
        self.selfie = Selfie("general")
        self.detector = PoseDetector()

    def infer(self, rgb: np.ndarray) -> Matte:
        height, width = rgb.shape[:2]
        found = self.detector.detect(rgb)
        if not found:
            return self.selfie.infer(rgb)
        keypoints, _ = found[0]
        roi = Roi.from_points(keypoints[0], keypoints[1])
        half = roi.side / 2
        left, top = max(0, int(roi.cx - half)), max(0, int(roi.cy - half))
        right, bottom = min(width, int(roi.cx + half)), min(height, int(roi.cy + half))
        crop = np.ascontiguousarray(rgb[top:bottom, left:right])
        alpha = np.zeros((height, width), np.float32)
        small = self.selfie.infer(crop).alpha
        alpha[top:bottom, left:right] = cv2.resize(small, (right - left, bottom - top))
        return Matte(alpha)

    def reset(self) -> None:
        """Stateless."""


def matter(variant: str) -> Any:
    return CropSelfie() if variant == "crop" else Selfie(variant)


def wide(rgb: np.ndarray, truth: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The centre 16:9 band of a square image (and of its truth)."""
    height = rgb.shape[1] * 9 // 16
    top = (rgb.shape[0] - height) // 2
    band = slice(top, top + height)
    return np.ascontiguousarray(rgb[band]), None if truth is None else truth[band]


def frames(clip: Clip, limit: int | None, crop: bool) -> Iterator[tuple[np.ndarray, Any]]:
    for rgb, truth in itertools.islice(iter_frames(clip), limit):
        yield wide(rgb, truth) if crop else (rgb, truth)


def score(variant: str, clips: list[Clip], limit: int | None, crop: bool) -> dict[str, Any]:
    summaries = []
    for clip in clips:
        stages = Stages(Config(), matter=matter(variant))
        metrics = ClipMetrics(clip.name)
        for rgb, truth in frames(clip, limit, crop):
            metrics.add(stages.matte(rgb).alpha, truth, rgb)
        summaries.append(metrics.summary())
    return combine_summaries(summaries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--frames", type=int, default=None)
    args = parser.parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        print(f"{data} is absent: this benchmark needs the shared data.", file=sys.stderr)
        return 2
    p3m = data / "images" / "p3m_demo"
    davis = [discover_clip(p) for p in sorted((data / "frames_gt").glob("davis2016_*"))]
    doctor = [discover_clip(data / "videos" / "pixabay_doctor_26732.mp4")]
    families = {
        "P3M 16:9 close-ups": (stills(p3m), True, ("mad", "grad")),
        "DAVIS full body": (davis, False, ("mad", "iou")),
        "doctor talking head": (doctor, False, ("flicker",)),
    }
    print(f"{'family':22} {'variant':10} figures")
    for family, (clips, crop, keys) in families.items():
        for variant in VARIANTS:
            result = score(variant, clips, args.frames, crop)
            figures = "  ".join(
                f"{k} {result[k]:.4f}" if k == "iou" else f"{k} {result[k]:.2f}" for k in keys
            )
            print(f"{family:22} {variant:10} {figures}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
