"""What the user typed, turned into a source or sinks: the one place every driver opens its edges.

Inputs: a camera index or device, a video file, an image, a folder of images. Outputs: a
video file, an image, a folder of PNGs, the virtual camera, the preview window or null,
each opened after the check that it never overwrites the input. A new kind of input or
output is one class and one branch here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..config import Config, OutputConfig
from ..errors import UserError
from ..planar import ColourSpace
from .camera import CameraSource, LiveSource, RealTimeFileSource
from .codecs import VIDEO_EXTENSIONS
from .image_files import ImageFileSink, ImageFolderSink
from .images import IMAGE_EXTENSIONS, write_png
from .locks import OutputLocks, claim_outputs
from .pipes import STDIO, read_stdin, stdout_stream
from .sinks import NullSink, Sink, close_sinks
from .sources import ImageFolderSource, ImageSource, NothingInTrim, Source, VideoFileSource
from .video_file import VideoFileSink

log = logging.getLogger("livematte")

# Outputs that are not paths ("-" is stdout).
DEVICE_OUTPUTS = ("null", "vcam", "preview", STDIO)


def is_camera_spec(spec: str) -> bool:
    """A webcam index ("0") or a V4L2 device path ("/dev/video2")."""
    return spec.isdigit() or spec.startswith("/dev/video")


def open_source(
    spec: str,
    *,
    live: bool = False,
    same_size: bool = True,
    folder_as: str = "auto",
    trim: tuple[float, float | None] = (0.0, None),
    **camera_options: object,
) -> Source:
    """Open what the user named: a camera, a video file, an image, a folder of images, or
    "-" (stdin: a picture or a video).

    ``same_size=False`` lets a folder's pictures keep their own sizes (pictures out);
    ``folder_as`` says whether a folder is a clip or a set of pictures (``input.folder_as``);
    ``trim`` is (start, end) in seconds of a video file (``input.start``, ``input.end``).
    """
    if is_camera_spec(spec):
        return CameraSource(spec, **camera_options)  # type: ignore[arg-type]
    source: Source
    if spec == STDIO:
        source = _open_stdin(trim)
        return RealTimeFileSource(source) if live else source
    path = Path(spec)
    if not path.exists():
        raise UserError(f"Input {spec} does not exist; check the path.")
    if path.is_dir():
        source = ImageFolderSource(path, same_size=same_size, folder_as=folder_as)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        source = ImageSource(path)
    else:
        if not os.access(path, os.R_OK):
            raise UserError(f"Input {spec} is not readable; check its permissions.")
        if path.stat().st_size == 0:
            raise UserError(f"Input {spec} is empty (0 bytes); it holds no video.")
        source = VideoFileSource(path, *trim)
    if live:
        return RealTimeFileSource(source)
    return source


def _open_stdin(trim: tuple[float, float | None]) -> Source:
    """What came through stdin: a picture, else a video (its own error named as stdin)."""
    piped = read_stdin()
    if piped.picture:
        return ImageSource(piped.path)
    try:
        return VideoFileSource(piped.path, *trim)
    except NothingInTrim as exc:  # named as the user named it, not as the copy
        raise NothingInTrim(str(exc).replace(str(piped.path), "Input - (stdin)")) from None
    except UserError:
        raise UserError(
            "Input - (stdin) holds neither a picture nor a video FFmpeg can read; pipe in a "
            "complete picture or video file."
        ) from None


def check_distinct_outputs(
    inputs: Sequence[str],
    outputs: Mapping[str, str],
    reads: Sequence[tuple[str, str]] = (),
) -> None:
    """Refuse an output (flag -> path) that is an input or another file the run reads
    (``reads``: what it is, e.g. "the background (-b bg.jpg)", and its path), or that
    another output also names: livematte never overwrites a file it reads, and no output
    of a run overwrites another."""
    seen: list[tuple[str, str]] = []
    for flag, target in outputs.items():
        if not target or target in DEVICE_OUTPUTS:
            continue
        for spec in inputs:
            if spec and not is_camera_spec(spec) and same_path(spec, target):
                raise UserError(
                    f"{_named(flag, target, first=True)} is the input itself; livematte never "
                    "overwrites its input, so choose another name."
                )
        for what, path in reads:
            if path and same_path(path, target):
                raise UserError(
                    f"{_named(flag, target, first=True)} is {what}; livematte never "
                    "overwrites a file it reads, so choose another name."
                )
        for other_flag, other in seen:
            if same_path(other, target):
                raise UserError(
                    f"{_named(flag, target, first=True)} is also {_named(other_flag, other)}; "
                    "each output needs a name of its own, or one would overwrite the other."
                )
        seen.append((flag, target))


def claim_run_outputs(*targets: str) -> OutputLocks:
    """Lock the run's file outputs (see livematte.io.locks): another live run writing one
    is refused now, before any work. Release the locks (a ``with``) when the run ends."""
    finals = [(t, Path(t)) for t in targets if t and t not in DEVICE_OUTPUTS]
    return claim_outputs(finals)


def _named(label: str, target: str, first: bool = False) -> str:
    """ "-o a.mp4" for a flag; "the output a.mp4" for an API argument (capitalised at the
    start of the sentence)."""
    if label.startswith("-"):
        return f"{label} {target}"
    return f"{'The' if first else 'the'} {label} {target}"


def same_path(first: str, second: str) -> bool:
    """The same file or folder: the same path, through ``..``, a hard or a soft link."""
    a, b = Path(first), Path(second)
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def timing_of(source: Source) -> tuple[Fraction, Fraction]:
    """(frame rate, time base) an output of ``source`` is written with: a video's own, a
    camera's capture clock in milliseconds, else the nominal rate."""
    inner = source.inner if isinstance(source, RealTimeFileSource) else source
    if isinstance(inner, VideoFileSource):
        return inner.rate, inner.time_base
    fps = Fraction(source.fps).limit_denominator(1001) if source.fps else Fraction(25)
    if isinstance(inner, CameraSource):
        return fps, Fraction(1, 1000)
    return fps, Fraction(1, round(float(fps)) or 25)


