"""The command's entry point: Ctrl-C is a clean line from its first instruction on.

Importing the pipeline (numpy, OpenCV, PyAV, the model runtimes) takes most of a second,
and a Ctrl-C in that time would otherwise print a KeyboardInterrupt traceback. So the
first thing the command does is answer SIGINT itself: until a run installs its own clean
stop (:class:`~livematte.run.interrupt.StopRequest`, which puts this handler back when
it ends), a Ctrl-C removes any partial output already opened and exits with 130 and one
line. This module imports nothing of livematte's until the handler is in place.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Nothing has been run yet that a clean stop could keep: undo and leave."""
    partials = sys.modules.get("livematte.io.partials")
    if partials is not None:  # outputs may be open (their hidden partial files) already
        partials.run_abort_hooks()
        partials.remove_partials()
    os.write(2, b"\nlivematte: interrupted.\n")
    os._exit(130)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGINT, _interrupted)
    from .cli import main as cli_main

    return cli_main(argv)
