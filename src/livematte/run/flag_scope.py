"""Which flags can act in which kind of run: a flag that cannot act is refused, never ignored.

A flag accepted and then silently ignored costs more trust than a missing feature, so each
rule below names the flags that have nothing to act on in some kind of run and says why in
one sentence. Only flags typed on the command line are checked: a config file is shared by
runs of every kind, and its settings simply wait for a run that uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import UserError
from ..io.codecs import codec_of, is_transparent, is_video_path
from ..io.images import IMAGE_EXTENSIONS
from ..io.open import is_camera_spec
from ..io.pipes import read_stdin


@dataclass(frozen=True)
class RunFacts:
    """What kind of run this is, as far as the flags care."""

    live: bool = False  # a camera, --live, or a vcam/preview output: real time
    camera: bool = False
    output: str = ""  # "" = a command that writes no picture output (eval)
    video_input: bool = False  # the input is a video file (not pictures, not a camera)
    folder_input: bool = False  # the input is a folder of images

    @classmethod
    def of(cls, input_spec: str, output: str, *, live: bool) -> RunFacts:
        """The facts of a run of ``input_spec`` into ``output``, as its driver opens it."""
        camera = is_camera_spec(input_spec)
        path = Path(input_spec)
        folder = not camera and path.is_dir()
        if input_spec == "-":  # stdin: what came through it says
            picture = read_stdin().picture
        else:
            picture = path.suffix.lower() in IMAGE_EXTENSIONS
        video = not (camera or folder or picture)
        if output == "-":  # stdout takes a video as Matroska, a picture as PNG (io.pipes)
            output = f"-.{'mkv' if video or camera else 'png'}"
        return cls(live=live, camera=camera, output=output, video_input=video, folder_input=folder)


def is_onnx_model(name: str) -> bool:
    return Path(name).suffix.lower() == ".onnx"


def _file_run(config: Config, run: RunFacts) -> bool:
    return not run.live


def _no_camera(config: Config, run: RunFacts) -> bool:
    return not run.camera


def _live_file(config: Config, run: RunFacts) -> bool:
    return run.live and not run.camera


def _video_codecs(config: Config, run: RunFacts) -> set[str]:
    """The codecs of the video files this run writes (--codec applies to the matte too)."""
    targets = [(run.output, False)] + ([] if run.live else [(config.output.alpha_out, True)])
    return {
        codec_of(Path(target), config.output, transparent=is_transparent(config), grey=grey)
        for target, grey in targets
        if target and is_video_path(target)
    }


def _no_video(config: Config, run: RunFacts) -> bool:
    return not _video_codecs(config, run)


def _no_crf_codec(config: Config, run: RunFacts) -> bool:
    return not _video_codecs(config, run) & {"h264", "vp9"}


def _no_h264(config: Config, run: RunFacts) -> bool:
    return "h264" not in _video_codecs(config, run)


def _rgb_anyway(config: Config, run: RunFacts) -> bool:
    """The 4:2:0 path needs a video input, an H.264 (or null) output and an opaque
    background; without them the run works in RGB whatever --no-planar says."""
    h264_out = run.output == "null" or "h264" in _video_codecs(config, run)
    return not run.video_input or not h264_out or is_transparent(config)


def _no_control_page(config: Config, run: RunFacts) -> bool:
    """No control page runs: --no-control, or a live run of a file (the page's ``auto``
    is on for cameras only) without an address from --control."""
    from ..web.attach import control_address

    return control_address(config.live.control, run.camera, allow_remote=True) is None


def _not_onnx(config: Config, run: RunFacts) -> bool:
    return not is_onnx_model(config.model.name)


def _not_mediapipe(config: Config, run: RunFacts) -> bool:
    from ..matting import OBJECT

    return is_onnx_model(config.model.name) or config.model.name in (OBJECT, "modnet")


def _not_auto_model(config: Config, run: RunFacts) -> bool:
    return config.model.name != "auto"


def _no_blur_background(config: Config, run: RunFacts) -> bool:
    return not run.live and not any(s.strip().lower() == "blur" for s in config.background.specs)


# (flag destinations, when they cannot act, why): the reason completes "--flag ...".
_RULES: tuple[tuple[tuple[str, ...], Callable[[Config, RunFacts], bool], str], ...] = (
    # One answer with --live and without, so neither sends the user to the other.
    (
        ("size",),
        _no_camera,
        "sets a camera's size, and a file run keeps the file's own size, with --live or "
        "without; drop it, or scale the file first (e.g. ffmpeg -i in.mp4 -vf scale=640:-2 "
        "small.mp4)",
    ),
    (
        ("fourcc",),
        _no_camera,
        "sets a camera's pixel format, and a file run decodes the file as it is, with --live "
        "or without; drop it",
    ),
    (
        ("fps",),
        _file_run,
        "sets a camera's rate and the virtual camera's, and a file run reads the file at its "
        "own rate and writes no virtual camera; drop it, or add --live -o vcam to send the "
        "file to the virtual camera at that rate",
    ),
    (
        ("vcam_device",),
        _file_run,
        "picks the virtual camera of a live run, and a file run writes only -o OUTPUT; drop it",
    ),
    (
        ("infer_every",),
        _file_run,
        "thins the model on a live run, and a file run runs the model on every frame; "
        "drop it, or add --live",
    ),
    (
        ("preview",),
        _file_run,
        "opens the window of a live run, and a file run shows no frames; "
        "drop it, or add --live (or use -o preview)",
    ),
    (
        ("control", "no_control", "control_allow_remote", "no_saved_settings"),
        _file_run,
        "sets up the control page of a live run, and a file run has no page; drop it, or "
        "add --live",
    ),
    (
        ("control_allow_remote", "no_saved_settings"),
        _no_control_page,
        "needs a control page, and this run has none (a file played with --live, or "
        "--no-control); add --control HOST:PORT",
    ),
    (
        ("on_demand",),
        _no_camera,
        "opens the webcam only while an app watches the virtual camera, and this run (a file "
        "run, or a file played with --live) reads no camera; drop it",
    ),
    (
        ("mirror",),
        _no_camera,
        "flips a camera's picture as call apps show it, and this run reads a file, which "
        "plays the way it was recorded (with --live or without); drop it",
    ),
    (
        ("loop",),
        _file_run,
        "plays a file again each time it ends in a live run, and a file run reads it once; "
        "add --live to play it like a camera, or drop it",
    ),
    (
        ("loop",),
        lambda config, run: run.camera,
        "plays a file given with --live again each time it ends, and a camera has no end; drop it",
    ),
    (
        ("privacy_image",),
        _file_run,
        "is shown by the live 'p' key, and a file run reads no keys; drop it",
    ),
    (
        ("alpha_out",),
        lambda config, run: run.camera,
        "writes the matte of a recorded clip (a file run, or a file played with --live), "
        "and a camera run writes none; drop it",
    ),
    (
        ("no_planar",),
        lambda config, run: run.live,
        "switches off the 4:2:0 path of file runs, and a live run always works in RGB; drop it",
    ),
    (
        ("no_planar",),
        _rgb_anyway,
        "switches off the 4:2:0 path of H.264 re-encodes of a video, and this run works in "
        "RGB anyway (a picture input, a .mov, .webm or PNG output, another --codec, or a "
        "transparent background); drop it",
    ),
    (
        ("fps",),
        lambda config, run: _live_file(config, run) and run.output != "vcam",
        "sets a camera's rate and the virtual camera's, and a file played with --live keeps "
        "its own rate and this run writes no virtual camera; drop it, or use -o vcam",
    ),
    (
        ("codec", "crf", "preset"),
        lambda config, run: run.live and _no_video(config, run),
        "sets the video encoder, and this run writes no video file; drop it, or give "
        "-o a video file",
    ),
    (
        ("codec", "crf", "preset"),
        _no_video,
        "sets the video encoder, and this run writes no video file; drop it, or give "
        "-o (or --alpha-out) a video file",
    ),
    (
        ("crf",),
        _no_crf_codec,
        "sets the quality of H.264 and VP9, and this run's video is ProRes or FFV1, which "
        "take no such setting; drop it",
    ),
    (
        ("preset",),
        _no_h264,
        "is an x264 preset, and this run writes no H.264 (VP9, ProRes and FFV1 take none); drop it",
    ),
    (
        ("model_type", "model_spec", "downsample_ratio"),
        _not_onnx,
        "applies to ONNX model files only, and this run's model is built in (give --model a "
        ".onnx file); drop it",
    ),
    (
        ("quality",),
        _not_auto_model,
        "chooses the matte of --model auto (fast: selfie or pose, best: MODNet), and this run "
        "names its model; drop it, or use --model auto",
    ),
    (
        ("variant",),
        _not_mediapipe,
        "chooses between MediaPipe's models, and this run's model is another (a .onnx file, "
        "modnet or object); drop it",
    ),
    (
        ("start", "end"),
        lambda config, run: run.live or not run.video_input,
        "trims a video file's re-encode, and this run plays a camera, a picture, a folder of "
        "pictures or a file in real time (--live), which it cannot trim; drop it",
    ),
    (
        ("folder_as",),
        lambda config, run: not run.folder_input,
        "says how to read a folder of images, and this run's input is no folder; drop it",
    ),
    (
        ("blur",),
        _no_blur_background,
        "sets the strength of a plain 'blur' background, and this file run has none "
        "(blur:N gives its own); drop it",
    ),
)


def refuse_flags_that_cannot_act(given: Mapping[str, str], config: Config, run: RunFacts) -> None:
    """Raise a UserError for the first given flag with nothing to act on in this run.

    ``given`` maps each flag's destination to the option string the user knows it by.
    """
    for dests, cannot_act, reason in _RULES:
        for dest in dests:
            if dest in given and cannot_act(config, run):
                raise UserError(f"{given[dest]} {reason}.")
