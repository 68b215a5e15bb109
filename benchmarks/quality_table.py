"""The matte-quality table: raw model output against each stage and against all of them.

Runs the default model once per frame and feeds the very same model output to four
pipelines, so the rows differ only in what follows the model:

- raw       temporal off, refinement off (bilinear upsampling of the model's alpha)
- temporal  temporal smoothing only
- refine    edge refinement only
- all       both (livematte's defaults)
- all 4:2:0 the defaults on the frame as a video re-encode sees it (4:2:0 planes, the
            planar path of livematte.planar, BT.601 or BT.709 by size as players assume);
            its model runs on its own input, so this row also shows what 4:2:0 costs

on the shared data: the DAVIS clips (``frames_gt/davis2016_*``: MAD, dtSSD, IoU, Grad), the
P3M portraits (``images/p3m_demo``, each image on its own: MAD, Grad) and the talking-head
clips (``videos/liveportrait_d13.mp4``, ``videos/pixabay_doctor_26732.mp4``: flicker) and
the full-body videos (``videos/sam2_juggle.mp4``, ``videos/tfjs_pose_1.mp4``: flicker). Each
clip's "all" row follows, with the model chosen for it (``--model auto`` chooses per shot).
Then it checks the targets of issue 5 against the raw row and, given ``--against`` an
earlier run's JSON (today's default model), issue 12's targets per clip.

    python benchmarks/quality_table.py                  # everything (a few minutes)
    python benchmarks/quality_table.py --frames 40      # first 40 frames of each clip
    python benchmarks/quality_table.py --json quality.json
    python benchmarks/quality_table.py --model selfie --json selfie.json
    python benchmarks/quality_table.py --against selfie.json    # auto against selfie
    python benchmarks/quality_table.py --quality best --frames 60 --json best.json

``--quality best`` scores ``--model auto`` at both qualities (fast: selfie or pose per shot;
best: MODNet steered by them) and MODNet alone (``--model modnet``, its raw row: no
smoothing, no refinement), without the 4:2:0 row, and prints them side by side per group.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from livematte.config import Config
from livematte.evaluate import Clip, discover_clip, iter_frames
from livematte.matting import Matte, create_matter
from livematte.metrics import ClipMetrics, combine_summaries
from livematte.planar import ColourSpace, I420Picture, rgb_to_planes
from livematte.stages import Stages

ROOT = Path(__file__).resolve().parents[1]

ROWS = ("raw", "temporal", "refine", "all", "all 4:2:0")
TALKING_HEADS = ("liveportrait_d13.mp4", "pixabay_doctor_26732.mp4")
# Full-body videos without ground truth (flicker only), besides the DAVIS clips.
FULL_BODY = ("sam2_juggle.mp4", "tfjs_pose_1.mp4")


def row_config(row: str) -> Config:
    config = Config()
    config.temporal.enabled = row in ("temporal", "all", "all 4:2:0")
    config.refine.enabled = row in ("refine", "all", "all 4:2:0")
    return config


class Recorder:
    """The real model, remembering its last answer for the replaying pipelines."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.device, self.quality = inner.device, inner.quality
        self.last: Matte | None = None
        if hasattr(inner, "input_size"):
            self.input_size = inner.input_size

    @property
    def name(self) -> str:
        return self.inner.name

    def infer(self, rgb: np.ndarray) -> Matte:
        self.last = self.inner.infer(rgb)
        return self.last

    def reset(self) -> None:
        self.inner.reset()


class Replay:
    """Gives back what the recorder's model just answered (same input path into Stages)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.name, self.device, self.quality = recorder.name, recorder.device, recorder.quality
        if hasattr(recorder, "input_size"):
            self.input_size = recorder.input_size

    def infer(self, rgb: np.ndarray) -> Matte:
        assert self.recorder.last is not None
        return self.recorder.last

    def reset(self) -> None:
        pass


def as_decoded(rgb: np.ndarray) -> I420Picture:
    """``rgb`` as a video decoder would hand it over: 4:2:0 planes, in the matrix players
    assume for its size."""
    height, width = rgb.shape[:2]
    even = rgb[: height - height % 2, : width - width % 2]
    height, width = even.shape[:2]
    colour = ColourSpace.of_stream(2, 1, 2, 2, "yuv420p", height)
    y, u, v = rgb_to_planes(even, colour)
    packed = np.concatenate((y.ravel(), u.ravel(), v.ravel())).reshape(height * 3 // 2, width)
    return I420Picture.from_packed(packed, width, height, colour)


def score_clip(
    clip: Clip, recorder: Recorder, planar: Any, frames: int | None, rows: tuple[str, ...] = ROWS
) -> dict[str, dict[str, Any]]:
    """Each row's summary for one clip; the model runs once per frame (twice for 4:2:0)."""
    pipelines = {}
    for row in rows:
        matter = recorder if row == ROWS[0] else Replay(recorder)
        if row == "all 4:2:0":
            matter = planar
        pipelines[row] = Stages(row_config(row), matter=matter)
    scores = {row: ClipMetrics(clip.name) for row in rows}
    recorder.reset()  # each clip is a new shot (stateful models: the choice, the tracking)
    if planar is not None:
        planar.reset()
    for rgb, truth in itertools.islice(iter_frames(clip), frames):
        for row in rows:  # "raw" first: it runs the model
            if row == "all 4:2:0":
                picture = as_decoded(rgb)
                alpha = pipelines[row].matte(picture).alpha
                h, w = alpha.shape
                truth_even = None if truth is None else truth[:h, :w]
                scores[row].add(alpha, truth_even, rgb[:h, :w])
                continue
            alpha = pipelines[row].matte(rgb).alpha
            scores[row].add(alpha, truth, rgb)
    summary = {row: score.summary() for row, score in scores.items()}
    summary["model"] = recorder.name
    return summary


