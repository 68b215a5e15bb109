"""Which clips a batch processes, where each one's output goes, and with which settings.

Inputs are video files, pictures and folders of them (``recursive`` descends); anything
else in a folder (notes, hidden partial outputs) is skipped and counted. Each picture is a
job of its own, matted alone and written as ``<stem>.png`` (sizes kept, RGBA when the
background is transparent): a shop's folder of product photos and its turntable clips go
through one batch. A manifest (CSV with
a header row, or JSON Lines) names clips with settings of their own: ``input``, optional
``output`` and ``background``, and any config key such as ``temporal.strength``; what the
command line set is the default beneath each row. Relative paths in a manifest are read
from the manifest's own folder, a relative ``output`` from the output folder.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from ..composite import parse_backgrounds
from ..config import Config, set_value, setting_type, switch_model, validate
from ..errors import UserError, reason_of
from ..io.codecs import VIDEO_EXTENSIONS
from ..io.images import IMAGE_EXTENSIONS
from ..io.open import check_distinct_outputs
from ..io.output_checks import files_read
from ..io.video_file import choose_video_settings

OUTPUT_EXTENSIONS = ("mp4", "mkv", "mov", "webm")
PICTURE_OUTPUT = "png"  # a picture's output: lossless, and it keeps a transparent background

# Settings that change nothing in an output file: left out of its settings hash.
_NOT_IN_OUTPUT = ("quiet", "debug", "live")


@dataclass
class ClipJob:
    """One clip to process: everything a worker needs, picklable, no open handles."""

    input: Path
    output: Path
    config: Config
    settings: str = ""  # hash of what shapes the output (see settings_hash)
    frames: int = 0  # the container's frame count, for the progress bar (0 = unknown)
    # The input as the user named it (absolute, symlinks kept): what progress and report say.
    name: str = ""

    def __post_init__(self) -> None:
        self.settings = self.settings or settings_hash(self.config, self.output)
        self.name = self.name or str(self.input)


@dataclass
class ClipPlan:
    """The clips to process and the files found in the input folders that are not clips."""

    jobs: list[ClipJob] = field(default_factory=list)
    not_videos: list[Path] = field(default_factory=list)


def settings_hash(config: Config, output: Path) -> str:
    """A short hash of every setting that shapes ``output``: a change means a redo."""
    data = {k: v for k, v in asdict(config).items() if k not in _NOT_IN_OUTPUT}
    data["container"] = output.suffix.lower()
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_transparent(config: Config) -> bool:
    """Whether the clip keeps its alpha instead of a background (the first spec decides)."""
    specs = config.background.specs
    return bool(specs) and specs[0].strip().lower() == "transparent"


def default_extension(config: Config) -> str:
    """mp4, or mov (ProRes 4444 keeps the alpha) when the background is transparent."""
    return "mov" if is_transparent(config) else "mp4"


def check_ext(ext: object) -> None:
    """Refuse an output extension a batch cannot write (``ext=`` or ``--ext``)."""
    if ext is not None and (
        not isinstance(ext, str) or ext.lstrip(".").lower() not in OUTPUT_EXTENSIONS
    ):
        raise UserError(
            f"ext (--ext) {ext!r} is not one of {', '.join(OUTPUT_EXTENSIONS)}; pick one."
        )


def is_picture(path: Path) -> bool:
    """A still image (a job of one frame, written as a picture)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def plan_clips(
    inputs: Iterable[str | Path],
    outdir: Path,
    config: Config,
    *,
    recursive: bool = False,
    ext: str | None = None,
    manifest: str | Path | None = None,
) -> ClipPlan:
    """Every clip of ``inputs`` and ``manifest``, each with its output path and settings
    (checked here, so a wrong value stops the batch before any clip starts)."""
    check_ext(ext)
    paths = [Path(spec) for spec in inputs]
    outdir = Path(outdir)
    check_outdir(paths, outdir)
    plan = ClipPlan()
    found: list[tuple[Path, Path]] = []  # (input, output path relative to outdir, no suffix)
    for spec in paths:
        found.extend(_discover(spec, outdir, recursive, plan.not_videos))
    rows = read_manifest(Path(manifest)) if manifest else []
    by_input = {path.resolve(): relative for path, relative in found}
    names = {path.resolve(): given_name(path) for path, _ in reversed(found)}
    for listed in rows:
        if not listed.input.is_file():
            raise UserError(f"{listed.where}: input {listed.input} does not exist; fix that line.")
        by_input.setdefault(listed.input.resolve(), Path(listed.input.stem))
        names.setdefault(listed.input.resolve(), given_name(listed.input))
    settings = {row.input.resolve(): row for row in rows}
    claimed: dict[Path, Path] = {}
    backgrounds = BackgroundCheck()
    for source, relative in by_input.items():
        clip_config = copy.deepcopy(config)
        row = settings.get(source)
        if row is not None:
            row.apply(clip_config)
            validate(clip_config, fix=f"fix {row.where}")
        backgrounds.check(clip_config, row)
        if is_picture(source):
            suffix = "." + PICTURE_OUTPUT
        else:
            suffix = "." + (ext or default_extension(clip_config)).lstrip(".").lower()
        output = outdir / relative.with_name(relative.name + suffix)
        if row is not None and row.output:
            output = outdir / row.output
        _check_output(output, outdir, source, row)
        _check_not_read(output, clip_config, row)
        _check_alpha(output, clip_config, ext, row)
        key = output.resolve()
        if key in claimed:
            raise UserError(
                f"{claimed[key]} and {source} would both be written to {output}; rename one, "
                "or give one an output of its own in a manifest."
            )
        if key == source:
            raise UserError(f"Output {output} is the input itself; choose another -o folder.")
        claimed[key] = source
        plan.jobs.append(ClipJob(source, output, clip_config, name=names[source]))
    return plan


