"""The ``livematte`` command: a thin layer that turns flags into a Config and calls the API.

Errors the user can fix arrive as :class:`UserError` and are printed as one sentence with
exit status 2; ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import signal
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .config import CHOICES, Config, load_config, setting_type
from .errors import UserError, exit_status
from .flag_scope import RunFacts, refuse_flags_that_cannot_act

log = logging.getLogger("livematte")


@dataclass(frozen=True)
class Flag:
    """One flag bound to one config setting; its argparse type comes from the setting's field.

    ``bool`` fields give a store-true switch (``negative`` ones set the setting to False),
    ``list[str]`` fields a repeatable flag, others ``type=`` the field's type; enumerated
    settings take their choices from :data:`livematte.config.CHOICES`.
    """

    names: tuple[str, ...]
    setting: str
    help: str
    negative: bool = False
    metavar: str | None = None
    const: str | None = None  # a switch that sets the setting to this value (--no-control)

    @property
    def dest(self) -> str:
        return self.names[-1].lstrip("-").replace("-", "_")

    def add_to(self, group: Any) -> None:
        annotation = setting_type(self.setting)
        kwargs: dict[str, Any] = {"dest": self.dest, "default": None, "help": self.help}
        if self.const is not None:
            kwargs.update(action="store_const", const=self.const)
        elif annotation is bool:
            kwargs["action"] = "store_true"
        elif typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            kwargs.update(action="append", type=item)
        else:
            kwargs["type"] = annotation
        if self.setting in CHOICES and self.const is None:
            kwargs["choices"] = CHOICES[self.setting]
        if self.metavar:
            kwargs["metavar"] = self.metavar
        group.add_argument(*self.names, **kwargs)

    def value(self, given: Any) -> Any:
        """The setting's value for a flag given on the command line."""
        return False if self.negative else given


