"""All of livematte's settings, in one dataclass tree.

Settings are filled in three layers: the defaults below, then a TOML file (``--config``,
documented examples under ``configs/``), then command-line flags. Every knob lives here so
the CLI, the Python API and the config files can never disagree about a name or a default.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

# model.device: where an ONNX model runs (matting/runtimes.py knows each one's package).
DEVICES = ("auto", "cpu", "cuda", "tensorrt", "openvino", "directml", "coreml")
# model.precision: auto = as the model was exported (matting/providers.py: check_precision).
PRECISIONS = ("auto", "fp32", "fp16")
# model.quality: auto = best on a GPU/NPU, fast on a CPU (matting/quality.py).
QUALITIES = ("auto", "fast", "best")
# output.preset: x264's presets (other encoders have none).
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip
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


@dataclass
class InputConfig:
    """How an input is read."""

    # A folder of images: "clip" (frames of one video, smoothed across), "pictures" (each
    # matted on its own, sizes kept) or "auto" (a clip when the names are one run of
    # consecutive numbers, every picture has one size and the first ones look like
    # neighbouring frames of one shot; else pictures).
    folder_as: str = "auto"


@dataclass
class ModelConfig:
    """Which network finds the person."""

    # "auto" (the default: selfie for close-ups, pose for wider shots, chosen per shot, or
    # MODNet steered by them at quality best), "selfie" (old name "mediapipe"), "pose",
    # "modnet", "object" (U²-Net-p: products, pets, things; all built in) or a .onnx path.
    name: str = "auto"
    # MediaPipe: "auto" picks landscape (144x256) for wide frames, else general (256x256).
    variant: str = "auto"
    # ONNX: family (rvm, modnet, sinet, mediapipe-selfie, pphumanseg, u2netp) or a TOML
    # description.
    type: str = ""
    spec: str = ""
    # auto, cpu, cuda, tensorrt, openvino, directml or coreml (ONNX models only).
    device: str = "auto"
    # auto (as the model was exported), fp32 or fp16 (TensorRT builds fp16 engines).
    precision: str = "auto"
    threads: int = 0  # 0 = choose for the machine
    downsample_ratio: float = 0.0  # RVM; 0 = choose from the frame size
    # Reuse the last alpha instead of running the model when no 1/64-wide block of the
    # frame changed by more than this (grey, 0..1) since the model last ran; 0 = never.
    skip_still: float = 0.0
    skip_max: int = 2  # at most this many frames in a row reuse it
    # Under name "auto": "fast" (selfie or pose per shot), "best" (the MODNet matte) or
    # "auto" (best where the model runs on a GPU or NPU, fast on a CPU).
    quality: str = "auto"


@dataclass
class TemporalConfig:
    """Alpha smoothing across frames (see temporal.py for how each knob acts)."""

    enabled: bool = True
    # Weight kept from the previous alpha where the image is still and the model unsure.
    strength: float = 0.85
    # Frame difference (grey, 0..1) above which a pixel counts as moving and follows at once.
    motion_threshold: float = 0.04
    # In still, unsure regions, alpha changes smaller than this are noise (hysteresis).
    deadband: float = 0.1
    # Mean frame difference above which a scene cut resets the filter and the model state.
    scene_cut: float = 0.12


@dataclass
class RefineConfig:
    """Bringing the model's low-resolution alpha to the frame's full resolution."""

    enabled: bool = True
    # Guided filter radius, in pixels of the model's output (its unsure band is a few wide).
    radius: float = 3.0
    # Guided filter regularisation (grey variance, grey in [0, 1]): higher = smoother.
    eps: float = 0.001
    # How fast the guided edge gives way to the model's answer as it grows confident.
    confidence_power: float = 0.5
    # Long side of the reduced image the guided filter runs on (0 = full resolution).
    work_size: int = 320
    # Extra softening of the final edge, in pixels (0 = none).
    feather: int = 0


@dataclass
class BackgroundConfig:
    """What goes behind the person."""

    # One or more specs: image or video path, folder of images, "blur", "blur:N",
    # "#RRGGBB", "transparent". Live mode cycles through them with the "b" key.
    specs: list[str] = field(default_factory=lambda: ["blur"])
    blur: float = 25.0  # default blur strength (kernel sigma in pixels at 720p)
    # Fraction of the new background's light spilled onto the person's edge (0 = none);
    # 0.3 chosen by eye on side-by-sides (0.6 reads as a coloured outline). Not applied to
    # the blur, whose light is the old background's own.
    light_wrap: float = 0.3
    # Replace the old background's colour in fractional edge pixels (not needed for blur).
    decontaminate: bool = True


@dataclass
class OutputConfig:
    """How files are encoded."""

    codec: str = ""  # "" = by extension: h264 for .mp4/.mkv, prores for .mov, vp9 for .webm
    crf: int = 20
    preset: str = "veryfast"
    alpha_out: str = ""  # also write the matte: a folder of PNGs or a video file
    # Re-encodes stay in the decoded 4:2:0 (no RGB round trip) where source, background
    # and output allow; false forces the RGB path (see livematte.planar).
    planar: bool = True


@dataclass
class LiveConfig:
    """Camera in, virtual camera out."""

    size: str = ""  # "1280x720"; "" = the camera's default
    fps: float = 0.0  # 0 = the camera's rate
    fourcc: str = ""  # e.g. "MJPG"
    vcam_device: str = ""
    # The model (on its own thread) takes at most every Nth frame; every frame still gets
    # the newest matte carried to it.
    infer_every: int = 1
    # How the newest model matte reaches a newer frame: "flow" (motion-compensated by optical
    # flow, checked against the cheap model) or "reuse" (as it is; for comparison).
    carry: str = "flow"
    preview: bool = False
    stats_json: str = ""
    live: bool = False  # treat a file input like a camera (real time, newest frame wins)
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
    input: InputConfig = field(default_factory=InputConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    quiet: bool = False
    debug: bool = False


# The allowed values of enumerated settings, in one place: the CLI offers them as argparse
# choices and validate() checks config files and Python callers against the same lists.
CHOICES: dict[str, tuple[str, ...]] = {
    "input.folder_as": ("auto", "clip", "pictures"),
    "model.device": DEVICES,
    "model.precision": PRECISIONS,
    "model.quality": QUALITIES,
    "model.variant": ("auto", "general", "landscape"),
    "live.carry": ("flow", "reuse"),
    "output.preset": X264_PRESETS,
}


# Stage settings a built-in model starts from instead of the defaults above, which were
# tuned on people; measured on objects with benchmarks/object_table.py and object_video.py.
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


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults (the model's own, see MODEL_DEFAULTS), then the TOML file at ``path``, then
    ``overrides`` ("section.key": value)."""
    mapping = read_toml(Path(path)) if path else {}
    overrides = overrides or {}
    section = mapping.get("model")
    model = overrides.get("model.name", section.get("name") if isinstance(section, dict) else None)
    config = defaults_for(model) if isinstance(model, str) else Config()
    if path:
        apply_mapping(config, mapping, source=str(path))
    for dotted, value in overrides.items():
        set_value(config, dotted, value, source="the command line")
    validate(config)
    return config


