"""Configuration: defaults, then a TOML file, then flags; bad values are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from livematte.cli import build_parser, config_from_args, main, validate
from livematte.config import Config, load_config
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
        ("[output]\ncrf = 'high'\n", "'output.crf'"),
        ("[refine]\nenabled = 1\n", "'refine.enabled'"),
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