def score_group(
    clips: Iterable[Clip],
    recorder: Recorder,
    planar: Any,
    frames: int | None,
    rows: tuple[str, ...] = ROWS,
) -> dict[str, Any]:
    per_clip = [score_clip(clip, recorder, planar, frames, rows) for clip in clips]
    group = {row: combine_summaries([c[row] for c in per_clip], name=row) for row in rows}
    group["clips"] = [{**c["all"], "clip": c["all"]["name"], "model": c["model"]} for c in per_clip]
    return group


def clip_lines(results: dict[str, dict[str, Any]]) -> str:
    """Each clip's "all" row and the model chosen for it."""
    lines = []
    for group in results.values():
        for c in group["clips"]:
            figures = "  ".join(
                f"{key} {c[key]:.4f}" if key == "iou" else f"{key} {c[key]:.2f}"
                for key in ("mad", "iou", "grad", "flicker")
                if isinstance(c.get(key), float) and not math.isnan(c[key])
            )
            lines.append(f"{c['clip']:<28} {c['model']:<8} {figures}")
    return "\n".join(lines)


def stills(folder: Path) -> list[Clip]:
    """A folder of unrelated portraits as one-frame clips, so no state crosses images."""
    clip = discover_clip(folder)
    assert clip.truths is not None
    return [
        Clip(name=image.stem, path=folder, images=(image,), truths=(truth,))
        for image, truth in zip(clip.images, clip.truths, strict=True)
    ]


