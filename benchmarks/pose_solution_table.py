"""livematte's fast full-body path against MediaPipe's own Pose solution, on the DAVIS clips.

Both run the same pose models (BlazePose GHUM "full"); the solution runs them as its authors
meant: video mode (``static_image_mode=False``), landmark and segmentation smoothing on,
model_complexity 1. Its ``segmentation_mask`` is scored as it comes (soft: MAD on it, IoU at
0.5). livematte runs through ``livematte eval`` (model, temporal, refine), with ``--model
pose`` and ``--model auto``. Per clip the three run one after the other, so load hits all
alike; say the load average (``uptime``) beside the figures.

mediapipe is not a livematte dependency: run this script in a venv of its own, which only
needs mediapipe, OpenCV and numpy; livematte runs in its own environment
(``--livematte-python``, default the project's ``.venv``) on this checkout's ``src``::

    python3.11 -m venv /tmp/mpbench
    /tmp/mpbench/bin/pip install mediapipe==0.10.21 opencv-python-headless 'numpy<2'
    /tmp/mpbench/bin/python benchmarks/pose_solution_table.py
    /tmp/mpbench/bin/python benchmarks/pose_solution_table.py --frames 30 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "frames_gt"
CLIPS = ("davis2016_hike", "davis2016_parkour", "davis2016_dance-twirl")
SHOWN = (("mad", "MAD", "{:.2f}"), ("iou", "IoU", "{:.4f}"), ("grad", "Grad", "{:.2f}"))
SHOWN += (("dtssd", "dtSSD", "{:.2f}"),)


def load_metrics() -> Any:
    """livematte's metrics module on its own (numpy and OpenCV only), so the solution is
    scored by exactly the code ``livematte eval`` uses, without importing the package."""
    spec = importlib.util.spec_from_file_location("lm_metrics", ROOT / "src/livematte/metrics.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lm_metrics"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


def frames(clip: Path, limit: int | None) -> list[tuple[Path, Path]]:
    images = sorted((clip / "images").iterdir())[:limit]
    return [(image, clip / "masks" / (image.stem + ".png")) for image in images]


def solution_scores(clip: Path, limit: int | None, metrics: Any) -> dict[str, float]:
    """MediaPipe's Pose solution in video mode on every frame of ``clip``, scored."""
    import mediapipe as mp

    scores = metrics.ClipMetrics(clip.name)
    with mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        enable_segmentation=True,
        smooth_segmentation=True,
    ) as pose:
        for image, mask in frames(clip, limit):
            rgb = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
            truth = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
            found = pose.process(rgb).segmentation_mask
            alpha = np.zeros(truth.shape, np.float32) if found is None else found
            scores.add(np.clip(alpha, 0.0, 1.0), truth, rgb)
    return scores.summary()


def livematte_scores(
    clip: Path, model: str, limit: int | None, python: str
) -> tuple[dict[str, float], str]:
    """``livematte eval`` with ``model`` on ``clip`` (its first ``limit`` frames)."""
    with tempfile.TemporaryDirectory() as work:
        target = clip
        if limit is not None:  # a clip folder of links to the first frames
            target = Path(work) / clip.name
            for sub in ("images", "masks"):
                (target / sub).mkdir(parents=True)
            for image, mask in frames(clip, limit):
                (target / "images" / image.name).symlink_to(image)
                (target / "masks" / mask.name).symlink_to(mask)
        out = Path(work) / "eval.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        command = [python, "-m", "livematte", "eval", str(target), "--model", model, "-q"]
        subprocess.run([*command, "--json", str(out)], env=env, check=True, capture_output=True)
        result = json.loads(out.read_text())
    row = result["clips"][0]
    return {k: (math.nan if row[k] is None else row[k]) for k, _, _ in SHOWN}, row.get("model", "")


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    systems = list(next(iter(results.values())))
    header = ["clip", *(f"{s} {t}" for _, t, _ in SHOWN for s in systems)]
    rows = [header]
    for clip, by_system in results.items():
        cells = [clip.removeprefix("davis2016_")]
        for key, _, fmt in SHOWN:
            cells += [fmt.format(by_system[s][key]) for s in systems]
        rows.append(cells)
    mean = ["mean"]
    for key, _, fmt in SHOWN:
        mean += [fmt.format(np.mean([r[s][key] for r in results.values()])) for s in systems]
    rows.append(mean)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for r in rows:
        cells = (c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
        lines.append("  ".join([r[0].ljust(widths[0]), *cells]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=None, help="first N frames of each clip")
    parser.add_argument(
        "--livematte-python",
        default=str(ROOT.parent.parent / "main" / ".venv" / "bin" / "python"),
        help="the Python of an environment with livematte's dependencies",
    )
    parser.add_argument("--models", default="pose,auto", help="livematte models, comma-separated")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        print("mediapipe is absent: run this in its own venv (see the docstring).", file=sys.stderr)
        return 2
    present = [DATA / c for c in CLIPS if (DATA / c / "masks").is_dir()]
    if not present:
        print(f"no DAVIS clips under {DATA} (shared data)", file=sys.stderr)
        return 2
    metrics = load_metrics()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for clip in present:
        by_system = {"solution": solution_scores(clip, args.frames, metrics)}
        for model in args.models.split(","):
            by_system[model], ran = livematte_scores(
                clip, model, args.frames, args.livematte_python
            )
            print(f"{clip.name}: livematte {model} ran as {ran}", file=sys.stderr)
        results[clip.name] = by_system
    print(table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