# The flags, in groups; each subcommand adds exactly the groups it honours (see _COMMAND_GROUPS).
_GROUPS: dict[str, tuple[str, tuple[Flag, ...]]] = {
    "general": (
        "general",
        (
            Flag(("-q", "--quiet"), "quiet", "no progress bar, no summary, warnings only"),
            Flag(("--debug",), "debug", "show tracebacks and debug messages"),
        ),
    ),
    "input": (
        "input folder",
        (
            Flag(
                ("--folder-as",),
                "input.folder_as",
                "a folder of images is a clip (frames of one video) or pictures (each matted "
                "on its own); default auto: a clip when numbered in sequence and of one size",
            ),
        ),
    ),
    "model": (
        "model",
        (
            Flag(
                ("--model",),
                "model.name",
                "auto (default: chosen per shot), selfie, pose, modnet (the built-in matting "
                "network), object (products, pets, things), or a .onnx file",
            ),
            Flag(
                ("--quality",),
                "model.quality",
                "with --model auto: fast (selfie or pose), best (the MODNet matte) or auto "
                "(default: best on a GPU or NPU, fast on a CPU)",
            ),
            Flag(
                ("--model-type",),
                "model.type",
                "ONNX family: rvm, modnet, sinet, mediapipe-selfie, pphumanseg, u2netp",
            ),
            Flag(("--model-spec",), "model.spec", "TOML file describing an ONNX model"),
            Flag(
                ("--device",),
                "model.device",
                "where an ONNX model runs (default auto: the fastest that loads; the README "
                "lists what each needs)",
            ),
            Flag(
                ("--precision",),
                "model.precision",
                "ONNX model precision: auto (as exported), fp32, or fp16 (TensorRT builds fp16 "
                "engines; other devices need an fp16 export)",
            ),
            Flag(("--threads",), "model.threads", "model threads (0 = auto)"),
            Flag(
                ("--variant",),
                "model.variant",
                "MediaPipe model: general (256x256) or landscape (144x256)",
            ),
            Flag(
                ("--downsample-ratio",),
                "model.downsample_ratio",
                "RVM's downsample ratio (default: from the frame size)",
            ),
        ),
    ),
    "quality": (
        "matte quality",
        (
            Flag(
                ("--no-temporal",), "temporal.enabled", "no smoothing across frames", negative=True
            ),
            Flag(
                ("--no-refine",),
                "refine.enabled",
                "plain bilinear upsampling of the model's alpha",
                negative=True,
            ),
        ),
    ),
    "background": (
        "background",
        (
            Flag(
                ("-b", "--background"),
                "background.specs",
                "image, video, folder of images, blur, blur:N, #RRGGBB or transparent "
                "(live runs: repeat to give several, 'b' cycles); default blur",
                metavar="SPEC",
            ),
            Flag(("--blur",), "background.blur", "default blur strength (sigma at 720p, 2 to 200)"),
        ),
    ),
    "matte": (
        "matte output",
        (
            Flag(
                ("--alpha-out",),
                "output.alpha_out",
                "also write the matte: a folder (00000.png ...) or a video file",
            ),
        ),
    ),
    "encoding": (
        "file output",
        (
            Flag(("--codec",), "output.codec", "h264, prores, vp9 or ffv1"),
            Flag(("--crf",), "output.crf", "encoder quality (lower is better)"),
            Flag(("--preset",), "output.preset", "x264 preset (default veryfast)"),
        ),
    ),
    "planar": (
        "video input",
        (
            Flag(
                ("--no-planar",),
                "output.planar",
                "convert video frames to RGB and back instead of blending the decoded 4:2:0",
                negative=True,
            ),
        ),
    ),
    "live": (
        "live (camera, --live, -o vcam or -o preview)",
        (
            Flag(("--live",), "live.live", "play a file input in real time like a camera"),
            Flag(("--size",), "live.size", "camera size, e.g. 1280x720"),
            Flag(("--fps",), "live.fps", "camera frame rate (also the virtual camera's)"),
            Flag(("--fourcc",), "live.fourcc", "camera pixel format, e.g. MJPG"),
            Flag(("--vcam-device",), "live.vcam_device", "virtual camera device, /dev/videoN"),
            Flag(
                ("--infer-every",),
                "live.infer_every",
                "run the model every Nth frame (default 1)",
            ),
            Flag(("--preview",), "live.preview", "also show a preview window"),
            Flag(
                ("--stats-json",),
                "live.stats_json",
                "write the run's figures as JSON (file runs too)",
            ),
            Flag(
                ("--privacy-image",),
                "live.privacy_image",
                "picture shown while privacy ('p') is on (default: freeze)",
            ),
        ),
    ),
    "control": (
        "control page and on-demand camera (live)",
        (
            Flag(
                ("--control",),
                "live.control",
                "control page address (default: 127.0.0.1:8765 for cameras, off for --live "
                "files; 0 = any free port)",
                metavar="[HOST:]PORT",
            ),
            Flag(("--no-control",), "live.control", "no control page", const="off"),
            Flag(
                ("--control-allow-remote",),
                "live.control_allow_remote",
                "let --control listen on an address other machines can reach",
            ),
            Flag(
                ("--no-saved-settings",),
                "live.saved_settings",
                "neither restore nor save the control page's choices "
                "($XDG_CONFIG_HOME/livematte/live.toml) in this run",
                negative=True,
            ),
            Flag(
                ("--on-demand",),
                "live.on_demand",
                "Linux: open the webcam only while an app uses the virtual camera",
            ),
        ),
    ),
}

_COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "run": (
        "general",
        "input",
        "model",
        "quality",
        "background",
        "matte",
        "encoding",
        "planar",
        "live",
        "control",
    ),
    "demo": ("general", "model", "quality", "matte", "encoding"),
    "eval": ("general", "model", "quality"),
    "bench": ("general", "model", "quality", "background", "matte", "encoding", "planar"),
    "batch": ("general", "model", "quality", "background", "encoding", "planar"),
}

