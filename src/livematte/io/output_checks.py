"""The checks on a run's outputs made before any work starts (no model loaded, no frame read).

Every file the run will write is named here: the picture (-o), the matte (--alpha-out) and
the side files (a JSON report, a plot). None may be the input or another output; each
video file's codec must fit its container; each side file's folder must be writable.
A problem found only after a long run would cost the run, so each is one sentence now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config import Config
from ..errors import UserError
from .codecs import CLI_NAMES, OutputNames, check_codec_fits, is_transparent, is_video_path
from .images import IMAGE_EXTENSIONS
from .open import check_distinct_outputs
from .sinks import check_writable_folder

# Side files whose format follows their extension (what matplotlib writes for a plot).
SIDE_FILE_EXTENSIONS = {"--plot": (".png", ".pdf", ".svg")}


def check_run_outputs(
    inputs: Sequence[str],
    output: str,
    config: Config,
    *,
    side_files: Mapping[str, str | None] | None = None,
    live: bool = False,
    names: OutputNames = CLI_NAMES,
    config_file: tuple[str, str | Path | None] = ("--config", None),
    display: bool = True,
) -> None:
    """Refuse, in one sentence, any output of this run that could not be written as asked.

    ``names`` says what the sentence calls the outputs and encoder settings (the flags of
    the command line, or the arguments of the Python API).
    ``side_files`` maps a flag (--stats-json, --json, --plot) to its path (None = not given).
    A file played live writes its matte too (a folder of PNGs, one per frame sent).
    ``config_file`` is (its flag or argument, its path): read too, so never an output.
    ``display`` False: a preview is drawn by a window toolkit given by the caller (tests).
    """
    alpha_out = config.output.alpha_out
    if alpha_out == "null":
        raise UserError(
            f"{names.matte} null would write the matte nowhere; drop {names.matte}, or name a "
            "folder or a video file."
        )
    if output == alpha_out == "-":
        raise UserError(
            f"{names.picture} - and {names.matte} - would both write to stdout, one over the "
            "other; send one of them to a file."
        )
    sides = {flag: path for flag, path in (side_files or {}).items() if path}
    reads = files_read(config, names, live=live)
    if config_file[1]:
        reads.append((f"the config file ({config_file[0]} {config_file[1]})", str(config_file[1])))
    check_distinct_outputs(inputs, {names.picture: output, names.matte: alpha_out, **sides}, reads)
    transparent = is_transparent(config)
    for flag, target, grey in ((names.picture, output, False), (names.matte, alpha_out, True)):
        if target and is_video_path(target):
            check_codec_fits(
                flag, Path(target), config.output, transparent=transparent, grey=grey, names=names
            )
    for flag, path in sides.items():
        check_side_file(flag, path)
    if display and live and (output == "preview" or config.live.preview):
        from .preview import display_available

        if not display_available():
            which = "-o preview" if output == "preview" else "--preview"
            raise UserError(
                f"{which} needs a display, and there is none here; run livematte from a "
                "desktop session, or drop it (-o vcam or -o null)."
            )


def files_read(
    config: Config, names: OutputNames = CLI_NAMES, *, live: bool = False
) -> list[tuple[str, str]]:
    """The files a run with ``config`` reads besides its input, each with what it is (for
    the sentence): backgrounds (a folder and each picture in it), the privacy picture of
    a live run, an ONNX model and its description."""
    reads: list[tuple[str, str]] = []
    for spec in config.background.specs:
        path = Path(spec.strip())
        if path.is_dir():
            said = f"{names.background} {spec}"
            reads.append((f"the background folder ({said})", spec))
            reads += [
                (f"a picture of the background folder ({said})", str(item))
                for item in sorted(path.iterdir())
                if item.suffix.lower() in IMAGE_EXTENSIONS
            ]
        elif path.is_file():
            reads.append((f"the background ({names.background} {spec})", spec))
    model = config.model
    named = [
        (live, "the privacy picture", names.privacy, config.live.privacy_image),
        (Path(model.name).suffix.lower() == ".onnx", "the model", names.model, model.name),
        (True, "the model description", names.spec, model.spec),
    ]
    reads += [
        (f"{what} ({flag} {path})", path) for used, what, flag, path in named if used and path
    ]
    return reads


def check_side_file(flag: str, path: str) -> None:
    """A side file can be written where it is named, in a format its extension gives."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{flag} {path} is a folder; name a file.")
    extensions = SIDE_FILE_EXTENSIONS.get(flag)
    if extensions is not None and target.suffix.lower() not in extensions:
        raise UserError(
            f"{flag} {path}: livematte writes {', '.join(extensions)} there, not "
            f"'{target.suffix or 'no extension'}'; pick one of those."
        )
    check_writable_folder(target)
