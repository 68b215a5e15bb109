"""The ``livematte`` command: a thin layer that turns flags into a Config and calls the API.

Errors the user can fix arrive as :class:`UserError` and are printed as one sentence with
exit status 2; ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .config import DEVICES, PRECISIONS, Config, load_config, validate
from .errors import UserError

log = logging.getLogger("livematte")

# Flag destination → config setting. Only flags the user actually gave are applied, so a
# config file's values survive unless overridden on the command line.
_FLAG_SETTINGS = {
    "background": "background.specs",
    "model": "model.name",
    "model_type": "model.type",
    "model_spec": "model.spec",
    "device": "model.device",
    "precision": "model.precision",
    "threads": "model.threads",
    "variant": "model.variant",
    "downsample_ratio": "model.downsample_ratio",
    "alpha_out": "output.alpha_out",
    "codec": "output.codec",
    "crf": "output.crf",
    "preset": "output.preset",
    "blur": "background.blur",
    "size": "live.size",
    "fps": "live.fps",
    "fourcc": "live.fourcc",
    "vcam_device": "live.vcam_device",
    "infer_every": "live.infer_every",
    "preview": "live.preview",
    "stats_json": "live.stats_json",
    "privacy_image": "live.privacy_image",
    "live": "live.live",
    "quiet": "quiet",
    "debug": "debug",
}
_NEGATIVE_FLAGS = {
    "no_temporal": "temporal.enabled",
    "no_refine": "refine.enabled",
    "no_planar": "output.planar",
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
    _add_common(run)
    _add_live(run)

    demo = commands.add_parser("demo", help="run the pipeline on a built-in clip (no camera)")
    _add_common(demo)

    evaluate = commands.add_parser("eval", help="measure matte quality on clips")
    evaluate.add_argument(
        "clips", nargs="+", help="clip folders (images/ + masks/ or alphas/) or videos"
    )
    evaluate.add_argument(
        "--json", dest="json_path", default=None, help="also write results as JSON"
    )
    _add_common(evaluate)

    bench = commands.add_parser("bench", help="time every stage of the file pipeline")
    bench.add_argument("input", help="a video file")
    bench.add_argument("--frames", type=int, default=0, help="stop after N frames (0 = all)")
    bench.add_argument("--json", dest="json_path", default=None, help="write the figures as JSON")
    bench.add_argument("--plot", default=None, help="write a bar chart of stage times (PNG)")
    bench.add_argument("-o", "--output", default="null", help="encode to this file (default: null)")
    _add_common(bench)
    _add_batch(commands)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-b",
        "--background",
        action="append",
        default=None,
        metavar="SPEC",
        help="image, video, folder of images, blur, blur:N, #RRGGBB or transparent "
        "(repeat to give several; live mode cycles with 'b'); default blur",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="auto (default: selfie or pose per shot), selfie, pose, or a .onnx file",
    )
    parser.add_argument(
        "--model-type",
        default=None,
        help="ONNX family: rvm, modnet, sinet, mediapipe-selfie, pphumanseg",
    )
    parser.add_argument("--model-spec", default=None, help="TOML file describing an ONNX model")
    parser.add_argument(
        "--device",
        default=None,
        choices=DEVICES,
        help="where an ONNX model runs (default auto: the fastest that loads; the README "
        "lists what each needs)",
    )
    parser.add_argument(
        "--precision",
        default=None,
        choices=PRECISIONS,
        help="ONNX model precision: auto (as exported), fp32, or fp16 (TensorRT builds fp16 "
        "engines; other devices need an fp16 export)",
    )
    parser.add_argument("--threads", type=int, default=None, help="model threads (0 = auto)")
    parser.add_argument(
        "--variant",
        default=None,
        choices=["auto", "general", "landscape"],
        help="MediaPipe model: general (256x256) or landscape (144x256)",
    )
    parser.add_argument(
        "--downsample-ratio",
        type=float,
        default=None,
        help="RVM's downsample ratio (default: from the frame size)",
    )
    parser.add_argument("--config", default=None, help="TOML config file (see configs/)")
    parser.add_argument(
        "--alpha-out",
        default=None,
        help="also write the matte: a folder (00000.png ...) or a video file",
    )
    parser.add_argument("--codec", default=None, help="h264, prores, vp9 or ffv1")
    parser.add_argument("--crf", type=int, default=None, help="encoder quality (lower is better)")
    parser.add_argument("--preset", default=None, help="x264 preset (default veryfast)")
    parser.add_argument("--blur", type=float, default=None, help="default blur strength")
    parser.add_argument(
        "--no-temporal", action="store_true", default=None, help="no smoothing across frames"
    )
    parser.add_argument(
        "--no-refine",
        action="store_true",
        default=None,
        help="plain bilinear upsampling of the model's alpha",
    )
    parser.add_argument(
        "--no-planar",
        action="store_true",
        default=None,
        help="convert video frames to RGB and back instead of blending the decoded 4:2:0",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=None, help="no progress bar, no summary"
    )
    parser.add_argument(
        "--debug", action="store_true", default=None, help="show tracebacks and debug messages"
    )


def _add_live(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live (camera or --live)")
    group.add_argument(
        "--live",
        action="store_true",
        default=None,
        help="play a file input in real time like a camera",
    )
    group.add_argument("--size", default=None, help="camera size, e.g. 1280x720")
    group.add_argument("--fps", type=float, default=None, help="camera frame rate")
    group.add_argument("--fourcc", default=None, help="camera pixel format, e.g. MJPG")
    group.add_argument("--vcam-device", default=None, help="virtual camera device, /dev/videoN")
    group.add_argument(
        "--infer-every", type=int, default=None, help="run the model every Nth frame (default 1)"
    )
    group.add_argument(
        "--preview", action="store_true", default=None, help="also show a preview window"
    )
    group.add_argument("--stats-json", default=None, help="write live statistics as JSON")
    group.add_argument(
        "--privacy-image",
        default=None,
        help="picture shown while privacy ('p') is on (default: freeze)",
    )


# --- batch: many clips, on this machine or a Ray cluster (see livematte.run.batch) ---------


def _add_batch(commands: Any) -> None:
    batch = commands.add_parser(
        "batch", help="re-encode many clips (files, folders, a manifest), locally or on Ray"
    )
    batch.add_argument("inputs", nargs="*", metavar="INPUT", help="video files, folders of videos")
    batch.add_argument(
        "-o", "--output", dest="outdir", required=True, metavar="OUTDIR", help="output folder"
    )
    _add_common(batch)
    group = batch.add_argument_group("batch")
    group.add_argument("--jobs", type=int, default=None, help="local processes (default: cores/2)")
    group.add_argument(
        "--ray",
        nargs="?",
        const=True,
        default=False,
        metavar="ADDRESS",
        help="run on Ray: a local Ray, RAY_ADDRESS, or the cluster at ADDRESS (HOST:6379)",
    )
    group.add_argument("--clip-cpus", type=float, default=2.0, help="CPUs each clip takes on Ray")
    group.add_argument("--manifest", default=None, help="CSV or JSONL: per-clip settings")
    group.add_argument("--report", default=None, help="write one JSON entry per input")
    group.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    group.add_argument("--ext", default=None, choices=["mp4", "mkv", "mov", "webm"])


def _cmd_batch(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from .run.batch import process_batch

    inputs, ray = list(args.inputs), args.ray
    if isinstance(ray, str) and Path(ray).exists():  # `--ray clips/`: an input, not an address
        inputs.insert(0, ray)
        ray = True
    if not inputs and not args.manifest:
        raise UserError("No inputs given; name video files or folders, or a --manifest.")
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
    """Defaults, then --config, then the flags that were given."""
    overrides: dict[str, Any] = {}
    for dest, setting in _FLAG_SETTINGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides[setting] = value
    for dest, setting in _NEGATIVE_FLAGS.items():
        if getattr(args, dest, None):
            overrides[setting] = False
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
    if camera or config.live.live or output in ("vcam", "preview"):
        from .run.live import run_live_command

        return run_live_command(args.input, output, config)
    from .run.offline import process_video

    report = process_video(args.input, output, config=config, show_progress=not config.quiet)
    if report.interrupted:
        # The clean stop is done and the file kept: a late second Ctrl-C must not turn the
        # exit into a death by signal.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not config.quiet:
        _print_summary(report)
    return 130 if report.interrupted else 0


def _print_summary(report: Any) -> None:
    for line in report.summary_lines():
        print(f"livematte: {line}", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from .demo import main_demo

    return main_demo(config)


def _cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from .eval_command import main_eval

    return main_eval(args.clips, config, args.json_path)


def _cmd_bench(args: argparse.Namespace, config: Config) -> int:
    from .bench import main_bench

    return main_bench(
        args.input,
        config,
        frames=args.frames,
        json_path=args.json_path,
        plot_path=args.plot,
        output=args.output,
    )


_COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "run": _cmd_run,
    "demo": _cmd_demo,
    "eval": _cmd_eval,
    "bench": _cmd_bench,
    "batch": _cmd_batch,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    _setup_logging(debug, bool(getattr(args, "quiet", False)))
    try:
        config = config_from_args(args)
        validate(config)
        return _COMMANDS[args.command](args, config)
    except UserError as exc:
        if debug:
            log.exception("details")
        print(f"livematte: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("livematte: interrupted.", file=sys.stderr)
        return 130


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
