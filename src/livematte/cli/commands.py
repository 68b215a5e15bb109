"""What each subcommand does: map its arguments to the API's call and print what it says."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from ..config import Config
from ..errors import UserError, exit_status
from .flags import request_of


def _cmd_batch(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from ..run.batch import process_batch

    inputs, ray = list(args.inputs), args.ray
    if isinstance(ray, str) and Path(ray).exists():  # `--ray clips/`: an input, not an address
        inputs.insert(0, ray)
        ray = True
    if not inputs and not args.manifest:
        raise UserError("No inputs given; name video files, pictures or folders, or a --manifest.")
    report = process_batch(
        inputs,
        args.outdir,
        config=config,
        recursive=args.recursive,
        ext=args.ext,
        manifest=args.manifest,
        jobs=args.jobs,
        ray=ray,
        clip_cpus=args.clip_cpus,
        report=args.report,
        show_progress=True,
        request=request_of(args),
    )
    if report.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in run: the clean stop is done
    return report.exit_code


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from ..io.open import is_camera_spec

    output = args.output
    camera = is_camera_spec(args.input)
    if output is None:
        if not camera and not config.live.live:
            raise UserError(
                "No output given; add -o OUTPUT (a video file, a folder, vcam, preview or null)."
            )
        output = "vcam"
    if camera or config.live.live or output in ("vcam", "preview"):
        from ..run.live import run_live_command

        return run_live_command(args.input, output, config, request_of(args))
    from ..run.offline import process_video

    report = process_video(
        args.input, output, config=config, show_progress=not config.quiet, request=request_of(args)
    )
    if report.interrupted:
        # The clean stop is done and the file kept: a late second Ctrl-C must not turn the
        # exit into a death by signal.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not config.quiet:
        for line in report.summary_lines():
            print(f"livematte: {line}", file=sys.stderr)
    return exit_status(report.stopped_by) if report.interrupted else 0


def _cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from ..demo import main_demo

    return main_demo(config, request_of(args))


def _cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from ..eval_command import main_eval

    return main_eval(
        args.clips, config, args.json_path, live=args.eval_live, request=request_of(args)
    )


def _cmd_bench(args: argparse.Namespace, config: Config) -> int:
    from ..bench import main_bench

    return main_bench(
        args.input,
        config,
        frames=args.frames,
        json_path=args.json_path,
        plot_path=args.plot,
        output=args.output,
        request=request_of(args),
    )


def _cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from ..doctor import main_doctor

    return main_doctor()


COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "doctor": _cmd_doctor,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "eval": _cmd_eval,
    "bench": _cmd_bench,
    "batch": _cmd_batch,
}