# Flag destination → its Flag (and so its config setting). Only flags the user actually
# gave are applied, so a config file's values survive unless overridden on the command line.
_FLAG_SETTINGS: dict[str, Flag] = {
    flag.dest: flag for _, flags in _GROUPS.values() for flag in flags
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livematte",
        description="Replace the background of live webcam video and recorded clips.",
    )
    parser.add_argument("--version", action="version", version=f"livematte {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="process a clip, an image, a folder or a camera")
    run.add_argument(
        "input", help="video file, image, folder of images, or camera (0, /dev/video2)"
    )
    run.add_argument(
        "-o",
        "--output",
        default=None,
        help="video file (.mp4 .mkv .mov .webm), image, folder (PNG per frame), vcam, "
        "preview or null (default: vcam for cameras)",
    )

    demo = commands.add_parser(
        "demo", help="run the pipeline on a built-in clip (no camera, no background choice)"
    )

    evaluate = commands.add_parser("eval", help="measure matte quality on clips")
    evaluate.add_argument(
        "clips", nargs="+", help="clip folders (images/ + masks/ or alphas/) or videos"
    )
    evaluate.add_argument(
        "--json", dest="json_path", default=None, help="also write results as JSON"
    )
    evaluate.add_argument(
        "--live",
        dest="eval_live",
        action="store_true",
        help="also play each clip at its own rate through the live driver and score the "
        "frames shown, beside the offline score",
    )

    commands.add_parser(
        "doctor", help="check what live use needs here (virtual camera, cameras, runtimes)"
    )

    bench = commands.add_parser("bench", help="time every stage of the file pipeline")
    bench.add_argument("input", help="a video file")
    bench.add_argument("--frames", type=int, default=0, help="stop after N frames (0 = all)")
    bench.add_argument("--json", dest="json_path", default=None, help="write the figures as JSON")
    bench.add_argument("--plot", default=None, help="write a bar chart of stage times (PNG)")
    bench.add_argument("-o", "--output", default="null", help="encode to this file (default: null)")

    for name, sub in (("run", run), ("demo", demo), ("eval", evaluate), ("bench", bench)):
        _add_groups(sub, name)
    _add_batch(commands)
    return parser


def _add_groups(parser: argparse.ArgumentParser, command: str) -> None:
    """The flag groups ``command`` honours (see _COMMAND_GROUPS)."""
    for key in _COMMAND_GROUPS[command]:
        title, flags = _GROUPS[key]
        group = parser.add_argument_group(title)
        if key == "general":
            group.add_argument("--config", default=None, help="TOML config file (configs/)")
        for flag in flags:
            flag.add_to(group)


# --- batch: many clips, on this machine or a Ray cluster (see livematte.run.batch) ---------


def _add_batch(commands: Any) -> None:
    batch = commands.add_parser(
        "batch",
        help="re-encode many clips and pictures (files, folders, a manifest), locally or on Ray",
    )
    batch.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="video files, pictures (each written as a PNG), folders of them",
    )
    batch.add_argument(
        "-o", "--output", dest="outdir", required=True, metavar="OUTDIR", help="output folder"
    )
    _add_groups(batch, "batch")
    group = batch.add_argument_group("batch")
    group.add_argument(
        "--jobs", type=int, default=None, help="local processes, not with --ray (default: cores/2)"
    )
    group.add_argument(
        "--ray",
        nargs="?",
        const=True,
        default=False,
        metavar="ADDRESS",
        help="run on Ray: a local Ray, RAY_ADDRESS, or the cluster at ADDRESS (HOST:6379)",
    )
    group.add_argument(
        "--clip-cpus", type=float, default=None, help="CPUs each clip takes on Ray (default 2)"
    )
    group.add_argument("--manifest", default=None, help="CSV or JSONL: per-clip settings")
    group.add_argument("--report", default=None, help="write one JSON entry per input")
    group.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    group.add_argument("--ext", default=None, choices=["mp4", "mkv", "mov", "webm"])


def _cmd_batch(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from .run.batch import check_batch_arguments, process_batch

    inputs, ray = list(args.inputs), args.ray
    if isinstance(ray, str) and Path(ray).exists():  # `--ray clips/`: an input, not an address
        inputs.insert(0, ray)
        ray = True
    check_batch_arguments(args.jobs, ray, args.clip_cpus)
    from .io.codecs import check_codec_fits
    from .run.manifest import default_extension

    clip = Path(args.outdir) / f"clip.{args.ext or default_extension(config)}"
    facts = RunFacts(output=str(clip), video_input=True)
    _refuse_idle_flags(args, config, facts)
    check_codec_fits("batch outputs such as", clip, config.output)
    if not inputs and not args.manifest:
        raise UserError("No inputs given; name video files, pictures or folders, or a --manifest.")
    if args.config and args.report:
        from .io.open import check_distinct_outputs

        read = (f"the config file (--config {args.config})", args.config)
        check_distinct_outputs([], {"--report": args.report}, [read])
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
    )
    if report.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in run: the clean stop is done
    return report.exit_code