def colour_of(source: Source) -> ColourSpace | None:
    """The colour space a video source's pixels are in (None for pictures and cameras)."""
    inner = source.inner if isinstance(source, RealTimeFileSource) else source
    return inner.colour if isinstance(inner, VideoFileSource) else None


def audio_span_of(source: Source) -> tuple[float, float | None]:
    """The part of the input's audio an output carries (seconds): all, or a trimmed clip's."""
    inner = source.inner if isinstance(source, RealTimeFileSource) else source
    if isinstance(inner, VideoFileSource) and inner.trimmed:
        return inner.offset, inner.end
    return 0.0, None


def audio_of(source: Source) -> Path | None:
    """The file whose audio an output of ``source`` carries, if it has any."""
    inner = source.inner if isinstance(source, RealTimeFileSource) else source
    if isinstance(inner, VideoFileSource) and inner.has_audio:
        return inner.path
    return None


@dataclass
class Outputs:
    """The sinks of one run: those that take the picture and those that take the matte."""

    pictures: list[Sink] = field(default_factory=list)
    mattes: list[Sink] = field(default_factory=list)

    @property
    def all(self) -> list[Sink]:
        return [*self.pictures, *self.mattes]

    def close(self, keep: bool, complete: bool = True) -> None:
        close_sinks(self.all, keep=keep, complete=complete)


def open_file_sink(
    target: str,
    source: Source,
    config: OutputConfig,
    *,
    transparent: bool = False,
    grey: bool = False,
    with_audio: bool = False,
    flag: str = "-o",
) -> Sink:
    """Pick the sink from the output name: null, stdout ("-"), a video file, an image file or
    a folder; ``flag`` is the option that named it, for the messages."""
    if target == "null":
        return NullSink()
    stream = None
    if target == STDIO:
        path = Path(f"stdout{stdout_extension(source, flag)}")
        stream = stdout_stream()
    else:
        path = Path(target)
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        rate, time_base = timing_of(source)
        return VideoFileSink(
            path,
            source.width,
            source.height,
            rate,
            time_base,
            config,
            transparent=transparent,
            grey=grey,
            audio_from=audio_of(source) if with_audio else None,
            audio_span=audio_span_of(source),
            pipe=stream,
        )
    if ext in IMAGE_EXTENSIONS:
        if source.frame_count != 1:
            frames = f"{source.frame_count} frames" if source.frame_count else "many frames"
            raise UserError(
                f"Output {target} is a single image but the input has {frames}; write a "
                f"folder instead ({flag} {path.with_suffix('')}/ gives one PNG per frame) or a "
                "video file."
            )
        if ext in (".jpg", ".jpeg") and transparent:
            raise UserError(f"JPEG ({path.name}) cannot carry transparency; write a .png.")
        return ImageFileSink(path, stream)
    if ext and not path.is_dir():
        null = ", or null" if flag == "-o" else ""
        raise UserError(
            f"Output {target} has an extension livematte does not write ({ext}); use "
            f"{', '.join(sorted(VIDEO_EXTENSIONS))}, .png, a folder name{null}."
        )
    return ImageFolderSink(path)


