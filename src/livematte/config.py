"""All of livematte's settings, in one dataclass tree.

Settings are filled in three layers: the defaults below, then a TOML file (``--config``,
documented examples under ``configs/``), then command-line flags. Every knob lives here so
the CLI, the Python API and the config files can never disagree about a name or a default.
Each field declares its type and range (``Annotated[..., Field(...)]``, ``Literal`` for a
choice); :mod:`livematte.schema` checks values against that one declaration.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from .errors import UserError
from .schema import STRICT, base_type, choices_of, problems

# model.device: where an ONNX model runs (matting/runtimes.py knows each one's package).
Device = Literal["auto", "cpu", "cuda", "tensorrt", "openvino", "directml", "coreml"]
# model.precision: auto = as the model was exported (matting/providers.py: check_precision).
Precision = Literal["auto", "fp32", "fp16"]
# model.quality: auto = best on a GPU/NPU, fast on a CPU (matting/quality.py).
Quality = Literal["auto", "fast", "best"]
# output.preset: x264's presets (other encoders have none).
Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
]  # fmt: skip
DEVICES: tuple[str, ...] = typing.get_args(Device)
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)
QUALITIES: tuple[str, ...] = typing.get_args(Quality)
X264_PRESETS: tuple[str, ...] = typing.get_args(Preset)
# output.codec: the names --codec takes (FFmpeg's encoder names too), by codec family.
CODEC_NAMES = {
    "h264": "h264", "libx264": "h264", "prores": "prores", "prores_ks": "prores",
    "vp9": "vp9", "libvpx-vp9": "vp9", "ffv1": "ffv1",
}  # fmt: skip
# The blur strengths (sigma at 720p) every route takes: --blur, -b blur:N, a config file, the
# API and the control page. Under 2 the room is barely blurred; over 200 it is flat grey.
BLUR_RANGE = (2.0, 200.0)
_BLUR_SPEC = re.compile(r"^blur(?::(\d+(?:\.\d+)?))?$")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def blur_problem(value: float) -> str | None:
    """Why ``value`` is not a blur strength livematte takes; None when it is one."""
    low, high = BLUR_RANGE
    if low <= value <= high:
        return None
    return f"blur must be between {low:g} and {high:g}, not {value:g}"


def blur_of_spec(spec: str) -> float | None:
    """The strength a ``blur:N`` background spec names (None for other specs and ``blur``)."""
    match = _BLUR_SPEC.match(spec.strip().lower())
    return float(match.group(1)) if match and match.group(1) else None


def _blur_specs(specs: list[str]) -> list[str]:
    for spec in specs:
        value = blur_of_spec(spec)
        if value is not None and blur_problem(value):
            low, high = BLUR_RANGE
            raise ValueError(f"must give blur:N a strength between {low:g} and {high:g}")
    return specs


def _codec_name(codec: str) -> str:
    if codec and codec.lower() not in CODEC_NAMES:
        raise ValueError("must be one of h264, prores, vp9 or ffv1")
    return codec


def _work_size(size: int) -> int:
    if size != 0 and size < 16:
        raise ValueError("must be 0 (full size) or 16 or more")
    return size


@dataclass
class InputConfig:
    """How an input is read."""

    __pydantic_config__ = STRICT

    # A folder of images: "clip" (frames of one video, smoothed across), "pictures" (each
    # matted on its own, sizes kept) or "auto" (a clip when the names are one run of
    # consecutive numbers, every picture has one size and the first ones look like
    # neighbouring frames of one shot; else pictures).
    folder_as: Literal["auto", "clip", "pictures"] = "auto"
    # Trim a video file: from this time on, up to that one ("" = its start, its end).
    # Seconds ("12.5") or [HH:]MM:SS[.frac] ("1:02:03"); the audio is trimmed alike.
    start: str = ""
    end: str = ""


@dataclass
class ModelConfig:
    """Which network finds the person."""

    __pydantic_config__ = STRICT

    # "auto" (the default: selfie for close-ups, pose for wider shots, chosen per shot, or
    # MODNet steered by them at quality best), "selfie", "pose",
    # "modnet", "object" (U²-Net-p: products, pets, things; all built in) or a .onnx path.
    name: str = "auto"
    # MediaPipe: "auto" picks landscape (144x256) for wide frames, else general (256x256).
    variant: Literal["auto", "general", "landscape"] = "auto"
    # ONNX: family (rvm, modnet, sinet, mediapipe-selfie, pphumanseg, u2netp) or a TOML
    # description.
    type: str = ""
    spec: str = ""
    # auto, cpu, cuda, tensorrt, openvino, directml or coreml (ONNX models only).
    device: Device = "auto"
    # auto (as the model was exported), fp32 or fp16 (TensorRT builds fp16 engines).
    precision: Precision = "auto"
    threads: Annotated[int, Field(ge=0)] = 0  # 0 = choose for the machine
    downsample_ratio: float = 0.0  # RVM; 0 = choose from the frame size
    # Reuse the last alpha instead of running the model when no 1/64-wide block of the
    # frame changed by more than this (grey, 0..1) since the model last ran; 0 = never.
    skip_still: Annotated[float, Field(ge=0, le=1)] = 0.0
    skip_max: Annotated[int, Field(ge=0)] = 2  # at most this many frames in a row reuse it
    # Under name "auto": "fast" (selfie or pose per shot), "best" (the MODNet matte) or
    # "auto" (best where the model runs on a GPU or NPU, fast on a CPU).
    quality: Quality = "auto"


@dataclass
class TemporalConfig:
    """Alpha smoothing across frames (see temporal.py for how each knob acts)."""

    __pydantic_config__ = STRICT

    enabled: bool = True
    # Weight kept from the previous alpha where the image is still and the model unsure.
    strength: Annotated[float, Field(ge=0, lt=1)] = 0.85
    # Frame difference (grey, 0..1) above which a pixel counts as moving and follows at once.
    motion_threshold: Annotated[float, Field(gt=0)] = 0.04
    # In still, unsure regions, alpha changes smaller than this are noise (hysteresis).
    deadband: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    # Mean frame difference above which a scene cut resets the filter and the model state.
    scene_cut: Annotated[float, Field(gt=0, le=1)] = 0.12


@dataclass
class RefineConfig:
    """Bringing the model's low-resolution alpha to the frame's full resolution."""

    __pydantic_config__ = STRICT

    enabled: bool = True
    # Guided filter radius, in pixels of the model's output (its unsure band is a few wide).
    radius: Annotated[float, Field(ge=1)] = 3.0
    # Guided filter regularisation (grey variance, grey in [0, 1]): higher = smoother.
    eps: Annotated[float, Field(gt=0)] = 0.001
    # How fast the guided edge gives way to the model's answer as it grows confident.
    confidence_power: Annotated[float, Field(gt=0)] = 0.5
    # Long side of the reduced image the guided filter runs on (0 = full resolution).
    work_size: Annotated[int, AfterValidator(_work_size)] = 320
    # Extra softening of the final edge, in pixels (0 = none).
    feather: Annotated[int, Field(ge=0)] = 0


@dataclass
class BackgroundConfig:
    """What goes behind the person."""

    __pydantic_config__ = STRICT

    # One or more specs: image or video path, folder of images, "blur", "blur:N",
    # "#RRGGBB", "transparent". Live mode cycles through them with the "b" key.
    specs: Annotated[list[str], AfterValidator(_blur_specs)] = field(
        default_factory=lambda: ["blur"]
    )
    # The default blur strength (kernel sigma in pixels at 720p).
    blur: Annotated[float, Field(ge=BLUR_RANGE[0], le=BLUR_RANGE[1])] = 25.0
    # Fraction of the new background's light spilled onto the person's edge (0 = none);
    # 0.3 chosen by eye on side-by-sides (0.6 reads as a coloured outline). Not applied to
    # the blur, whose light is the old background's own.
    light_wrap: Annotated[float, Field(ge=0, le=1)] = 0.3
    # Replace the old background's colour in fractional edge pixels (not needed for blur).
    decontaminate: bool = True


@dataclass
class OutputConfig:
    """How files are encoded."""

    __pydantic_config__ = STRICT

    # "" = by extension: h264 for .mp4/.mkv, prores for .mov, vp9 for .webm.
    codec: Annotated[str, AfterValidator(_codec_name)] = ""
    # The top of the range depends on the codec (H.264 51, VP9 63): the output checks
    # name it once the codec is known.
    crf: Annotated[int, Field(ge=0)] = 20
    preset: Preset = "veryfast"
    alpha_out: str = ""  # also write the matte: a folder of PNGs or a video file
    # Re-encodes stay in the decoded 4:2:0 (no RGB round trip) where source, background
    # and output allow; false forces the RGB path (see livematte.planar).
    planar: bool = True


@dataclass
class LiveConfig:
    """Camera in, virtual camera out."""

    __pydantic_config__ = STRICT

    size: str = ""  # "1280x720"; "" = the camera's default
    fps: Annotated[float, Field(ge=0)] = 0.0  # 0 = the camera's rate
    fourcc: str = ""  # e.g. "MJPG"
    vcam_device: str = ""
    # The model (on its own thread) takes at most every Nth frame; every frame still gets
    # the newest matte carried to it.
    infer_every: Annotated[int, Field(ge=1)] = 1
    # No longer acts (the model runs on its own thread at the rate it reaches); kept so
    # config files that set it still load, and a live run says so when it is false.
    auto_skip: bool = True
    # How the newest model matte reaches a newer frame: "flow" (motion-compensated by optical
    # flow, checked against the cheap model) or "reuse" (as it is; for comparison).
    carry: Literal["flow", "reuse"] = "flow"
    preview: bool = False
    stats_json: str = ""
    live: bool = False  # treat a file input like a camera (real time, newest frame wins)
    # Flip the camera's picture left to right, as call apps show the user (cameras only).
    mirror: bool = False
    # Play a file run with --live again from the start each time it ends (an endless camera).
    loop: bool = False
    # Privacy ("p"): show this picture instead of freezing on the last frame ("" = freeze).
    privacy_image: str = ""
    # The control page: "auto" (on for cameras at 127.0.0.1:8765), "off", "PORT" or
    # "HOST:PORT" ("0" = any free port); a host other than loopback needs allow_remote.
    control: str = "auto"
    control_allow_remote: bool = False
    # Restore the page's choices saved by earlier runs ($XDG_CONFIG_HOME/livematte/live.toml)
    # and save this run's; false (--no-saved-settings) neither reads nor writes that file.
    saved_settings: bool = True
    # Linux: open the webcam only while an app has the virtual camera open.
    on_demand: bool = False


@dataclass
class Config:
    __pydantic_config__ = STRICT

    input: InputConfig = field(default_factory=InputConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    quiet: bool = False
    debug: bool = False


def _choices(target: Any = Config, prefix: str = "") -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for name, annotation in typing.get_type_hints(target, include_extras=True).items():
        if dataclasses.is_dataclass(annotation):
            found.update(_choices(annotation, f"{prefix}{name}."))
        elif (choices := choices_of(annotation)) is not None:
            found[f"{prefix}{name}"] = choices
    return found


# The allowed values of enumerated settings ("section.key" → values), read off the Literal
# annotations above: the CLI offers them as argparse choices.
CHOICES: dict[str, tuple[str, ...]] = _choices()


# Stage settings a built-in model starts from instead of the defaults above, which were
# tuned on people; measured on objects with benchmarks/object_table.py (and a product clip,
# docs/models.md).
# They sit beneath the config file and the flags, so a setting the user gives still wins.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    # The refiner snaps the unsure band to the picture's edges; on U²-Net-p's map it raised
    # the MAD on the object set (45.5 against 44.6 off, IoU level) and the flicker on the
    # product clip (0.24 against 0.19). Temporal smoothing helps there (0.25 to 0.19, no
    # lag on the moving product) and retuning it gained under 6%: kept as it is.
    "object": {"refine.enabled": False},
}


def defaults_for(model: str) -> Config:
    """The defaults of a run of ``model``: Config() with the model's own stage settings."""
    config = Config()
    config.model.name = model
    for dotted, value in MODEL_DEFAULTS.get(model, {}).items():
        set_value(config, dotted, value, source=f"the defaults of --model {model}")
    return config