def config_from_args(args: argparse.Namespace) -> Config:
    """Defaults, then --config, then the flags that were given (validated)."""
    overrides: dict[str, Any] = {}
    for dest, flag in _FLAG_SETTINGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides[flag.setting] = flag.value(value)
    return load_config(getattr(args, "config", None), overrides)


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from .io.open import is_camera_spec

    output = args.output
    camera = is_camera_spec(args.input)
    if output is None:
        if not camera and not config.live.live:
            raise UserError(
                "No output given; add -o OUTPUT (a video file, a folder, vcam, preview or null)."
            )
        output = "vcam"
    live = camera or config.live.live or output in ("vcam", "preview")
    facts = RunFacts(
        live=live,
        camera=camera,
        output=output,
        video_input=_is_video(args.input),
        folder_input=not camera and os.path.isdir(args.input),
    )
    _refuse_idle_flags(args, config, facts)
    _check_outputs(
        args, [args.input], output, config, live=live, **{"--stats-json": config.live.stats_json}
    )
    if live:
        from .run.live import run_live_command

        given = frozenset(k for k in ("background", "blur") if getattr(args, k) is not None)
        return run_live_command(args.input, output, config, flags_given=given)
    from .run.offline import process_video

    report = process_video(args.input, output, config=config, show_progress=not config.quiet)
    if report.interrupted:
        # The clean stop is done and the file kept: a late second Ctrl-C must not turn the
        # exit into a death by signal.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.live.stats_json:
        from .io.json_file import write_json

        write_json(config.live.stats_json, report.to_dict())
    if not config.quiet:
        _print_summary(report)
    return exit_status(report.stopped_by) if report.interrupted else 0


def _is_video(spec: str) -> bool:
    from pathlib import Path

    from .io.images import IMAGE_EXTENSIONS
    from .io.open import is_camera_spec

    path = Path(spec)
    return not (is_camera_spec(spec) or path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS)


def _check_outputs(
    args: argparse.Namespace,
    inputs: list[str],
    output: str,
    config: Config,
    live: bool = False,
    **side_files: str | None,
) -> None:
    """Every output of the run (side files by flag) checked before any work starts: none
    is a file the run reads (the input, a background, the model, the --config file...)."""
    from .io.output_checks import check_run_outputs

    check_run_outputs(
        inputs,
        output,
        config,
        side_files=side_files,
        live=live,
        config_file=("--config", getattr(args, "config", None)),
    )


def _refuse_idle_flags(args: argparse.Namespace, config: Config, run: RunFacts) -> None:
    """Refuse the typed flags that would have nothing to act on in this run."""
    given = {
        dest: flag.names[-1]
        for dest, flag in _FLAG_SETTINGS.items()
        if getattr(args, dest, None) is not None
    }
    refuse_flags_that_cannot_act(given, config, run)


def _print_summary(report: Any) -> None:
    for line in report.summary_lines():
        print(f"livematte: {line}", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from .demo import DEMO_VIDEO, main_demo

    _refuse_idle_flags(args, config, RunFacts(output=DEMO_VIDEO))
    _check_outputs(args, [], DEMO_VIDEO, config)
    return main_demo(config)


def _cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from .eval_command import main_eval

    _refuse_idle_flags(args, config, RunFacts())
    _check_outputs(args, args.clips, "", config, **{"--json": args.json_path})
    return main_eval(args.clips, config, args.json_path, live=args.eval_live)


def _cmd_bench(args: argparse.Namespace, config: Config) -> int:
    from .bench import main_bench

    _refuse_idle_flags(args, config, RunFacts(output=args.output, video_input=True))
    _check_outputs(
        args, [args.input], args.output, config, **{"--json": args.json_path, "--plot": args.plot}
    )
    return main_bench(
        args.input,
        config,
        frames=args.frames,
        json_path=args.json_path,
        plot_path=args.plot,
        output=args.output,
    )


def _cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from .doctor import main_doctor

    return main_doctor()


_COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "doctor": _cmd_doctor,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "eval": _cmd_eval,
    "bench": _cmd_bench,
    "batch": _cmd_batch,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if not args.command:
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    _setup_logging(debug, bool(getattr(args, "quiet", False)))
    try:
        config = config_from_args(args)
        return _COMMANDS[args.command](args, config)
    except UserError as exc:
        if debug:
            log.exception("details")
        print(f"livematte: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("livematte: interrupted.", file=sys.stderr)
        return 130


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, reporting an unknown flag with its subcommand's usage and the closest flag."""
    args, unknown = parser.parse_known_args(argv)
    if not unknown:
        return args
    subs = _subparsers(parser).choices
    sub = subs.get(args.command or "", parser)
    message = f"unrecognized arguments: {' '.join(unknown)}"
    for word in (w.split("=", 1)[0] for w in unknown if w.startswith("-")):
        if any(word in _options(other) for other in subs.values()):
            message += f"; {word} has nothing to act on in '{args.command}', so it is not offered"
            break
        close = difflib.get_close_matches(word, _options(sub), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]}?"
            break
    sub.error(message)  # exits with status 2


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for action in parser._actions for o in action.option_strings if o.startswith("--")]


def _subparsers(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _setup_logging(debug: bool, quiet: bool) -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's native logging
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("livematte: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _version() -> str:
    from . import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
