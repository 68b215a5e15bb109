"""Which codec each video file is written with, and which codecs each container holds.

Kept free of PyAV so the command line can check a codec against the output's extension
(and --crf against the codec) before any work starts; the sink encodes with the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import CODEC_NAMES, Config, OutputConfig
from ..errors import UserError

_ALL = ("h264", "prores", "vp9", "ffv1")
# The codec families each container takes (tried with PyAV's FFmpeg: .mov refuses VP9 and
# FFV1, .mp4 refuses ProRes, .webm holds VP9 only).
CONTAINER_CODECS: dict[str, tuple[str, ...]] = {
    ".mp4": ("h264", "vp9", "ffv1"),
    ".m4v": ("h264", "vp9", "ffv1"),
    ".avi": ("h264", "vp9", "ffv1"),
    ".mkv": _ALL,
    ".mov": ("h264", "prores"),
    ".webm": ("vp9",),
}
VIDEO_EXTENSIONS = frozenset(CONTAINER_CODECS)
# Codecs --crf acts on, with their highest value (x264 clamps above 51).
CRF_MAX = {"h264": 51, "vp9": 63}
CODEC_TITLES = {"h264": "H.264", "prores": "ProRes", "vp9": "VP9", "ffv1": "FFV1"}


@dataclass(frozen=True)
class OutputNames:
    """What a message calls each output and encoder setting: the command line's flags, or
    the ``process_video`` arguments and Config settings of the Python API."""

    picture: str = "-o"
    matte: str = "--alpha-out"
    codec: str = "--codec"
    crf: str = "--crf"
    # The files a run reads besides its input (never to be overwritten by an output).
    background: str = "-b"
    privacy: str = "--privacy-image"
    model: str = "--model"
    spec: str = "--model-spec"
    stats: str = "--stats-json"


CLI_NAMES = OutputNames()
API_NAMES = OutputNames(
    "output",
    "alpha_out",
    "output.codec",
    "output.crf",
    "background",
    "live.privacy_image",
    "model",
    "model.spec",
    "live.stats_json",
)


def is_transparent(config: Config) -> bool:
    """Whether a background asks for alpha in the output (the codec must keep it)."""
    return any(spec.strip().lower() == "transparent" for spec in config.background.specs)


def is_video_path(target: str) -> bool:
    return Path(target).suffix.lower() in VIDEO_EXTENSIONS


def codec_of(
    path: Path, config: OutputConfig, *, transparent: bool = False, grey: bool = False
) -> str:
    """The codec family ("h264", "prores", "vp9", "ffv1") ``path`` is written with.

    --codec applies to every video file of the run (the picture and the matte); without it
    the extension decides, a matte in .mkv being lossless grey FFV1.
    """
    if config.codec:
        family = CODEC_NAMES.get(config.codec.lower())
        if family is None:
            raise UserError(
                f"Unknown output codec '{config.codec}'; use h264, prores, vp9 or ffv1."
            )
        return family
    ext = path.suffix.lower()
    if ext == ".mkv" and (grey or transparent):
        return "ffv1" if grey else "vp9"
    return {".mov": "prores", ".webm": "vp9"}.get(ext, "h264")


def check_codec_fits(
    flag: str,
    path: Path,
    config: OutputConfig,
    names: OutputNames | None = None,  # None: the command line's flags
    *,
    transparent: bool = False,
    grey: bool = False,
) -> str:
    """Refuse a codec the container cannot hold and a --crf the codec does not take;
    return the codec family. ``flag`` names the output (a flag, or an API argument)."""
    names = names or CLI_NAMES
    codec = codec_of(path, config, transparent=transparent, grey=grey)
    ext = path.suffix.lower()
    takes = CONTAINER_CODECS.get(ext, _ALL)
    if codec not in takes:
        raise UserError(
            f"{flag} {path} cannot hold {CODEC_TITLES[codec]} ({names.codec} {config.codec}): "
            f"{ext} files take {', '.join(takes)}, so pick one of those or another extension."
        )
    if transparent:
        refuse_h264_alpha(codec, path, config, names)
    top = CRF_MAX.get(codec)
    if top is not None and not 0 <= config.crf <= top:
        raise UserError(
            f"{names.crf} {config.crf} is out of range for {CODEC_TITLES[codec]} ({flag} {path}), "
            f"which takes 0 to {top}; pick a value in that range."
        )
    return codec


def refuse_h264_alpha(
    codec: str, path: Path, config: OutputConfig, names: OutputNames = CLI_NAMES
) -> None:
    """H.264 keeps no alpha: blame --codec when it chose H.264, else the extension."""
    if codec != "h264":
        return
    fix = (
        f"drop {names.codec} h264 (ProRes 4444 and VP9 keep the alpha)"
        if config.codec
        else "write .mov (ProRes 4444), .webm (VP9 with alpha) or a folder of PNGs"
    )
    raise UserError(f"H.264 ({path.name}) cannot carry transparency; {fix} instead.")
