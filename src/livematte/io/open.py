"""What the user typed, turned into a source or sinks: the one place every driver opens its edges.

Inputs: a camera index or device, a video file, an image, a folder of images. Outputs are
opened here too, after the check that an output never overwrites the input.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError
from .camera import CameraSource, RealTimeFileSource
from .sources import IMAGE_EXTENSIONS, ImageFolderSource, ImageSource, Source, VideoFileSource


def is_camera_spec(spec: str) -> bool:
    """A webcam index ("0") or a V4L2 device path ("/dev/video2")."""
    return spec.isdigit() or spec.startswith("/dev/video")


def open_source(spec: str, *, live: bool = False, **camera_options: object) -> Source:
    """Open what the user named: a camera, a video file, an image or a folder of images."""
    if is_camera_spec(spec):
        return CameraSource(spec, **camera_options)  # type: ignore[arg-type]
    path = Path(spec)
    if not path.exists():
        raise UserError(f"Input {spec} does not exist; check the path.")
    if path.is_dir():
        source: Source = ImageFolderSource(path)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        source = ImageSource(path)
    else:
        if not os.access(path, os.R_OK):
            raise UserError(f"Input {spec} is not readable; check its permissions.")
        if path.stat().st_size == 0:
            raise UserError(f"Input {spec} is empty (0 bytes); it holds no video.")
        source = VideoFileSource(path)
    if live:
        return RealTimeFileSource(source)
    return source


def check_not_overwriting_input(input_spec: str, output_spec: str) -> None:
    """Refuse an output that is the input itself (same path, ``..``, a hard or soft link)."""
    if output_spec in ("null", "vcam", "preview") or is_camera_spec(input_spec):
        return
    source, target = Path(input_spec), Path(output_spec)
    same = source.resolve() == target.resolve()
    if not same and target.exists():
        try:
            same = source.samefile(target)
        except OSError:
            same = False
    if same:
        raise UserError(
            f"Output {output_spec} is the input itself; livematte never overwrites its input, "
            "so choose another output name."
        )
