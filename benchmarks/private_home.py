"""A home of the benchmark's own for the livematte runs it starts.

A live run with the control page reads and writes the user's saved page settings and
uploads, and TensorRT keeps engines in the user's cache: a benchmark must leave the real
ones alone, so its runs get HOME and the XDG folders inside a temporary folder.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def use_private_home() -> str:
    """Point HOME and XDG_CONFIG/DATA/CACHE_HOME of this process (and of every run it
    starts) into a fresh temporary folder, removed at exit; returns that folder."""
    folder = tempfile.mkdtemp(prefix="livematte-bench-home-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["HOME"] = folder
    for name, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share")):
        os.environ[name] = os.path.join(folder, sub)
    os.environ["XDG_CACHE_HOME"] = os.path.join(folder, ".cache")
    return folder