def switch_model(config: Config, model: str) -> None:
    """Set ``config``'s model to ``model``, moving each stage setting still at the old
    model's own default (see MODEL_DEFAULTS) to the new model's; what was set stays."""
    old, new = defaults_for(config.model.name), defaults_for(model)
    keys = set(MODEL_DEFAULTS.get(config.model.name, {})) | set(MODEL_DEFAULTS.get(model, {}))
    for dotted in sorted(keys):
        if get_value(config, dotted) == get_value(old, dotted):
            set_value(config, dotted, get_value(new, dotted), source=f"the defaults of {model}")
    config.model.name = model


def load_config(
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    check: bool = True,
) -> Config:
    """Defaults (the model's own, see MODEL_DEFAULTS), then the TOML file at ``path``, then
    ``overrides`` ("section.key": value). Types are checked as each value lands; ``check``
    False leaves the value checks (:func:`validate`) to the run that will use the settings
    (the command line: each run validates its settings once, where it is opened)."""
    mapping = read_toml(Path(path)) if path else {}
    overrides = overrides or {}
    section = mapping.get("model")
    model = overrides.get("model.name", section.get("name") if isinstance(section, dict) else None)
    config = defaults_for(model) if isinstance(model, str) else Config()
    if path:
        apply_mapping(config, mapping, source=str(path))
    for dotted, value in overrides.items():
        set_value(config, dotted, value, source="the command line")
    if check:
        validate(config)
    return config


