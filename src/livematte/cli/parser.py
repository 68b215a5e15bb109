"""The argument parser: the subcommands, their arguments and the flag groups they take,
and an unknown flag reported with its subcommand's usage and the closest flag."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .flags import COMMAND_GROUPS, GROUPS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livematte",
        description="Replace the background of live webcam video and recorded clips.",
    )
    parser.add_argument("--version", action="version", version=f"livematte {__version__}")
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
        add_groups(sub, name)
    _add_batch(commands)
    return parser


def add_groups(parser: argparse.ArgumentParser, command: str) -> None:
    """The flag groups ``command`` honours (see COMMAND_GROUPS)."""
    for key in COMMAND_GROUPS[command]:
        title, flags = GROUPS[key]
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
    add_groups(batch, "batch")
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


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
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
