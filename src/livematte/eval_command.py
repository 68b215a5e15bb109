"""``livematte eval``: score the real pipeline (model, temporal, refine) on clips.

The evaluator (evaluate.py) knows clips and metrics; this module only builds the alpha
function from the user's settings, so the figures describe exactly what ``livematte run``
would produce with the same flags.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .evaluate import (
    AlphaFn,
    Clip,
    discover_clip,
    evaluate_clip,
    evaluate_clips,
    format_table,
    on_frames,
    score_shown,
)
from .io.json_file import write_json
from .matting import Matter, create_matter
from .metrics import combine_summaries
from .run.flag_scope import RunFacts
from .run.report import quality_of
from .run.request import API, Request, check_request
from .stages import Stages


def pipeline_alpha_fns(
    config: Config, matter: Matter | None = None
) -> tuple[Callable[[], AlphaFn], Callable[[], None]]:
    """A factory of per-clip alpha functions sharing one Stages, and a function to close it.

    Each call of the factory resets the stages, so every clip starts clean (stateful models,
    temporal smoothing) while the model is loaded only once.
    """
    stages = Stages(config, matter=matter)

    def factory() -> AlphaFn:
        stages.reset()

        def alpha_fn(rgb: np.ndarray) -> np.ndarray:
            # Copy: the refiner reuses its output buffer from frame to frame.
            return stages.matte(rgb).alpha.copy()

        return alpha_fn

    return factory, stages.close


def main_eval(
    clips: list[str],
    config: Config,
    json_path: str | None,
    matter: Matter | None = None,
    live: bool = False,
    request: Request = API,
) -> int:
    """Evaluate ``clips`` with the pipeline ``config`` describes and print the table;
    ``live``: each played through the live driver too, scored on the frames shown."""
    check_request(request, config, RunFacts(), clips, "", side_files={"--json": json_path})
    if live:
        return main_eval_live(clips, config, json_path)
    matter = matter if matter is not None else create_matter(config.model)
    factory, close = pipeline_alpha_fns(config, matter)
    # "model" is the setting (e.g. "auto"): a per-shot model's name before any frame is only
    # its starting choice; "models" (from evaluate_clips) lists what ran on the clips.
    about = {**matter.describe(), "model": config.model.name}
    quality = quality_of(matter.name, about.pop("quality"))
    if quality:
        about["quality"] = quality
    try:
        results = evaluate_clips(
            clips, factory, json_path=json_path, about=about, model_name=lambda: matter.name
        )
    finally:
        close()
    print(format_table(results))
    if not config.quiet:
        ran = ", ".join(results.get("models", []))
        print(
            f"livematte: model {config.model.name} ran on {matter.provider} as {ran}"
            + (f" (quality {quality})." if quality else "."),
            file=sys.stderr,
        )
    if json_path and not config.quiet:
        print(f"livematte: results written to {json_path}.", file=sys.stderr)
    return 0


# A folder of frames has no rate of its own: it is played at this one.
FOLDER_FPS = 25.0


def replay_live(clip: Clip, config: Config, alphas: Path) -> dict[str, Any]:
    """Play ``clip`` at its own rate through the live driver, as a camera would deliver it,
    with ``--alpha-out`` into ``alphas``; returns the run's live figures."""
    from .io.camera import RealTimeFileSource
    from .io.sources import ImageFolderSource, VideoFileSource
    from .run.interrupt import StopRequest
    from .run.live import run_live

    live = dataclasses.replace(config.live, live=True, control="off", stats_json="")
    output = dataclasses.replace(config.output, alpha_out=str(alphas))
    replay = dataclasses.replace(config, live=live, output=output, quiet=True)
    inner = (
        VideoFileSource(clip.path)
        if clip.is_video
        else ImageFolderSource(clip.path / "images", fps=FOLDER_FPS)
    )
    report = run_live(
        str(clip.path), "null", replay, StopRequest(), source=RealTimeFileSource(inner)
    )
    return report.to_dict()


def main_eval_live(clips: list[str], config: Config, json_path: str | None) -> int:
    """``eval --live``: per clip, the live replay's score on the frames it showed, the
    offline score on the same frames and on all of them."""
    found = [discover_clip(p) for p in clips]
    factory, close = pipeline_alpha_fns(config)
    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {"model": config.model.name, "clips": []}
    try:
        for clip in found:
            offline = evaluate_clip(clip, factory())
            with tempfile.TemporaryDirectory(prefix="livematte-eval-") as folder:
                figures = replay_live(clip, config, Path(folder) / "alpha")
                shown = score_shown(clip, Path(folder) / "alpha", f"{clip.name} live")
            same = on_frames(offline, shown["shown_frames"], f"{clip.name} offline, same frames")
            offline_row = {**offline, "name": f"{clip.name} offline"}
            rows += [shown, same, offline_row]
            results["clips"].append(
                {
                    "name": clip.name,
                    "live": {k: v for k, v in shown.items() if k != "per_frame"},
                    "offline_same_frames": same,
                    "offline": {k: v for k, v in offline_row.items() if k != "per_frame"},
                    "live_figures": {
                        key: figures.get(key)
                        for key in (
                            "quality",
                            "quality_reason",
                            "model",
                            "model_hz",
                            "matte_age_ms",
                            "output_fps",
                            "frames_in",
                            "frames_out",
                            "frames_dropped",
                            "frames_carried",
                            "frames_cheap",
                            "cpu_ms_per_frame",
                        )
                    },  # fmt: skip
                }
            )
    finally:
        close()
    live_rows = [r for r in rows if r["name"].endswith(" live")]
    results["overall"] = {
        "live": combine_summaries(live_rows, "overall live"),
        "offline_same_frames": combine_summaries(rows[1::3], "overall offline, same frames"),
    }
    print(format_table({"clips": rows, "overall": results["overall"]["live"]}))
    for entry in results["clips"]:
        live_row, figures = entry["live"], entry["live_figures"]
        age = figures["matte_age_ms"] or {}
        print(
            f"{entry['name']}: live showed {live_row['shown']} frames, dropped "
            f"{live_row['dropped']}; quality {figures['quality']} ({figures['quality_reason']}), "
            f"model {figures['model_hz']:.1f} Hz, matte age p50 {age.get('p50', 0):.0f} ms, "
            f"CPU {figures['cpu_ms_per_frame']:.1f} ms a frame"
        )
    if json_path is not None:
        write_json(json_path, results)
    return 0
