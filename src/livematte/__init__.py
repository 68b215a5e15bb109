"""livematte: replace the background of live webcam video and recorded clips, in real time.

The command line is a thin layer over this API::

    import livematte
    report = livematte.process_video("talk.mp4", "talk-beach.mp4", background="beach.jpg")
    print(report.fps)

The pipeline's names are imported on first use, so importing the package (which the
command does before anything else) is quick and a Ctrl-C then is answered cleanly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, load_config
    from .errors import UserError
    from .run.batch import BatchReport, process_batch
    from .run.offline import process_video
    from .run.report import RunReport

# Each public name and the module it lives in.
_WHERE = {
    "BatchReport": ".run.batch",
    "Config": ".config",
    "RunReport": ".run.report",
    "UserError": ".errors",
    "load_config": ".config",
    "process_batch": ".run.batch",
    "process_video": ".run.offline",
}
__all__ = [
    "BatchReport",
    "Config",
    "RunReport",
    "UserError",
    "load_config",
    "process_batch",
    "process_video",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'livematte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