def validate(config: Config, fix: str = "fix the flag or the config file") -> None:
    """Value checks no type can express; one sentence per problem (a :class:`UserError`)
    that ends with ``fix``: what to change (a batch manifest names its line)."""
    for dotted, choices in CHOICES.items():
        value = get_value(config, dotted)
        if value not in choices:
            raise UserError(
                f"Setting {dotted} must be one of {', '.join(choices)}, not {value!r}; {fix}."
            )
    _check_finite(config)
    codec = config.output.codec
    if codec and codec.lower() not in CODEC_NAMES:
        raise UserError(
            f"Setting output.codec must be one of h264, prores, vp9 or ffv1, not {codec!r}; "
            "fix the flag or the config file."
        )
    for ok, message in _range_checks(config) + _quality_checks(config):
        if not ok:
            raise UserError(f"Setting {message}; {fix}.")


def _check_finite(target: Any, prefix: str = "") -> None:
    """Every float setting is a number: inf or nan would overflow or poison the maths."""
    for item in dataclasses.fields(target):
        value = getattr(target, item.name)
        if dataclasses.is_dataclass(value):
            _check_finite(value, f"{prefix}{item.name}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise UserError(
                f"Setting {prefix}{item.name} must be a finite number, not {value}; "
                "fix the flag or the config file."
            )


