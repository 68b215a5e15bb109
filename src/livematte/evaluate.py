"""The data side of ``livematte eval``: find clips, stream their frames, score, tabulate.

A clip is one of:

- a folder with ``images/`` and ``masks/`` (or ``alphas/``, or ``alpha/`` as P3M names it) of
  8-bit images paired by name (``00001.jpg`` with ``00001.png``) or, when the names differ,
  by sorted order: every metric;
- a folder with only ``images/``: flicker and time only, since there is no ground truth;
- a video file: flicker and time only.

Frames are streamed one at a time through a fresh ``alpha_fn`` per clip (stateful models start
clean on each clip), so a long clip never sits in memory.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import UserError
from .io.json_file import write_json
from .io.sources import IMAGE_EXTENSIONS, VideoFileSource, read_image
from .metrics import ClipMetrics, combine_summaries

AlphaFn = Callable[[np.ndarray], np.ndarray]
"""RGB uint8 (H, W, 3) frame in, alpha (H, W) out (uint8 0..255 or float 0..1)."""

TRUTH_FOLDERS = ("alphas", "alpha", "masks")
"""Ground-truth folder names, in order of preference: a soft alpha says more than a mask."""

COLUMNS = (
    ("iou", "IoU", "{:.4f}"),
    ("mad", "MAD x1e3", "{:.2f}"),
    ("mse", "MSE x1e3", "{:.2f}"),
    ("grad", "Grad x1e-3", "{:.2f}"),
    ("dtssd", "dtSSD x1e2", "{:.2f}"),
    ("flicker", "flicker x1e3", "{:.2f}"),
    ("ms", "ms/frame", "{:.1f}"),
)
"""(metric key, header with its unit, number format) of the table's metric columns."""

LAYOUT_HINT = (
    "a clip is a folder with images/ and masks/ (or alphas/), a folder with images/ only, "
    "or a video file"
)


@dataclass(frozen=True)
class Clip:
    """A clip found on disk: its frame files paired with ground truth, or a video file."""

    name: str
    path: Path
    images: tuple[Path, ...] = ()
    truths: tuple[Path, ...] | None = None

    @property
    def is_video(self) -> bool:
        return not self.images

    @property
    def has_truth(self) -> bool:
        return self.truths is not None


def _natural_key(path: Path) -> list[Any]:
    """Sort ``frame2`` before ``frame10``, as a person numbering frames means."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _list_images(folder: Path) -> list[Path]:
    """Image files in ``folder`` in natural order, skipping hidden files such as ``._0001.png``."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    ]
    return sorted(files, key=_natural_key)


def _pair_files(images: list[Path], truths: list[Path], truth_dir: Path) -> tuple[Path, ...]:
    """Ground-truth files in the order of ``images``: by file stem when the stems agree,
    otherwise by position when the counts agree."""
    by_stem = {p.stem: p for p in truths}
    stems = [p.stem for p in images]
    if len(by_stem) == len(truths) == len(images) and set(stems) == set(by_stem):
        return tuple(by_stem[s] for s in stems)
    if len(truths) != len(images):
        raise UserError(
            f"{truth_dir} holds {len(truths)} images but {images[0].parent} holds "
            f"{len(images)}; give every frame exactly one ground-truth image."
        )
    return tuple(truths)


def discover_clip(path: Path | str) -> Clip:
    """Work out what kind of clip ``path`` is, and list and pair its frames.

    Raises UserError for anything that is not a usable clip, before any frame is processed.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"Clip {path} does not exist; check the path ({LAYOUT_HINT}).")
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            raise UserError(
                f"{path} is a single image, which has no frames to compare; {LAYOUT_HINT}."
            )
        return Clip(name=path.name, path=path)

    image_dir = path / "images"
    if not image_dir.is_dir():
        raise UserError(f"Clip folder {path} has no images/ subfolder; {LAYOUT_HINT}.")
    images = _list_images(image_dir)
    if not images:
        raise UserError(
            f"{image_dir} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
            "put the clip's frames there."
        )
    truth_dir = next((path / d for d in TRUTH_FOLDERS if (path / d).is_dir()), None)
    if truth_dir is None:
        return Clip(name=path.name, path=path, images=tuple(images))
    truths = _pair_files(images, _list_images(truth_dir), truth_dir)
    return Clip(name=path.name, path=path, images=tuple(images), truths=truths)


def read_truth(path: Path) -> np.ndarray:
    """A ground-truth mask or alpha as uint8 (H, W); colour or 16-bit files are converted."""
    return cv2.cvtColor(read_image(path), cv2.COLOR_RGB2GRAY)


def iter_frames(clip: Clip) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield (RGB uint8 frame, ground truth uint8 or None) pairs, one frame in memory at a time."""
    if clip.is_video:
        source = VideoFileSource(clip.path)
        try:
            for frame in source:
                yield frame.image, None
        finally:
            source.close()
        return
    for index, image_path in enumerate(clip.images):
        rgb = read_image(image_path)
        if clip.truths is None:
            yield rgb, None
            continue
        truth_path = clip.truths[index]
        truth = read_truth(truth_path)
        if truth.shape != rgb.shape[:2]:
            raise UserError(
                f"Ground truth {truth_path} is {truth.shape[1]}x{truth.shape[0]} but frame "
                f"{image_path} is {rgb.shape[1]}x{rgb.shape[0]}; ground truth must match "
                "its frame's size."
            )
        yield rgb, truth


