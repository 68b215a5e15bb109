"""Configuration: defaults, then a TOML file, then flags; bad values are refused clearly."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from livematte import cli, process_video
from livematte.cli import build_parser, config_from_args, main
from livematte.config import CHOICES, Config, load_config, read_toml, setting_type, validate
from livematte.errors import UserError


def test_layers_defaults_then_file_then_flags(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[background]\nspecs = ["#112233"]\nblur = 9\n'
        "[output]\ncrf = 30\n[temporal]\nstrength = 0.5\n"
    )
    args = build_parser().parse_args(
        ["run", "in.mp4", "-o", "o.mp4", "--config", str(toml), "--crf", "18"]
    )
    config = config_from_args(args)
    assert config.background.specs == ["#112233"]  # from the file
    assert config.background.blur == 9.0  # int in TOML widened to the float field
    assert config.output.crf == 18  # the flag wins over the file
    assert config.temporal.strength == 0.5
    assert config.refine.radius == Config().refine.radius  # untouched default


def test_repeated_background_flags_make_a_list() -> None:
    args = build_parser().parse_args(["run", "0", "-b", "a.jpg", "-b", "blur:10"])
    assert config_from_args(args).background.specs == ["a.jpg", "blur:10"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[output\ncrf = 3", "not valid TOML"),
        ("[output]\nquality = 3\n", "Unknown setting 'output.quality'"),
        ("[output]\ncrf = 'high'\n", "output.crf must be an int, not 'high'"),
        ("[refine]\nenabled = 1\n", "refine.enabled must be true or false"),
        ("output = 3\n", "must be a table"),
    ],
    ids=["syntax", "unknown-key", "wrong-type-str", "int-for-bool", "scalar-for-table"],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        load_config(toml)


def test_out_of_range_value_is_refused_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[temporal]\nstrength = 1.5\n")
    assert main(["run", "x.mp4", "-o", "null", "--config", str(toml)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "temporal.strength" in err[0]


def test_missing_config_file() -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_config("/nonexistent/livematte.toml")


def test_shipped_example_configs_load_and_validate() -> None:
    configs = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))
    examples = [c for c in configs if not c.name.startswith("model-")]
    assert examples, "configs/ should hold documented examples"
    for path in examples:
        validate(load_config(path))


def _setting_names(node: object, prefix: str = "") -> set[str]:
    """Every "section.key" of a Config (or of its parsed TOML), leaves only."""
    items = (
        {f.name: getattr(node, f.name) for f in dataclasses.fields(node)}  # type: ignore[arg-type]
        if dataclasses.is_dataclass(node)
        else dict(node)  # type: ignore[call-overload]
    )
    names: set[str] = set()
    for key, value in items.items():
        nested = dataclasses.is_dataclass(value) or isinstance(value, dict)
        names |= _setting_names(value, f"{prefix}{key}.") if nested else {f"{prefix}{key}"}
    return names


def test_default_config_file_holds_every_setting_at_its_real_default() -> None:
    """configs/default.toml says it is every setting with its default: hold it to that."""
    path = Path(__file__).resolve().parents[1] / "configs" / "default.toml"
    assert _setting_names(read_toml(path)) == _setting_names(Config())
    assert load_config(path) == Config()
    settings = [line for line in path.read_text().splitlines() if re.match(r"^\w+ *=", line)]
    assert all("#" in line for line in settings), "each setting has its one-line comment"


# ---- flag types come from the config's fields -------------------------------------------


def test_blur_is_a_float_from_the_command_line_and_from_toml(tmp_path: Path) -> None:
    args = build_parser().parse_args(["run", "in.mp4", "-o", "o.mp4", "--blur", "12.5"])
    assert config_from_args(args).background.blur == 12.5
    args = build_parser().parse_args(["run", "in.mp4", "-o", "o.mp4", "--blur", "25"])
    assert config_from_args(args).background.blur == 25.0
    toml = tmp_path / "c.toml"
    toml.write_text("[background]\nblur = 60.0\n")
    assert load_config(toml).background.blur == 60.0


def test_every_flag_takes_its_type_and_choices_from_its_setting() -> None:
    """The argparse type of each flag is the annotation of the setting it maps to."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.choices and "run" in a.choices)
    checked = 0
    for sub in subparsers.choices.values():
        for action in sub._actions:
            flag = cli.FLAG_SETTINGS.get(action.dest)
            if flag is None:
                continue
            annotation = setting_type(flag.setting)
            if flag.const is not None:  # a switch for one value of the setting (--no-control)
                assert action.nargs == 0 and action.const == flag.const, action.option_strings
                checked += 1
                continue
            if annotation is bool:
                assert action.nargs == 0 and action.const is True, action.option_strings
            elif annotation == list[str]:
                assert action.type is str and isinstance(action, argparse._AppendAction)
            else:
                assert action.type is annotation, action.option_strings
            assert action.choices == CHOICES.get(flag.setting), action.option_strings
            checked += 1
    assert checked > 40  # every subcommand's flags were seen


def test_an_enumerated_setting_is_checked_in_config_files_too(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[model]\ndevice = "gpu"\n')
    with pytest.raises(UserError, match="model.device must be one of auto, cpu"):
        load_config(toml)


def test_process_video_validates_the_config_it_is_given(tmp_path: Path) -> None:
    config = Config()
    config.temporal.motion_threshold = 0
    with pytest.raises(UserError, match="temporal.motion_threshold must be above 0"):
        process_video(tmp_path / "absent.mp4", "null", config=config)


def test_process_video_refuses_a_config_that_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^config must be a livematte.Config .* not a dict;"):
        process_video(tmp_path / "absent.mp4", "null", config={"model": {}})  # type: ignore[arg-type]


def test_process_video_leaves_the_callers_config_as_it_was(tmp_path: Path) -> None:
    """What one call sets (background, matte, model) must not leak into the next call."""
    config = Config()
    before = repr(config)
    with pytest.raises(UserError, match="absent.mp4"):
        process_video(
            tmp_path / "absent.mp4",
            "null",
            config=config,
            background="#00ff00",
            alpha_out=tmp_path / "matte",
            model="selfie",
        )
    assert repr(config) == before