def validate(config: Config, fix: str = "fix the flag or the config file") -> None:
    """Check every setting against its declaration; the first problem is one sentence (a
    :class:`UserError`) that ends with ``fix``: what to change (a batch manifest names its
    line)."""
    for dotted, must, value in problems(Config, config)[:1]:
        raise UserError(f"Setting {dotted} {must}, not {_shown(value)}; {fix}.")
    trim_of(config)


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


def parse_time(text: str, name: str = "time") -> float | None:
    """Seconds from "12.5", "2:05" or "1:02:03.5"; None for "" (not given)."""
    text = text.strip()
    if not text:
        return None
    clock = _CLOCK.match(text)
    try:
        if clock:
            hours, minutes, seconds = clock.groups()
            if (hours is not None and int(minutes) >= 60) or float(seconds) >= 60:
                raise ValueError(text)
            value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        else:
            value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UserError(
            f"Setting {name} must be a time in seconds (12.5) or [HH:]MM:SS (1:02:03), not "
            f"{text!r}; fix the flag or the config file."
        )
    return value


def trim_of(config: Config) -> tuple[float, float | None]:
    """(start, end) in seconds of ``input.start`` and ``input.end`` (end None: the clip's)."""
    start = parse_time(config.input.start, "input.start") or 0.0
    end = parse_time(config.input.end, "input.end")
    if end is not None and end <= start:
        raise UserError(
            f"Setting input.end ({config.input.end}) must come after input.start "
            f"({config.input.start or 0}); fix the flag or the config file."
        )
    return start, end


