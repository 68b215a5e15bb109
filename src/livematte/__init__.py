"""livematte: replace the background of live webcam video and recorded clips, in real time.

The command line is a thin layer over this API::

    import livematte
    report = livematte.process_video("talk.mp4", "talk-beach.mp4", background="beach.jpg")
    print(report.fps)
"""

from __future__ import annotations

from .config import Config, load_config
from .errors import UserError
from .run.batch import BatchReport, process_batch
from .run.offline import process_video
from .run.report import RunReport

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
