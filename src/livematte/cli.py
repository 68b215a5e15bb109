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

from .config import Config, load_config
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
    parser.add_argument("--device", default=None, choices=["auto", "cpu", "cuda", "tensorrt"])
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
    where = report.extra.get("output_description", report.output)
    state = "stopped early, kept" if report.interrupted else "wrote"
    print(
        f"livematte: {state} {report.frames} frames to {where} "
        f"at {report.fps:.1f} fps ({report.model} on {report.device}).",
        file=sys.stderr,
    )
    if "alpha_description" in report.extra:
        print(f"livematte: matte written to {report.extra['alpha_description']}.", file=sys.stderr)
    if report.lost_packets:
        print(
            f"livematte: {report.lost_packets} damaged packet(s) of the input were skipped.",
            file=sys.stderr,
        )
    stages = ", ".join(f"{name} {value['median_ms']:.1f}" for name, value in report.stages.items())
    print(f"livematte: median ms per frame: {stages}.", file=sys.stderr)


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


def validate(config: Config) -> None:
    """Value checks no type can express; one sentence per problem."""
    checks = [
        (0 <= config.output.crf <= 63, f"crf must be between 0 and 63, not {config.output.crf}"),
        (
            config.live.infer_every >= 1,
            f"infer-every must be 1 or more, not {config.live.infer_every}",
        ),
        (config.refine.radius >= 1, f"refine.radius must be 1 or more, not {config.refine.radius}"),
        (config.refine.eps > 0, f"refine.eps must be above 0, not {config.refine.eps}"),
        (
            0.0 <= config.temporal.strength < 1.0,
            f"temporal.strength must be in [0, 1), not {config.temporal.strength}",
        ),
        (
            config.temporal.motion_threshold > 0,
            f"temporal.motion_threshold must be above 0, not {config.temporal.motion_threshold}",
        ),
        (config.background.blur > 0, f"blur must be above 0, not {config.background.blur}"),
        *_quality_checks(config),
        (config.model.threads >= 0, f"threads must be 0 or more, not {config.model.threads}"),
        (config.live.fps >= 0, f"fps must be 0 or more, not {config.live.fps}"),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(f"Setting {message}; fix the flag or the config file.")


def _quality_checks(config: Config) -> list[tuple[bool, str]]:
    """The temporal, refine and compositing knobs (added by the Quality engineer)."""
    temporal, refine, background = config.temporal, config.refine, config.background
    return [
        (
            0.0 <= temporal.deadband <= 0.5,
            f"temporal.deadband must be in [0, 0.5], not {temporal.deadband}",
        ),
        (
            0.0 < temporal.scene_cut <= 1.0,
            f"temporal.scene_cut must be in (0, 1], not {temporal.scene_cut}",
        ),
        (
            refine.confidence_power > 0,
            f"refine.confidence_power must be above 0, not {refine.confidence_power}",
        ),
        (
            refine.work_size == 0 or refine.work_size >= 16,
            f"refine.work_size must be 0 (full size) or 16 or more, not {refine.work_size}",
        ),
        (refine.feather >= 0, f"refine.feather must be 0 or more, not {refine.feather}"),
        (
            0.0 <= background.light_wrap <= 1.0,
            f"light_wrap must be in [0, 1], not {background.light_wrap}",
        ),
        (
            0.0 <= config.model.skip_still <= 1.0,
            f"model.skip_still must be in [0, 1], not {config.model.skip_still}",
        ),
        (
            config.model.skip_max >= 0,
            f"model.skip_max must be 0 or more, not {config.model.skip_max}",
        ),
    ]


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
