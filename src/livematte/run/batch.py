"""Re-encode a library of clips: the ``livematte batch`` driver and ``process_batch``.

The driver plans the clips (run/manifest.py), skips those its journal shows as finished
(run/journal.py), hands the rest to a local process pool or to Ray (run/executors.py) and
holds only their futures. Each clip is one unit of work, written complete or not at all
(run/clip.py); a broken clip is reported and the others go on; Ctrl-C stops every running
clip as ``livematte run`` does and the next run resumes where this one stopped.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, config_for_call, validate
from ..errors import UserError
from ..io.codecs import check_codec_fits
from ..io.json_file import write_json
from ..io.locks import OutputLocks, claim_outputs
from ..io.open import check_distinct_outputs
from ..io.output_checks import files_read
from ..io.sources import VideoFileSource
from .clip import (
    ALREADY_DONE,
    DONE,
    FAILED,
    NOT_A_VIDEO,
    STOPPED,
    ClipResult,
    remove_stale_attempts,
)
from .executors import (
    CLIP_CPUS,
    check_ray_reachable,
    default_jobs,
    import_ray,
    ray_address,
    run_local,
    run_ray,
)
from .flag_scope import RunFacts, refuse_flags_that_cannot_act
from .interrupt import StopRequest
from .journal import JOURNAL_NAME, Journal
from .manifest import (
    ClipJob,
    ClipPlan,
    check_ext,
    default_extension,
    given_name,
    is_picture,
    plan_clips,
)
from .progress import Progress
from .request import API, Request


@dataclass
class BatchReport:
    """What a batch did: one result per clip (input order), then the files that were not."""

    results: list[ClipResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    not_videos: int = 0  # files in the input folders that are not clips (also in results)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def frames(self) -> int:
        return sum(r.frames for r in self.results if r.status == DONE)

    @property
    def exit_code(self) -> int:
        """0 all done (now or before), 1 a clip failed, 130 stopped by the user."""
        if self.interrupted:
            return 130
        return 1 if self.count(FAILED) else 0

    def to_list(self) -> list[dict[str, object]]:
        return [r.to_dict() for r in self.results]


def process_batch(
    inputs: str | Path | Iterable[str | Path],
    outdir: str | Path,
    *,
    background: str | Path | list[str | Path] | None = None,
    model: str | None = None,
    config: Config | None = None,
    config_file: str | Path | None = None,
    recursive: bool = False,
    ext: str | None = None,
    manifest: str | Path | None = None,
    jobs: int | None = None,
    ray: bool | str = False,
    clip_cpus: float | None = None,
    report: str | Path | None = None,
    show_progress: bool = False,
    stop: StopRequest | None = None,
    request: Request = API,
) -> BatchReport:
    """Replace the background of every clip and picture in ``inputs`` (a video file, a
    picture or a folder of them, or a list of those).

    >>> report = process_batch(["lectures/"], "out/", background="office.jpg", recursive=True)

    Outputs go to ``outdir/<path under the input folder>/<stem>.<ext>``; each picture is
    matted on its own and written as ``<stem>.png`` at its own size. ``manifest`` (CSV
    or JSONL) gives clips settings of their own over ``config``. Locally the clips run in
    ``jobs`` processes (default: one per two usable cores, ``default_jobs()``). ``ray=True``
    runs them on Ray instead (RAY_ADDRESS or a local Ray), ``ray="HOST:6379"`` joins that
    cluster; each clip is a Ray task of ``clip_cpus`` CPUs (default 2). ``jobs`` is local
    only and ``clip_cpus`` Ray only: each is refused in the other mode. ``report`` writes
    the results as JSON. ``request`` words refusals as the caller knows the settings.
    """
    check_batch_arguments(jobs, ray, clip_cpus, ext)
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    config = config_for_call(config, config_file, background=background, model=model)
    config_file = config_file or request.config_file[1]
    validate(config)
    clip = Path(outdir) / f"clip.{ext or default_extension(config)}"
    refuse_flags_that_cannot_act(
        request.typed, config, RunFacts(output=str(clip), video_input=True)
    )
    check_codec_fits("batch outputs such as", clip, config.output)
    if config.output.alpha_out:
        raise UserError(
            "--alpha-out names one file, so a batch cannot use it; run the clips that need a "
            "matte with `livematte run`."
        )
    if ray is not False:
        import_ray()
        check_ray_reachable(ray_address(ray))
    outdir = Path(outdir).resolve()  # workers elsewhere have another working directory
    plan = plan_clips(inputs, outdir, config, recursive=recursive, ext=ext, manifest=manifest)
    if not plan.jobs:
        raise UserError(
            "No video clips or pictures among the inputs; give video files, pictures or "
            "folders of them."
        )
    if report:
        check_report_path(
            Path(report), plan, outdir, manifest, (request.config_file[0], config_file)
        )
    with claim_outdir(outdir):
        started = time.perf_counter()
        journal = Journal(outdir)
        results: dict[int, ClipResult] = {}
        todo: list[ClipJob] = []
        for index, job in enumerate(plan.jobs):
            entry = journal.finished(job)
            if entry is None:
                todo.append(job)
            else:
                results[index] = ClipResult(
                    job.name, str(job.output), ALREADY_DONE, int(entry.get("frames", 0))
                )
        quiet = config.quiet
        _note(quiet, None, f"{len(todo)} clip(s) to process, {len(results)} already finished.")
        for job in todo:
            job.frames = _frame_count(job.input)
        bar = BatchProgress(todo, enabled=show_progress and not quiet)
        order = {id(job): plan.jobs.index(job) for job in todo}
        by_output = {str(job.output): job for job in todo}
        batch = BatchReport()
        with stop or StopRequest() as stop_request:
            for result in _execute(todo, jobs, ray, clip_cpus, stop_request, config.debug):
                job = by_output[result.output]
                if result.status == DONE:
                    journal.record(job, result.frames, result.seconds)
                    remove_stale_attempts(job.output)
                results[order[id(job)]] = result
                _note(quiet, bar, _clip_line(result))
                bar.finish(result)
            batch.interrupted = stop_request.requested
        bar.close()
        batch.results = [results[i] for i in sorted(results)]
        batch.results += [
            ClipResult(given_name(p), "", NOT_A_VIDEO, error="neither a video nor a picture")
            for p in plan.not_videos
        ]
        batch.not_videos = len(plan.not_videos)
        batch.seconds = time.perf_counter() - started
        if report:
            write_json(report, batch.to_list())
        _note(quiet, None, summary(batch))
        return batch


def claim_outdir(outdir: Path) -> OutputLocks:
    """One batch at a time in an output folder: a second is refused before any work (each
    clip's own output is locked too, by the process that writes it)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return claim_outputs([(f"the batch output folder {outdir}", outdir / JOURNAL_NAME)])


def check_report_path(
    report: Path,
    plan: ClipPlan,
    outdir: Path,
    manifest: str | Path | None,
    config_file: tuple[str, str | Path | None] = ("config_file", None),
) -> None:
    """Refuse a --report that would overwrite a file of the batch: an input, an output,
    the manifest, the journal or a file a clip reads (checked before any clip starts);
    ``config_file`` is (its flag or argument, its path)."""
    taken = {job.input.resolve() for job in plan.jobs} | {p.resolve() for p in plan.not_videos}
    taken |= {job.output.resolve() for job in plan.jobs} | {(outdir / JOURNAL_NAME).resolve()}
    if manifest:
        taken.add(Path(manifest).resolve())
    if report.resolve() in taken or report.is_dir():
        raise UserError(
            f"--report {report} would overwrite a file of the batch (an input, an output or "
            "the manifest) or is a folder; name a new .json file for the report."
        )
    reads = {read for job in plan.jobs for read in files_read(job.config)}
    flag, path = config_file
    if path:
        reads.add((f"the config file ({flag} {path})", str(path)))
    check_distinct_outputs([], {"--report": str(report)}, sorted(reads))


def check_batch_arguments(jobs: object, ray: object, clip_cpus: object, ext: object = None) -> None:
    """Refuse, before any work, what a batch would fail on or silently not use. Each
    sentence names the argument and its flag, as it serves process_batch and the CLI."""
    if not isinstance(ray, (bool, str)) or ray == "":
        raise UserError(
            f"ray (--ray) must be True, False or a cluster address such as head-node:6379, "
            f"not {ray!r}."
        )
    if jobs is not None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UserError(f"jobs (--jobs) must be a whole number, 1 or more, not {jobs!r}.")
        if ray is not False:
            raise UserError(
                "jobs (--jobs) sets the local processes, which a Ray batch does not use; drop "
                "it, or drop ray (--ray) to run locally."
            )
    if clip_cpus is not None:
        if (
            isinstance(clip_cpus, bool)
            or not isinstance(clip_cpus, (int, float))
            or not math.isfinite(clip_cpus)
            or clip_cpus <= 0
        ):
            raise UserError(
                f"clip_cpus (--clip-cpus) must be a number of CPUs more than 0, not {clip_cpus!r}."
            )
        if ray is False:
            raise UserError(
                "clip_cpus (--clip-cpus) sets each Ray task's CPUs; add ray=True (--ray) "
                "or drop it."
            )
    check_ext(ext)


def _execute(
    todo: list[ClipJob],
    jobs: int | None,
    ray: bool | str,
    cpus: float | None,
    stop: StopRequest,
    debug: bool,
) -> Iterator[ClipResult]:
    if not todo:
        return iter(())
    if ray is not False:
        address = ray if isinstance(ray, str) else None
        return run_ray(todo, address, cpus or CLIP_CPUS, stop, debug)
    return run_local(todo, jobs or default_jobs(), stop)


def _frame_count(path: Path) -> int:
    """The container's frame count, for the bar (0 for a file that will fail anyway)."""
    if is_picture(path):
        return 1
    try:
        source = VideoFileSource(path)
    except Exception:  # noqa: BLE001 - the worker reports why, with the clip's result
        return 0
    try:
        return source.frame_count or 0
    finally:
        source.close()


def _clip_line(result: ClipResult) -> str:
    name = Path(result.input).name
    if result.status == DONE:
        return f"done {name} -> {result.output} ({result.frames} frames, {result.fps:.1f} fps)"
    if result.status == STOPPED:
        return f"stopped {name}; the next run redoes it"
    return f"failed {name}: {result.error}"


def summary(batch: BatchReport) -> str:
    counts = ", ".join(
        f"{batch.count(s)} {s}" for s in (DONE, ALREADY_DONE, FAILED, STOPPED, NOT_A_VIDEO)
    )
    minutes = batch.seconds / 60.0
    rate = batch.count(DONE) / minutes if minutes > 0 else 0.0
    return (
        f"batch: {counts}; {batch.frames} frames in {batch.seconds:.1f} s ({rate:.1f} clips/min)."
    )


def _note(quiet: bool, bar: BatchProgress | None, text: str) -> None:
    if quiet:
        return
    if bar is not None:
        bar.clear()
    print(f"livematte: {text}", file=sys.stderr, flush=True)


class BatchProgress(Progress):
    """One bar over clips and frames; the ETA comes from the frames finished so far."""

    def __init__(self, todo: list[ClipJob], enabled: bool) -> None:
        super().__init__(sum(job.frames for job in todo) or None, enabled)
        self.clips, self.finished = len(todo), 0

    def finish(self, result: ClipResult) -> None:
        self.finished += 1
        self._last_draw = 0.0  # draw now: a clip's end is the only news there is
        self.update(self.count + (result.frames if result.status == DONE else 0))

    def line(self, now: float | None = None) -> str:
        return f"{self.finished}/{self.clips} clips " + super().line(now)

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