def given_name(path: Path) -> str:
    """``path`` as the user named it, made absolute without following symlinks (a clip
    linked from a store of hashed names keeps the name the user knows)."""
    return str(path.absolute())


def check_outdir(inputs: list[Path], outdir: Path) -> None:
    """Refuse an output folder that is a file, or that is one of the input folders (its
    outputs would land among the inputs, and be taken for inputs by the next run)."""
    if outdir.exists() and not outdir.is_dir():
        raise UserError(
            f"Output folder {outdir} is an existing file; -o names a folder for the outputs, "
            "so choose a folder name."
        )
    for spec in inputs:
        if spec.is_dir() and spec.resolve() == outdir.resolve():
            raise UserError(
                f"Output folder {outdir} is the input folder {spec}; the outputs would land "
                "among the inputs, so choose another -o folder."
            )
    check_outdir_writable(outdir)


def check_outdir_writable(outdir: Path) -> None:
    """Prove that the outputs can be written before any clip starts: a read-only disk, a
    folder of another user's or one under /proc is one sentence now, not a traceback once
    the first clip is done. The probe leaves nothing behind: a file made and dropped in
    the folder, or, while it does not exist yet, a folder made and removed in the nearest
    folder above it (where the batch will make it)."""
    existing = outdir.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if existing == outdir.absolute():
            with tempfile.TemporaryFile(dir=existing, prefix=".livematte-probe-"):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".livematte-probe-"))
    except OSError as exc:
        what = "written" if existing == outdir.absolute() else f"made in {existing}"
        raise UserError(
            f"Output folder {outdir} cannot be {what} ({reason_of(exc)}); choose another -o folder."
        ) from None


def _check_output(output: Path, outdir: Path, source: Path, row: ManifestRow | None) -> None:
    """An output must be a video file name (a picture's: an image name) inside the output
    folder."""
    where = f"{row.where}: " if row is not None else ""
    if is_picture(source):
        if not is_picture(output):
            raise UserError(
                f"{where}Output {output} for the picture {source} is not an image file name; "
                f"end it with .png (or .jpg for an opaque background)."
            )
    elif output.suffix.lower() not in VIDEO_EXTENSIONS:
        raise UserError(
            f"{where}Output {output} for {source} is not a video file name; end it with one "
            f"of {', '.join('.' + e for e in OUTPUT_EXTENSIONS)}."
        )
    if not output.resolve().is_relative_to(outdir.resolve()):
        raise UserError(
            f"{where}Output {output} lies outside the output folder {outdir}; give a path "
            "inside it."
        )


def _check_not_read(output: Path, config: Config, row: ManifestRow | None) -> None:
    """An output is none of the files its clip reads (a background video in OUTDIR, say)."""
    try:
        check_distinct_outputs([], {"output": str(output)}, files_read(config))
    except UserError as exc:
        if row is None:
            raise
        raise UserError(f"{row.where}: {exc}") from None


def _check_alpha(output: Path, config: Config, ext: str | None, row: ManifestRow | None) -> None:
    """A transparent clip needs a format that keeps the alpha: refused now, not per clip."""
    if not is_transparent(config):
        return
    if is_picture(output):
        if output.suffix.lower() in (".jpg", ".jpeg"):
            where = f"{row.where}: " if row is not None else ""
            raise UserError(
                f"{where}output {output.name} is a JPEG, which cannot carry a transparent "
                "background; write a .png."
            )
        return
    try:
        choose_video_settings(output, True, config.output)
    except UserError:
        if row is not None and row.output:
            cause = f"output {row.output}"
        elif ext is not None:
            cause = f"--ext {ext}"
        else:
            cause = f"output.codec {config.output.codec}"
        where = f"{row.where}: " if row is not None else ""
        raise UserError(
            f"{where}{cause} cannot carry a transparent background; write mov or webm, the "
            "formats that keep the alpha."
        ) from None


