"""``livematte eval``: score the real pipeline (model, temporal, refine) on clips.

The evaluator (evaluate.py) knows clips and metrics; this module only builds the alpha
function from the user's settings, so the figures describe exactly what ``livematte run``
would produce with the same flags.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from .config import Config
from .evaluate import AlphaFn, evaluate_clips, format_table
from .matting import Matter, create_matter
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
    request: Request = API,
) -> int:
    """Evaluate ``clips`` with the pipeline ``config`` describes and print the table."""
    check_request(request, config, RunFacts(), clips, "", side_files={"--json": json_path})
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