def stdout_extension(source: Source, flag: str = "-o") -> str:
    """What ``-o -`` writes: a PNG for a picture, Matroska (which a pipe can take) for a
    video or a camera; a folder's many pictures cannot go down one pipe."""
    inner = source.inner if isinstance(source, RealTimeFileSource) else source
    if isinstance(inner, ImageSource):
        return ".png"
    if isinstance(inner, ImageFolderSource):
        raise UserError(
            f"{flag} - writes one picture or one video to stdout, and a folder of pictures "
            f"would need many files; name a folder ({flag} cutouts/) or a video file."
        )
    return ".mkv"


def open_outputs(
    input_spec: str, output: str, source: Source, config: Config, *, transparent: bool
) -> Outputs:
    """The sinks of a file run: the picture, and the matte when ``output.alpha_out`` asks
    (the run has checked them: :func:`livematte.run.request.check_request`)."""
    outputs = Outputs()
    try:
        outputs.pictures.append(
            open_file_sink(output, source, config.output, transparent=transparent, with_audio=True)
        )
        if config.output.alpha_out:
            outputs.mattes.append(
                open_file_sink(
                    config.output.alpha_out, source, config.output, grey=True, flag="--alpha-out"
                )
            )
    except BaseException:
        outputs.close(keep=False)
        raise
    picture = outputs.pictures[0]
    if audio_of(source) is not None and not isinstance(picture, VideoFileSink | NullSink):
        # Said as the run starts, when stopping it to write a video instead costs nothing.
        log.warning(
            "The audio of %s is not in %s (pictures hold no sound); write a video file "
            "(-o out.mp4) to keep it.",
            input_spec,
            output,
        )
    return outputs


def open_live_outputs(
    input_spec: str,
    output: str,
    source: LiveSource,
    config: Config,
    *,
    overlay: Callable[[], list[str]],
    vcam_backend: str | None = None,
    preview_gui: Any = None,
) -> Outputs:
    """The sinks of a live run: the virtual camera, a recording, the preview window.

    A recording is timed by the source (a camera's capture clock, or a file's own
    timestamps when a file is played live) and keeps a played file's audio. The run has
    checked the outputs (:func:`livematte.run.request.check_request`).
    """
    live = config.live
    fps = live.fps or source.fps
    outputs = Outputs()
    try:
        if output == "vcam":
            from .vcam import VirtualCameraSink

            outputs.pictures.append(
                VirtualCameraSink(
                    source.width,
                    source.height,
                    fps,
                    live.vcam_device,
                    vcam_backend,
                    # Paced only when it runs slower than the frames come in.
                    pace=fps < 0.9 * source.fps,
                )
            )
        elif output not in ("null", "preview"):
            recording = open_file_sink(output, source, config.output, with_audio=True)
            recording.stop_finishes = isinstance(source, CameraSource)
            outputs.pictures.append(recording)
        if output == "preview" or live.preview:
            outputs.pictures.append(_open_preview(overlay, preview_gui))
    except BaseException:
        outputs.close(keep=False)
        raise
    return outputs


class FrameIndexFolderSink(ImageFolderSink):
    """A folder of PNGs named by the input frame's 0-based index in decode order
    (``000123.png``), so a file played live leaves a gap where a frame was dropped."""

    def write(self, frame: Any, image: Any) -> None:
        write_png(self._tmp / f"{frame.index:06d}.png", image)
        self._count += 1


def open_live_alpha(target: str) -> Sink:
    """``--alpha-out DIR`` on a file played live: the alpha of every frame sent."""
    path = Path(target)
    if path.suffix and not path.is_dir():
        raise UserError(
            f"--alpha-out {target}: a live run writes the matte as a folder of PNGs named by "
            "frame index; give a folder name (without an extension)."
        )
    return FrameIndexFolderSink(path)


def _open_preview(overlay: Callable[[], list[str]], gui: Any) -> Sink:
    from .preview import PreviewSink, PreviewWindow

    return PreviewSink(PreviewWindow(gui), overlay)