class BackgroundCheck:
    """Parses each clip's backgrounds once per distinct list, so a missing or broken
    background stops the batch before any clip starts, naming its manifest line."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, ...]] = set()

    def check(self, config: Config, row: ManifestRow | None) -> None:
        specs = tuple(config.background.specs)
        if specs in self._seen:
            return
        try:
            parse_backgrounds(list(specs), config.background.blur)
        except UserError as exc:
            if row is None:
                raise
            raise UserError(f"{row.where}: {exc}") from None
        self._seen.add(specs)


def _discover(
    path: Path, outdir: Path, recursive: bool, not_videos: list[Path]
) -> list[tuple[Path, Path]]:
    """(clip or picture, output stem relative to the output folder) for a file or a folder."""
    if not path.exists():
        raise UserError(f"Input {path} does not exist; check the path.")
    if path.is_file():
        return [(path, Path(path.stem))]
    found = []
    skip = outdir.resolve()
    walk = path.rglob("*") if recursive else path.iterdir()
    for item in sorted(walk):
        if item.name.startswith(".") or any(p.name.startswith(".") for p in _parents(item, path)):
            continue
        if item.is_dir():
            continue
        if skip == item.resolve().parent or skip in item.resolve().parents:
            continue  # earlier outputs inside an input folder are not new inputs
        if item.suffix.lower() in VIDEO_EXTENSIONS or is_picture(item):
            found.append((item, item.relative_to(path).with_suffix("")))
        else:
            not_videos.append(item)
    return found


def _parents(item: Path, top: Path) -> list[Path]:
    relative = item.relative_to(top)
    return [top / p for p in relative.parents if str(p) != "."]


@dataclass
class ManifestRow:
    """One manifest line: a clip, where it goes, and settings of its own."""

    input: Path
    output: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    where: str = ""

    def apply(self, config: Config) -> None:
        """Set this row's settings on ``config``, each checked like a config file's; a row
        that names another model starts from that model's own stage defaults."""
        model = self.settings.get("model.name")
        if isinstance(model, str) and model != config.model.name:
            switch_model(config, model)
        for key, value in self.settings.items():
            dotted = "background.specs" if key == "background" else key
            _set_checked(config, dotted, value, self.where)


def _set_checked(config: Config, dotted: str, value: Any, where: str) -> None:
    """Set one value; CSV cells are text, so "0.5" is tried as a number before as text."""
    parsed = _parse_cell(value) if isinstance(value, str) else value
    try:
        set_value(config, dotted, parsed, source=where)
    except (UserError, AttributeError) as exc:
        if parsed is not value:
            try:
                set_value(config, dotted, value, source=where)
                return
            except (UserError, AttributeError):
                pass
        if isinstance(exc, AttributeError):
            raise UserError(
                f"Unknown setting '{dotted}' in {where}; use config keys like "
                "temporal.strength or output.crf."
            ) from None
        raise


def _parse_cell(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


# Columns that are not config keys.
_CLIP_COLUMNS = ("input", "output", "background")
# Refused: the matte goes to one named file, which many clips cannot share.
_REFUSED = {"output.alpha_out": "a matte file per clip is not offered by batch"}


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a CSV (header row first) or JSON Lines (``.jsonl``/``.ndjson``) manifest."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"Manifest {path} cannot be read ({exc.strerror}); check the path."
        ) from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        records = _jsonl_records(path, text)
    else:
        reader = csv.DictReader(text.splitlines())
        _check_columns(reader.fieldnames or [], f"{path} line 1")
        records = [
            (f"{path} line {reader.line_num}", {k.strip(): v for k, v in r.items() if k and v})
            for r in reader
        ]
    rows = []
    for where, record in records:
        _check_columns(record, where)
        if not record.get("input"):
            raise UserError(f"{where} has no input; every manifest row names its clip.")
        values = {k: _from_folder(k, v, path.parent) for k, v in record.items()}
        source = Path(str(values.pop("input")))
        output = str(values.pop("output", "") or "")
        rows.append(ManifestRow(path.parent / source, output, values, where))
    return rows


def _check_columns(names: Iterable[str], where: str) -> None:
    """Every column is a clip column or a config key the batch honours."""
    for raw in names:
        name = (raw or "").strip()
        if name in _CLIP_COLUMNS:
            continue
        if name in _REFUSED:
            raise UserError(f"{where}: {name} is refused, since {_REFUSED[name]}; drop it.")
        try:
            known = not is_dataclass(setting_type(name))  # a section is not a setting
        except (AttributeError, KeyError):
            known = False
        if not known:
            raise UserError(
                f"Unknown setting '{name}' in {where}; use input, output, background or "
                "config keys like temporal.strength or output.crf."
            )


def _from_folder(key: str, value: Any, folder: Path) -> Any:
    """Relative paths among a row's settings, read from the manifest's folder as inputs are:
    background files and folders, and ONNX model or model description files."""
    if isinstance(value, list):
        return [_from_folder(key, item, folder) for item in value]
    if not isinstance(value, str) or not value.strip() or Path(value).is_absolute():
        return value
    text = value.strip()
    if key in ("background", "background.specs"):
        lowered = text.lower()
        keyword = lowered in ("blur", "transparent") or lowered.startswith(("blur:", "#"))
        return value if keyword else str(folder / text)
    if key in ("model.name", "model.spec") and Path(text).suffix.lower() in (".onnx", ".toml"):
        return str(folder / text)
    return value


def _jsonl_records(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where} is not valid JSON ({exc.msg}); fix that line.") from None
        if not isinstance(record, dict):
            raise UserError(f"{where} is not a JSON object; write one object per line.")
        records.append((where, record))
    return records