def change(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return ""
    return f" ({(value - base) / base * 100:+.1f}%)"


def table(results: dict[str, dict[str, Any]]) -> str:
    columns = [
        ("davis", "mad", "DAVIS MAD"),
        ("davis", "dtssd", "DAVIS dtSSD"),
        ("davis", "iou", "DAVIS IoU"),
        ("davis", "grad", "DAVIS Grad"),
        ("p3m", "mad", "P3M MAD"),
        ("p3m", "grad", "P3M Grad"),
        ("talk", "flicker", "talk flicker"),
        ("body", "flicker", "body flicker"),
    ]
    header = ["row", *(title for _, _, title in columns)]
    lines = [header]
    for row in ROWS:
        cells = [row]
        for group, key, _ in columns:
            value = results[group][row][key]
            base = results[group]["raw"][key]
            digits = 4 if key == "iou" else 2
            cells.append(f"{value:.{digits}f}{change(value, base) if row != 'raw' else ''}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def targets(results: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    def rel(group: str, row: str, key: str) -> float:
        base = results[group]["raw"][key]
        return (results[group][row][key] - base) / base

    return [
        (
            "temporal: talking-head flicker -50% or better",
            rel("talk", "temporal", "flicker") <= -0.5,
        ),
        ("temporal: DAVIS MAD +3% or less", rel("davis", "temporal", "mad") <= 0.03),
        ("temporal: DAVIS dtSSD does not rise", rel("davis", "temporal", "dtssd") <= 0.0),
        ("refine: P3M Grad -25% or better", rel("p3m", "refine", "grad") <= -0.25),
        ("refine: P3M MAD +3% or less", rel("p3m", "refine", "mad") <= 0.03),
        ("refine: DAVIS MAD +3% or less", rel("davis", "refine", "mad") <= 0.03),
    ]


def against(results: dict[str, Any], before: dict[str, Any]) -> list[tuple[str, bool]]:
    """Issue 12's targets, per clip, against an earlier run's JSON (today's default model):
    DAVIS MAD at least 55% lower on each clip and mean IoU 0.88 or more; talking heads and
    P3M within 3% (MAD, Grad, flicker)."""
    old = {c["clip"]: c for group in before.values() for c in group["clips"]}
    checks = []
    for c in results["davis"]["clips"]:
        base = old[c["clip"]]["mad"]
        checks.append(
            (
                f"{c['clip']}: MAD {base:.2f} -> {c['mad']:.2f} ({c['model']}), -55% or better",
                c["mad"] <= 0.45 * base,
            )
        )
    checks.append(
        (
            f"DAVIS IoU {results['davis']['all']['iou']:.4f} >= 0.88",
            results["davis"]["all"]["iou"] >= 0.88,
        )
    )
    for group, keys in (("p3m", ("mad", "grad")), ("talk", ("flicker",))):
        for key in keys:
            now, then = results[group]["all"][key], before[group]["all"][key]
            checks.append(
                (f"{group} {key} {then:.3f} -> {now:.3f}, within +3%", now <= then * 1.03)
            )
    return checks


SIDE_ROWS = ("raw", "temporal", "refine", "all")
# (label, model.name, model.quality, the row shown): fast and best through the stages, and
# MODNet alone (its raw row: no smoothing, no refinement).
CONTENDERS = (
    ("fast", "auto", "fast", "all"),
    ("best", "auto", "best", "all"),
    ("modnet alone", "modnet", "auto", "raw"),
)


def side_by_side(
    model: Any,
    groups: dict[str, list[Clip]],
    frames: int | None,
    json_path: Path | None,
    contenders: tuple[tuple[str, str, str, str], ...] = CONTENDERS,
) -> int:
    """Fast, best and MODNet alone on every group; a row per group and contender."""
    results: dict[str, dict[str, Any]] = {}
    for label, name, quality, _ in contenders:
        config = copy.deepcopy(model)
        config.name, config.quality = name, quality
        recorder = Recorder(create_matter(config))
        results[label] = {}
        for group, clips in groups.items():
            print(
                f"scoring {label} on {group} ({len(clips)} clips)...", file=sys.stderr, flush=True
            )
            results[label][group] = score_group(clips, recorder, None, frames, SIDE_ROWS)
        recorder.inner.close()
    print(side_table(results, contenders))
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


def side_table(
    results: dict[str, dict[str, Any]],
    contenders: tuple[tuple[str, str, str, str], ...] = CONTENDERS,
) -> str:
    """Per group: MAD, Grad, dtSSD, IoU and flicker of each contender."""
    keys = (
        ("mad", "MAD"),
        ("grad", "Grad"),
        ("dtssd", "dtSSD"),
        ("iou", "IoU"),
        ("flicker", "flicker"),
    )
    lines = [["group", "matte", *(title for _, title in keys)]]
    for group in ("davis", "p3m", "talk", "body"):
        for label, _, _, row in contenders:
            figures = results[label][group][row]
            cells = [
                "-" if math.isnan(figures[key]) else f"{figures[key]:.{4 if key == 'iou' else 2}f}"
                for key, _ in keys
            ]
            lines.append([group, label, *cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--frames", type=int, default=None, help="first N frames of each clip")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--model", default=None, help="model.name (default: livematte's)")
    parser.add_argument(
        "--against", type=Path, default=None, help="an earlier run's --json: issue 12's targets"
    )
    parser.add_argument(
        "--quality",
        choices=("auto", "fast", "best"),
        default=None,
        help="model.quality; best: fast, best and MODNet alone side by side",
    )
    parser.add_argument(
        "--no-modnet-alone",
        action="store_true",
        help="with --quality best: leave out MODNet alone (on a CPU it takes longest)",
    )
    args = parser.parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        print(f"{data} is absent: this benchmark needs the shared data.", file=sys.stderr)
        return 2
    model = copy.deepcopy(Config().model)
    if args.model:
        model.name = args.model
    groups = {
        "davis": [discover_clip(p) for p in sorted((data / "frames_gt").glob("davis2016_*"))],
        "p3m": stills(data / "images" / "p3m_demo"),
        "talk": [discover_clip(data / "videos" / name) for name in TALKING_HEADS],
        "body": [discover_clip(data / "videos" / name) for name in FULL_BODY],
    }
    if args.quality == "best":
        contenders = CONTENDERS[:2] if args.no_modnet_alone else CONTENDERS
        return side_by_side(model, groups, args.frames, args.json, contenders)
    if args.quality:
        model.quality = args.quality
    recorder = Recorder(create_matter(copy.deepcopy(model)))
    planar = create_matter(copy.deepcopy(model))
    results = {}
    for group, clips in groups.items():
        print(f"scoring {group} ({len(clips)} clips)...", file=sys.stderr, flush=True)
        results[group] = score_group(clips, recorder, planar, args.frames)
    print(table(results))
    print()
    print(clip_lines(results))
    print()
    passed = targets(results)
    if args.against:
        passed += against(results, json.loads(args.against.read_text()))
    for text, ok in passed:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0 if all(ok for _, ok in passed) else 1


if __name__ == "__main__":
    sys.exit(main())
