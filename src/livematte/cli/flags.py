"""The command line's flags: each one a setting of the one Config tree.

A flag's type and choices come from its setting (see :class:`Flag`); each subcommand adds
exactly the groups it honours (``COMMAND_GROUPS``). Only flags the user typed become
settings, over the config file's, and the run is told which were typed, so a flag it has
no use for is refused by the run itself, in the flag's own name.
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import dataclass
from typing import Any

from ..config import CHOICES, Config, load_config, setting_type
from ..run.request import Request, command_line


@dataclass(frozen=True)
class Flag:
    """One flag bound to one config setting; its argparse type comes from the setting's field.

    ``bool`` fields give a store-true switch (``negative`` ones set the setting to False),
    ``list[str]`` fields a repeatable flag, others ``type=`` the field's type; enumerated
    settings take their choices from :data:`livematte.config.CHOICES`.
    """

    names: tuple[str, ...]
    setting: str
    help: str
    negative: bool = False
    metavar: str | None = None
    const: str | None = None  # a switch that sets the setting to this value (--no-control)

    @property
    def dest(self) -> str:
        return self.names[-1].lstrip("-").replace("-", "_")

    def add_to(self, group: Any) -> None:
        annotation = setting_type(self.setting)
        kwargs: dict[str, Any] = {"dest": self.dest, "default": None, "help": self.help}
        if self.const is not None:
            kwargs.update(action="store_const", const=self.const)
        elif annotation is bool:
            kwargs["action"] = "store_true"
        elif typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            kwargs.update(action="append", type=item)
        else:
            kwargs["type"] = annotation
        if self.setting in CHOICES and self.const is None:
            kwargs["choices"] = CHOICES[self.setting]
        if self.metavar:
            kwargs["metavar"] = self.metavar
        group.add_argument(*self.names, **kwargs)

    def value(self, given: Any) -> Any:
        """The setting's value for a flag given on the command line."""
        return False if self.negative else given


