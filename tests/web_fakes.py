"""A control page serving a real LiveControls, for tests that need no live run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livematte.composite import parse_backgrounds
from livematte.controls import LiveControls
from livematte.web.server import ControlServer
from livematte.web.stream import MjpegSink


def page(tmp_path: Path, *specs: str) -> ControlServer:
    """A started server on a free loopback port over ``specs`` (close it when done)."""
    controls = LiveControls(parse_backgrounds(list(specs) or ["#ff0000", "blur"]))
    stats = {
        "fps": 30.0,
        "dropped": 0,
        "dropped_percent": 0.0,
        "p95_ms": 12.0,
        "model": "half",
        "device": "cpu",
        "infer_every": 1,
        "paused": False,
    }
    server = ControlServer(
        controls,
        MjpegSink(),
        lambda: dict(stats),
        port=0,
        uploads=tmp_path / "uploads",
        settings=tmp_path / "live.toml",
    )
    server.start()
    return server


def solid(width: int, height: int, rgb=(0, 128, 255)) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rgb
    return image