def _range_checks(config: Config) -> list[tuple[bool, str]]:
    return [
        # The top of the range depends on the codec (H.264 51, VP9 63): the output checks
        # name it once the codec is known.
        (config.output.crf >= 0, f"crf must be 0 or more, not {config.output.crf}"),
        (
            config.live.infer_every >= 1,
            f"infer-every must be 1 or more, not {config.live.infer_every}",
        ),
        (config.refine.radius >= 1, f"refine.radius must be 1 or more, not {config.refine.radius}"),
        (config.refine.eps > 0, f"refine.eps must be above 0, not {config.refine.eps}"),
        (
            0.0 <= config.temporal.strength < 1.0,
            f"temporal.strength must be in [0, 1), not {config.temporal.strength}",
        ),
        (
            config.temporal.motion_threshold > 0,
            f"temporal.motion_threshold must be above 0, not {config.temporal.motion_threshold}",
        ),
        *((blur_problem(value) is None, f"{blur_problem(value)}") for value in _blurs(config)),
        (config.model.threads >= 0, f"threads must be 0 or more, not {config.model.threads}"),
        (config.live.fps >= 0, f"fps must be 0 or more, not {config.live.fps}"),
    ]


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


def _blurs(config: Config) -> list[float]:
    """Every blur strength the settings name: the default and each ``blur:N``."""
    named = (blur_of_spec(spec) for spec in config.background.specs)
    return [config.background.blur, *(value for value in named if value is not None)]


def _quality_checks(config: Config) -> list[tuple[bool, str]]:
    """The temporal, refine and compositing knobs."""
    temporal, refine, background = config.temporal, config.refine, config.background
    return [
        (
            0.0 <= temporal.deadband <= 0.5,
            f"temporal.deadband must be in [0, 0.5], not {temporal.deadband}",
        ),
        (
            0.0 < temporal.scene_cut <= 1.0,
            f"temporal.scene_cut must be in (0, 1], not {temporal.scene_cut}",
        ),
        (
            refine.confidence_power > 0,
            f"refine.confidence_power must be above 0, not {refine.confidence_power}",
        ),
        (
            refine.work_size == 0 or refine.work_size >= 16,
            f"refine.work_size must be 0 (full size) or 16 or more, not {refine.work_size}",
        ),
        (refine.feather >= 0, f"refine.feather must be 0 or more, not {refine.feather}"),
        (
            0.0 <= background.light_wrap <= 1.0,
            f"light_wrap must be in [0, 1], not {background.light_wrap}",
        ),
        (
            0.0 <= config.model.skip_still <= 1.0,
            f"model.skip_still must be in [0, 1], not {config.model.skip_still}",
        ),
        (
            config.model.skip_max >= 0,
            f"model.skip_max must be 0 or more, not {config.model.skip_max}",
        ),
    ]


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
    """Copy a parsed TOML table onto a dataclass, refusing unknown keys and wrong types."""
    known = {f.name: f for f in dataclasses.fields(target)}
    for key, value in mapping.items():
        # repr's escapes keep a key holding a newline (a quoted TOML key) on one line.
        dotted = repr(f"{prefix}{key}")[1:-1]
        if key not in known:
            choices = ", ".join(sorted(known))
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
        else:
            setattr(target, key, coerce(value, _field_type(target, key), dotted, source))


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
    """The annotation of a "section.key" setting (``int``, ``list[str]`` ...)."""
    target, _, key = _parent(Config(), dotted)
    return _field_type(target, key)


def set_value(config: Config, dotted: str, value: Any, source: str) -> None:
    """Set one "section.key" setting, with the same checks as a config file."""
    target, parents, key = _parent(config, dotted)
    mapping: dict[str, Any] = {key: value}
    apply_mapping(target, mapping, source, prefix=".".join(parents) + "." if parents else "")


def _field_type(obj: Any, name: str) -> Any:
    hints = typing.get_type_hints(type(obj))
    return hints[name]


def coerce(value: Any, annotation: Any, dotted: str, source: str) -> Any:
    """Check ``value`` against a field's type, allowing the harmless int→float widening."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List):  # noqa: UP006
        (item_type,) = typing.get_args(annotation)
        items = value if isinstance(value, list) else [value]
        return [coerce(v, item_type, dotted, source) for v in items]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return coerce(value, option, dotted, source)
            except UserError:
                continue
    ok = (
        (annotation is bool and isinstance(value, bool))
        or (annotation is int and isinstance(value, int) and not isinstance(value, bool))
        or (annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (annotation is str and isinstance(value, str))
    )
    if not ok:
        expected = getattr(annotation, "__name__", str(annotation))
        raise UserError(
            f"Setting '{dotted}' in {source} must be {_article(expected)} {expected}, "
            f"not {value!r}."
        )
    return float(value) if annotation is float else value


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