# The flags, in groups; each subcommand adds exactly the groups it honours (see COMMAND_GROUPS).
GROUPS: dict[str, tuple[str, tuple[Flag, ...]]] = {
    "general": (
        "general",
        (
            Flag(("-q", "--quiet"), "quiet", "no progress bar, no summary, warnings only"),
            Flag(("--debug",), "debug", "show tracebacks and debug messages"),
        ),
    ),
    "input": (
        "input folder",
        (
            Flag(
                ("--folder-as",),
                "input.folder_as",
                "a folder of images is a clip (frames of one video) or pictures (each matted "
                "on its own); default auto: a clip when numbered in sequence and of one size",
            ),
        ),
    ),
    "trim": (
        "trim (a video file)",
        (
            Flag(
                ("--start",),
                "input.start",
                "begin at this time: seconds (12.5) or [HH:]MM:SS; the audio follows",
                metavar="TIME",
            ),
            Flag(("--end",), "input.end", "stop at this time (as --start)", metavar="TIME"),
        ),
    ),
    "model": (
        "model",
        (
            Flag(
                ("--model",),
                "model.name",
                "auto (default: chosen per shot), selfie, pose, modnet (the built-in matting "
                "network), object (products, pets, things), or a .onnx file",
            ),
            Flag(
                ("--quality",),
                "model.quality",
                "with --model auto: fast (selfie or pose), best (the MODNet matte) or auto "
                "(default: best on a GPU or NPU, fast on a CPU)",
            ),
            Flag(
                ("--model-type",),
                "model.type",
                "ONNX family: rvm, modnet, sinet, mediapipe-selfie, pphumanseg, u2netp",
            ),
            Flag(("--model-spec",), "model.spec", "TOML file describing an ONNX model"),
            Flag(
                ("--device",),
                "model.device",
                "where an ONNX model runs (default auto: the fastest that loads; docs/devices.md "
                "lists what each needs)",
            ),
            Flag(
                ("--precision",),
                "model.precision",
                "ONNX model precision: auto (as exported), fp32, or fp16 (TensorRT builds fp16 "
                "engines; other devices need an fp16 export)",
            ),
            Flag(("--threads",), "model.threads", "model threads (0 = auto)"),
            Flag(
                ("--variant",),
                "model.variant",
                "MediaPipe model: general (256x256) or landscape (144x256)",
            ),
            Flag(
                ("--downsample-ratio",),
                "model.downsample_ratio",
                "RVM's downsample ratio (default: from the frame size)",
            ),
        ),
    ),
    "quality": (
        "matte quality",
        (
            Flag(
                ("--no-temporal",), "temporal.enabled", "no smoothing across frames", negative=True
            ),
            Flag(
                ("--no-refine",),
                "refine.enabled",
                "plain bilinear upsampling of the model's alpha",
                negative=True,
            ),
        ),
    ),
    "background": (
        "background",
        (
            Flag(
                ("-b", "--background"),
                "background.specs",
                "image, video, folder of images, blur, blur:N, #RRGGBB or transparent "
                "(live runs: repeat to give several, 'b' cycles); default blur",
                metavar="SPEC",
            ),
            Flag(("--blur",), "background.blur", "default blur strength (sigma at 720p, 2 to 200)"),
        ),
    ),
    "matte": (
        "matte output",
        (
            Flag(
                ("--alpha-out",),
                "output.alpha_out",
                "also write the matte: a folder (00000.png ...) or a video file",
            ),
        ),
    ),
    "encoding": (
        "file output",
        (
            Flag(("--codec",), "output.codec", "h264, prores, vp9 or ffv1"),
            Flag(("--crf",), "output.crf", "encoder quality (lower is better)"),
            Flag(("--preset",), "output.preset", "x264 preset (default veryfast)"),
        ),
    ),
    "planar": (
        "video input",
        (
            Flag(
                ("--no-planar",),
                "output.planar",
                "convert video frames to RGB and back instead of blending the decoded 4:2:0",
                negative=True,
            ),
        ),
    ),
    "live": (
        "live (camera, --live, -o vcam or -o preview)",
        (
            Flag(("--live",), "live.live", "play a file input in real time like a camera"),
            Flag(
                ("--mirror",),
                "live.mirror",
                "flip the camera's picture left to right, as call apps show you",
            ),
            Flag(("--loop",), "live.loop", "with --live: play the file again each time it ends"),
            Flag(("--size",), "live.size", "camera size, e.g. 1280x720"),
            Flag(("--fps",), "live.fps", "camera frame rate (also the virtual camera's)"),
            Flag(("--fourcc",), "live.fourcc", "camera pixel format, e.g. MJPG"),
            Flag(("--vcam-device",), "live.vcam_device", "virtual camera device, /dev/videoN"),
            Flag(
                ("--infer-every",),
                "live.infer_every",
                "run the model every Nth frame (default 1)",
            ),
            Flag(("--preview",), "live.preview", "also show a preview window"),
            Flag(
                ("--stats-json",),
                "live.stats_json",
                "write the run's figures as JSON (file runs too)",
            ),
            Flag(
                ("--privacy-image",),
                "live.privacy_image",
                "picture shown while privacy ('p') is on (default: freeze)",
            ),
        ),
    ),
    "control": (
        "control page and on-demand camera (live)",
        (
            Flag(
                ("--control",),
                "live.control",
                "control page address (default: 127.0.0.1:8765 for cameras, off for --live "
                "files; 0 = any free port)",
                metavar="[HOST:]PORT",
            ),
            Flag(("--no-control",), "live.control", "no control page", const="off"),
            Flag(
                ("--control-allow-remote",),
                "live.control_allow_remote",
                "let --control listen on an address other machines can reach",
            ),
            Flag(
                ("--no-saved-settings",),
                "live.saved_settings",
                "neither restore nor save the control page's choices "
                "($XDG_CONFIG_HOME/livematte/live.toml) in this run",
                negative=True,
            ),
            Flag(
                ("--on-demand",),
                "live.on_demand",
                "Linux: open the webcam only while an app uses the virtual camera",
            ),
        ),
    ),
}

COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "run": (
        "general",
        "input",
        "trim",
        "model",
        "quality",
        "background",
        "matte",
        "encoding",
        "planar",
        "live",
        "control",
    ),
    "demo": ("general", "model", "quality", "matte", "encoding"),
    "eval": ("general", "model", "quality"),
    "bench": ("general", "model", "quality", "background", "matte", "encoding", "planar"),
    "batch": ("general", "model", "quality", "background", "encoding", "planar"),
}

# Flag destination → its Flag (and so its config setting). Only flags the user actually
# gave are applied, so a config file's values survive unless overridden on the command line.
FLAG_SETTINGS: dict[str, Flag] = {flag.dest: flag for _, flags in GROUPS.values() for flag in flags}


def config_from_args(args: argparse.Namespace) -> Config:
    """Defaults, then --config, then the flags that were given; the run validates it."""
    overrides: dict[str, Any] = {}
    for dest, flag in FLAG_SETTINGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides[flag.setting] = flag.value(value)
    return load_config(getattr(args, "config", None), overrides, check=False)


def request_of(args: argparse.Namespace) -> Request:
    """The flags typed (destination → the flag's name), so the run refuses in their words."""
    typed = {
        dest: flag.names[-1]
        for dest, flag in FLAG_SETTINGS.items()
        if getattr(args, dest, None) is not None
    }
    return command_line(typed, getattr(args, "config", None))