def evaluate_clip(clip: Clip, alpha_fn: AlphaFn) -> dict[str, Any]:
    """Run ``alpha_fn`` on every frame of ``clip`` and score it; timing covers the call only."""
    scores = ClipMetrics(clip.name)
    for rgb, truth in iter_frames(clip):
        start = time.perf_counter()
        alpha = alpha_fn(rgb)
        ms = (time.perf_counter() - start) * 1e3
        alpha = np.asarray(alpha)
        if alpha.shape[:2] != rgb.shape[:2] or alpha.ndim not in (2, 3):
            raise ValueError(
                f"alpha_fn returned shape {alpha.shape} for a frame of shape {rgb.shape}; "
                "it must return a full-resolution (H, W) alpha"
            )
        scores.add(alpha, truth, rgb, ms=ms)
    if scores.frames == 0:
        raise UserError(f"Clip {clip.path} holds no frames that could be decoded.")
    return {
        **scores.summary(),
        "path": str(clip.path),
        "ground_truth": clip.has_truth,
        "per_frame": scores.per_frame,
    }


def evaluate_clips(
    paths: Iterable[Path | str],
    alpha_fn_factory: Callable[[], AlphaFn],
    json_path: Path | str | None = None,
    about: dict[str, Any] | None = None,
    model_name: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """Score every clip, each with a fresh alpha function, and the frame-weighted overall row.

    Returns ``{"clips": [summary, ...], "overall": summary}``; a summary holds the means of
    :data:`livematte.metrics.METRICS` (NaN where not measurable), ``frames``, ``counts`` and,
    for clips, ``path``, ``ground_truth`` and ``per_frame``. All clips are checked before the
    first frame is processed, so a typo fails at once. ``json_path`` receives the same data,
    with NaN written as null. ``about`` adds top-level keys (e.g. the provider that ran).
    ``model_name``, asked after each clip, names the model that ran on it (a per-shot model
    chooses as it goes); ``models`` then lists those names once each.
    """
    clips = [discover_clip(p) for p in paths]
    if not clips:
        raise UserError(f"No clip given; name at least one ({LAYOUT_HINT}).")
    summaries = []
    for clip in clips:
        alpha_fn = alpha_fn_factory()
        summary = evaluate_clip(clip, alpha_fn)
        if model_name is not None:
            summary["model"] = model_name()
        summaries.append(summary)
    results = {**(about or {}), "clips": summaries, "overall": combine_summaries(summaries)}
    chosen = list(dict.fromkeys(s["model"] for s in summaries if s.get("model")))
    if chosen:  # what really ran, in order of first use (a per-shot model may differ by clip)
        results["models"] = chosen
    if json_path is not None:
        write_json(json_path, results)
    return results


def format_table(results: dict[str, Any]) -> str:
    """One row per clip and an overall row, units in the header, '-' where not measured."""
    models = any(row.get("model") for row in results["clips"])  # a model chosen per clip
    header = ["clip", "frames", *(title for _, title, _ in COLUMNS), *(["model"] * models)]

    def cells(row: dict[str, Any]) -> list[str]:
        values = ["-" if math.isnan(row[key]) else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        return [str(row["name"]), str(row["frames"]), *values, *([row.get("model", "")] * models)]

    body = [cells(row) for row in results["clips"]]
    overall = cells(results["overall"])
    widths = [max(len(r[i]) for r in (header, *body, overall)) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(r) for r in body), rule, line(overall)])


def _nanmean_at(values: list[float], indices: list[int]) -> tuple[float, int]:
    picked = [values[i] for i in indices if i < len(values) and not math.isnan(values[i])]
    return (math.fsum(picked) / len(picked), len(picked)) if picked else (math.nan, 0)


def on_frames(summary: dict[str, Any], indices: list[int], name: str) -> dict[str, Any]:
    """A clip's summary restricted to the frames ``indices`` (its ``per_frame`` rows): the
    offline score on the frames a live replay showed."""
    result: dict[str, Any] = {"name": name, "frames": len(indices)}
    counts: dict[str, int] = {}
    for key, values in summary["per_frame"].items():
        result[key], counts[key] = _nanmean_at(values, indices)
    result["counts"] = counts
    return result


def score_shown(clip: Clip, alphas: Path, name: str) -> dict[str, Any]:
    """Score the alphas a live replay wrote (``NNNNNN.png``, the input frame's 0-based index)
    against the frames they were shown with; a frame without a file was dropped. dtSSD and
    flicker compare each frame shown with the one shown before it."""
    scores = ClipMetrics(name)
    shown: list[int] = []
    total = 0
    for index, (rgb, truth) in enumerate(iter_frames(clip)):
        total += 1
        path = alphas / f"{index:06d}.png"
        if path.exists():
            scores.add(read_truth(path), truth, rgb)
            shown.append(index)
    if not shown:
        raise UserError(f"The live replay of {clip.path} showed no frame; the machine is too busy.")
    return {
        **scores.summary(),
        "path": str(clip.path),
        "ground_truth": clip.has_truth,
        "shown": len(shown),
        "dropped": total - len(shown),
        "shown_frames": shown,
    }