def config_for_call(
    config: Config | None,
    config_file: str | Path | None = None,
    *,
    background: str | Path | list[str | Path] | None = None,
    model: str | None = None,
) -> Config:
    """The settings of one API call (``process_video``, ``process_batch``): the caller's
    Config copied (so what the call sets never carries into the caller's next call), or
    the file's, with the call's own ``background`` and ``model`` on top (a model's own
    stage defaults, MODEL_DEFAULTS, come beneath the file's settings; on a Config the
    caller made, they replace only settings still at the old model's defaults)."""
    if config is None:
        config = load_config(config_file, {"model.name": model} if model is not None else None)
    elif not isinstance(config, Config):
        raise UserError(
            f"config must be a livematte.Config (e.g. livematte.load_config(...)), "
            f"not a {type(config).__name__}; pass config_file= for a TOML file."
        )
    else:
        config = copy.deepcopy(config)
    if background is not None:
        specs = [background] if isinstance(background, str | Path) else background
        config.background.specs = [str(spec) for spec in specs]
    if model is not None:
        switch_model(config, model)
    return config


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"Config file {path} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Config file {path} cannot be read ({exc}); check the file.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"Config file {path} is not valid TOML ({exc}); fix the syntax at that place."
        ) from None


def apply_mapping(target: Any, mapping: dict[str, Any], source: str, prefix: str = "") -> None:
    """Copy a parsed TOML table onto a dataclass, refusing unknown keys and values that do
    not fit the field's declaration (type and range)."""
    hints = typing.get_type_hints(type(target), include_extras=True)
    for key, value in mapping.items():
        # repr's escapes keep a key holding a newline (a quoted TOML key) on one line.
        dotted = repr(f"{prefix}{key}")[1:-1]
        if key not in hints:
            choices = ", ".join(sorted(hints))
            raise UserError(
                f"Unknown setting '{dotted}' in {source}; known settings here are: {choices}."
            )
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise UserError(
                    f"Setting '{dotted}' in {source} must be a table ([{dotted}]), "
                    f"not {type(value).__name__}."
                )
            apply_mapping(current, value, source, prefix=f"{dotted}.")
            continue
        annotation = hints[key]
        if typing.get_origin(base_type(annotation)) is list and not isinstance(value, list):
            value = [value]  # one background given where a list is expected
        for _, must, _ in problems(annotation, value)[:1]:
            raise UserError(f"Setting {dotted} {must}, not {value!r}; {_fix(source)}.")
        setattr(target, key, float(value) if base_type(annotation) is float else value)


def _fix(source: str) -> str:
    return "fix the flag" if source == "the command line" else f"fix {source}"


def _parent(config: Config, dotted: str) -> tuple[Any, list[str], str]:
    """The dataclass holding a "section.key" setting, the section names and the key."""
    *parents, key = dotted.split(".")
    target: Any = config
    for name in parents:
        target = getattr(target, name)
    return target, parents, key


def get_value(config: Config, dotted: str) -> Any:
    target, _, key = _parent(config, dotted)
    return getattr(target, key)


def setting_type(dotted: str) -> Any:
    """The type of a "section.key" setting as a flag takes it (``int``, ``list[str]``;
    ``str`` for a choice)."""
    target, _, key = _parent(Config(), dotted)
    base = base_type(typing.get_type_hints(type(target), include_extras=True)[key])
    return str if typing.get_origin(base) is Literal else base


def set_value(config: Config, dotted: str, value: Any, source: str) -> None:
    """Set one "section.key" setting, with the same checks as a config file."""
    target, parents, key = _parent(config, dotted)
    mapping: dict[str, Any] = {key: value}
    apply_mapping(target, mapping, source, prefix=".".join(parents) + "." if parents else "")
