"""Putting the person in front of a new background: backgrounds, the work-size view, the blend."""

from .backgrounds import (
    Background,
    BlurBackground,
    ColourBackground,
    ImageBackground,
    TransparentBackground,
    VideoBackground,
    parse_background,
    parse_backgrounds,
)
from .compositor import Compositor
from .work import EDGE_WORK_SIZE, WorkView

__all__ = [
    "EDGE_WORK_SIZE",
    "Background",
    "BlurBackground",
    "ColourBackground",
    "Compositor",
    "ImageBackground",
    "TransparentBackground",
    "VideoBackground",
    "WorkView",
    "parse_background",
    "parse_backgrounds",
]
