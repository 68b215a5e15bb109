"""The ``livematte`` command: a thin layer that turns flags into a Config and calls the API.

Errors the user can fix arrive as :class:`UserError` and are printed as one sentence with
exit status 2; ``--debug`` shows the traceback too. The flags are in :mod:`.flags`, the
parser in :mod:`.parser`, what each subcommand calls in :mod:`.commands`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ..errors import UserError
from .commands import COMMANDS
from .flags import FLAG_SETTINGS, Flag, config_from_args
from .parser import build_parser, parse

__all__ = ["FLAG_SETTINGS", "Flag", "build_parser", "config_from_args", "main"]

log = logging.getLogger("livematte")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    if not args.command:
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    _setup_logging(debug, bool(getattr(args, "quiet", False)))
    try:
        config = config_from_args(args)
        return COMMANDS[args.command](args, config)
    except UserError as exc:
        if debug:
            log.exception("details")
        print(f"livematte: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("livematte: interrupted.", file=sys.stderr)
        return 130


def _setup_logging(debug: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("livematte: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    log.propagate = False
