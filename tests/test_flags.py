"""Every flag of every subcommand acts, or is refused with one sentence.

Each settings flag lands on its setting (one test walks every parser); the tests below show
what the flags do in each kind of run, and that a flag with nothing to act on is refused.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import person_frames, video_info, write_clip

from livematte import demo
from livematte.cli import FLAG_SETTINGS, Flag, build_parser, config_from_args, main
from livematte.config import Config, get_value, setting_type
from livematte.run import live
from livematte.run.flag_scope import RunFacts, refuse_flags_that_cannot_act
from livematte.stages import Stages


def parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"livematte": parser, **subs.choices}


def _typed_value(flag: Flag, action: argparse.Action) -> tuple[list[str], Any]:
    """Words that type ``flag`` with a value other than its default, and that value."""
    annotation = setting_type(flag.setting)
    if flag.const is not None:
        return [], flag.const
    if annotation is bool:
        return [], not flag.negative
    if action.choices:
        default = get_value(Config(), flag.setting)
        value = next(str(choice) for choice in action.choices if choice != default)
        return [value], value
    if flag.setting == "output.codec":  # a string setting with names of its own
        return ["vp9"], "vp9"
    if annotation is int:
        return ["3"], 3
    if annotation is float:
        return ["3.5"], 3.5
    if annotation == list[str]:
        return ["typed"], ["typed"]
    return ["typed"], "typed"


def test_every_settings_flag_of_every_subcommand_lands_on_its_setting() -> None:
    """A flag typed is its setting in the run's Config: none is parsed and then dropped.
    (Whether it then acts or is refused in a kind of run is each flag's own test.)"""
    positional = {"run": ["in.mp4"], "bench": ["in.mp4"], "eval": ["clip"], "batch": ["-o", "o"]}
    seen = 0
    for name, parser in parsers().items():
        for action in parser._actions:
            flag = FLAG_SETTINGS.get(action.dest)
            if flag is None or not action.option_strings:
                continue
            words, expected = _typed_value(flag, action)
            argv = [name, *positional.get(name, []), flag.names[-1], *words]
            config = config_from_args(build_parser().parse_args(argv))
            assert get_value(config, flag.setting) == expected, (name, flag.names[-1])
            seen += 1
    assert seen > 100  # every subcommand's flags were typed


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("livematte 0.")


# ---- inputs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-frame 160x96 clip of a person, no audio."""
    return write_clip(
        tmp_path_factory.mktemp("flags") / "tiny.mp4", frames=4, width=160, height=96, audio=None
    )


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clip")
    (root / "images").mkdir()
    for i, rgb in enumerate(person_frames(2, 160, 96)):
        cv2.imwrite(str(root / "images" / f"{i:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root


@pytest.fixture
def argv_of(tiny: Path, clip_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The arguments each subcommand needs before any flag, run from an empty folder."""
    monkeypatch.chdir(tmp_path)

    def argv(command: str) -> list[str]:
        return {
            "run": ["run", str(tiny), "-o", str(tmp_path / "out.mp4")],
            "demo": ["demo"],
            "eval": ["eval", str(clip_folder)],
            "bench": ["bench", str(tiny), "-o", str(tmp_path / "out.mp4")],
        }[command]

    return argv


def one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert all(word in err[0] for word in words), err[0]
    return err[0]


# ---- the flags reach what they set ------------------------------------------------------


class _Seen(Exception):
    """Raised by a spy once it has what the command would run with."""


MODEL_AND_QUALITY = [
    "--model", "selfie", "--threads", "1", "--variant", "landscape",
    "--no-temporal", "--no-refine", "--debug",
]  # fmt: skip
ENCODING_FLAGS = ["--alpha-out", "matte", "--codec", "h264", "--crf", "30", "--preset", "fast"]
BACKGROUND_FLAGS = ["-b", "blur", "--blur", "7.5", "--no-planar"]
GROUPS_OF = {
    "run": MODEL_AND_QUALITY + ENCODING_FLAGS + BACKGROUND_FLAGS,
    "demo": MODEL_AND_QUALITY + ENCODING_FLAGS,
    "eval": MODEL_AND_QUALITY,
    "bench": MODEL_AND_QUALITY + ENCODING_FLAGS + BACKGROUND_FLAGS,
}


@pytest.mark.parametrize("command", ["run", "demo", "eval", "bench"])
def test_settings_flags_reach_the_stages(
    command: str, argv_of: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline each subcommand builds gets the --config file's and the flags' values."""
    seen: dict[str, Any] = {}

    def spy(self: Stages, config: Config, *args: Any, **kwargs: Any) -> None:
        seen["config"] = config
        seen["log_level"] = logging.getLogger("livematte").level
        raise _Seen

    monkeypatch.setattr(Stages, "__init__", spy)
    toml = tmp_path / "c.toml"
    toml.write_text("[refine]\nfeather = 1\n")
    argv = argv_of(command) + ["--config", str(toml)]
    with pytest.raises(_Seen):
        main(argv + GROUPS_OF[command])
    config: Config = seen["config"]
    assert config.refine.feather == 1  # from --config
    assert (config.model.name, config.model.threads, config.model.variant) == (
        "selfie",
        1,
        "landscape",
    )
    assert not config.temporal.enabled and not config.refine.enabled
    assert config.debug and seen["log_level"] == logging.DEBUG
    if "--crf" in GROUPS_OF[command]:
        output = config.output
        assert (output.alpha_out, output.codec, output.crf, output.preset) == (
            "matte",
            "h264",
            30,
            "fast",
        )
    if "--blur" in GROUPS_OF[command]:
        assert config.background.specs == ["blur"] and config.background.blur == 7.5
        assert not config.output.planar


def test_batch_flags_reach_the_batch(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every flag of ``batch`` reaches ``process_batch``: the run flags through the config
    each clip starts from, the batch's own as its arguments."""
    seen: dict[str, Any] = {}

    def spy(inputs: list[str], outdir: str, **kwargs: Any) -> Any:
        seen.update(kwargs, inputs=inputs, outdir=outdir)
        raise _Seen

    monkeypatch.setattr("livematte.run.batch.process_batch", spy)
    toml = tmp_path / "c.toml"
    toml.write_text("[refine]\nfeather = 1\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text("input\n")
    flags = [*MODEL_AND_QUALITY, *ENCODING_FLAGS[2:], *BACKGROUND_FLAGS, "-q"]
    batch_flags = ["--ray", "head:6379", "--clip-cpus", "1.5", "--recursive"]
    batch_flags += ["--manifest", str(manifest), "--report", "r.json", "--ext", "mkv"]
    with pytest.raises(_Seen):
        main(["batch", str(tiny), "-o", str(tmp_path / "out"), "--config", str(toml)]
             + flags + batch_flags)  # fmt: skip
    config: Config = seen["config"]
    assert config.refine.feather == 1 and config.quiet
    assert (config.model.threads, config.model.variant) == (1, "landscape")
    assert not config.temporal.enabled and not config.refine.enabled
    assert (config.output.codec, config.output.crf, config.output.preset) == ("h264", 30, "fast")
    assert config.background.blur == 7.5 and not config.output.planar
    assert seen["inputs"] == [str(tiny)] and seen["outdir"] == str(tmp_path / "out")
    assert (seen["jobs"], seen["ray"], seen["clip_cpus"]) == (None, "head:6379", 1.5)
    assert seen["recursive"] and seen["manifest"] == str(manifest)
    assert (seen["report"], seen["ext"]) == ("r.json", "mkv")
    with pytest.raises(_Seen):  # --jobs sizes the local pool, so it comes without --ray
        main(["batch", str(tiny), "-o", str(tmp_path / "out"), "--jobs", "3"])
    assert (seen["jobs"], seen["ray"], seen["clip_cpus"]) == (3, False, None)


def test_live_settings_reach_the_live_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Config] = {}

    def spy(input_spec: str, output: str, config: Config, *args: Any, **kwargs: Any) -> None:
        seen["config"] = config
        raise _Seen

    monkeypatch.setattr(live, "run_live", spy)
    monkeypatch.setattr("livematte.io.preview.display_available", lambda: True)
    argv = ["run", "0", "-o", "null", "--size", "640x360", "--fps", "24", "--fourcc", "MJPG"]
    argv += ["--vcam-device", "/dev/video9", "--infer-every", "3", "--preview"]
    argv += ["--stats-json", "s.json", "--privacy-image", "p.png"]
    argv += ["--control", "0.0.0.0:9000", "--control-allow-remote", "--on-demand"]
    with pytest.raises(_Seen):
        main(argv)
    settings = seen["config"].live
    assert (settings.control, settings.control_allow_remote, settings.on_demand) == (
        "0.0.0.0:9000",
        True,
        True,
    )
    with pytest.raises(_Seen):
        main(["run", "0", "-o", "null", "--no-control"])
    assert seen["config"].live.control == "off"
    assert (settings.size, settings.fps, settings.fourcc) == ("640x360", 24.0, "MJPG")
    assert (settings.vcam_device, settings.infer_every, settings.preview) == (
        "/dev/video9",
        3,
        True,
    )
    assert (settings.stats_json, settings.privacy_image) == ("s.json", "p.png")


# ---- refused where they have nothing to act on ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "demo", "eval", "bench"])
@pytest.mark.parametrize(
    ("model", "flag", "why"),
    [
        ("selfie", ["--model-type", "rvm"], "drop it"),
        ("selfie", ["--model-spec", "spec.toml"], "drop it"),
        ("selfie", ["--downsample-ratio", "0.5"], "drop it"),
        ("model.onnx", ["--variant", "general"], "drop it"),
        ("modnet", ["--variant", "general"], "drop it"),
        ("selfie", ["--quality", "best"], "use --model auto"),
        # The built-in model takes every device: one this onnxruntime lacks names the pip
        # line, and fp16 of its fp32 files is TensorRT's alone.
        ("selfie", ["--device", "cuda"], "pip install 'livematte[gpu]'"),
        ("selfie", ["--precision", "fp16"], "--device tensorrt"),
        # The packaged object model has its own description and no MediaPipe variant.
        ("object", ["--model-type", "modnet"], "built in"),
        ("object", ["--variant", "general"], "drop it"),
    ],
    ids=[
        "model-type",
        "model-spec",
        "downsample-ratio",
        "variant",
        "variant-modnet",
        "quality",
        "device",
        "precision",
        "object-model-type",
        "object-variant",
    ],
)
def test_model_flags_for_another_kind_of_model_are_refused(
    command: str,
    model: str,
    flag: list[str],
    why: str,
    argv_of: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = argv_of(command) + ["--model", model, *flag]
    assert main(argv) == 2
    one_line_error(capsys, flag[0], why)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flag",
    [
        ["--size", "640x360"],
        ["--fps", "30"],
        ["--fourcc", "MJPG"],
        ["--vcam-device", "/dev/video9"],
        ["--infer-every", "2"],
        ["--preview"],
        ["--privacy-image", "p.png"],
        ["--control", "0"],
        ["--no-control"],
        ["--control-allow-remote"],
        ["--no-saved-settings"],
        ["--on-demand"],
    ],
    ids=lambda flag: flag[0],
)
def test_file_run_refuses_live_settings(
    flag: list[str], tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.mp4"
    assert main(["run", str(tiny), "-o", str(out), *flag]) == 2
    one_line_error(capsys, flag[0], "file run")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--live", "-o", "null", "--no-planar"], ["--no-planar", "live run"]),
        (["--live", "-o", "null", "--size", "640x360"], ["--size", "--live"]),
        (["--live", "-o", "null", "--fourcc", "MJPG"], ["--fourcc", "--live"]),
        (["--live", "-o", "null", "--crf", "20"], ["--crf", "writes no video"]),
        (["--live", "-o", "vcam", "--codec", "ffv1"], ["--codec", "writes no video"]),
        (["-o", "null", "--preset", "fast"], ["--preset", "writes no video"]),
        (["-o", "null", "-b", "#00ff00", "--blur", "5"], ["--blur", "blur"]),
        (["--live", "-o", "null", "--control-allow-remote"], ["needs a control page"]),
        (["--live", "-o", "null", "--no-saved-settings"], ["needs a control page"]),
    ],
    ids=[
        "no-planar",
        "size",
        "fourcc",
        "crf",
        "codec",
        "preset",
        "blur",
        "remote",
        "saved",
    ],
)
def test_live_run_refuses_file_settings(
    argv: list[str], words: list[str], tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Live runs (and outputs that encode nothing) refuse what only a file run uses."""
    assert main(["run", str(tiny), *argv]) == 2
    one_line_error(capsys, *words)


@pytest.mark.parametrize("flag", [["--size", "640x480"], ["--fourcc", "MJPG"], ["--fps", "20"]])
def test_camera_settings_on_a_file_give_one_answer_that_leads_somewhere(
    flag: list[str], tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file keeps its own size and format with --live or without, so both runs say the
    same and neither sends the user to the other; --fps says what would take it, and that
    run takes it."""
    assert main(["run", str(tiny), "-o", str(tmp_path / "out.mp4"), *flag]) == 2
    plain = one_line_error(capsys, flag[0], "file run")
    assert main(["run", str(tiny), "--live", "-o", "null", *flag]) == 2
    live = one_line_error(capsys, flag[0])
    if flag[0] == "--fps":
        assert "add --live -o vcam" in plain
        config = Config()
        refuse_flags_that_cannot_act({"fps": "--fps"}, config, RunFacts(live=True, output="vcam"))
    else:
        assert plain == live and "with --live or without" in plain and "add --live" not in plain


def test_live_run_does_not_suggest_alpha_out(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live run refuses --alpha-out, so its encoder refusals point at -o alone."""
    assert main(["run", str(tiny), "--live", "-o", "null", "--crf", "20"]) == 2
    assert "--alpha-out" not in one_line_error(capsys, "--crf", "give -o a video file")


def test_remote_control_without_a_page_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-control turns the page off, camera or not: --control-allow-remote has no page."""
    assert main(["run", "0", "-o", "null", "--no-control", "--control-allow-remote"]) == 2
    one_line_error(capsys, "--control-allow-remote", "--control HOST:PORT")


@pytest.mark.slow
@pytest.mark.parametrize(
    "backgrounds",
    [["-b", "#00ff00", "-b", "#0000ff"], ["-b", "FOLDER"]],
    ids=["two", "folder"],
)
@pytest.mark.parametrize("command", ["run", "bench"])
def test_several_backgrounds_on_a_file_run_are_refused(
    command: str,
    backgrounds: list[str],
    tiny: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out.mp4"
    argv = [command, str(tiny), "-o", str(out)]
    argv += [str(folder) if b == "FOLDER" else b for b in backgrounds]
    assert main(argv) == 2
    one_line_error(capsys, "one background", "live cycling")
    assert not out.exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("livematte-")]


# ---- effects on a file run --------------------------------------------------------------


def background_sharpness(folder: Path) -> float:
    """Laplacian variance of the first frame's left edge (background in these clips)."""
    grey = cv2.imread(str(sorted(folder.glob("*.png"))[0]), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(grey[:, :24], cv2.CV_64F).var())


def test_blur_flag_sets_the_strength_of_a_blur_background(tiny: Path, tmp_path: Path) -> None:
    sharpness = {}
    for blur in ("2", "40.5"):
        out = tmp_path / f"blur-{blur.replace('.', '-')}"
        assert main(["run", str(tiny), "-o", str(out), "--blur", blur, "-q"]) == 0
        sharpness[blur] = background_sharpness(out)
    assert sharpness["40.5"] < 0.5 * sharpness["2"]


def run_report(tiny: Path, tmp_path: Path, *flags: str) -> dict[str, Any]:
    stats = tmp_path / "stats.json"
    out = tmp_path / "out.mp4"
    assert main(["run", str(tiny), "-o", str(out), "--stats-json", str(stats), "-q", *flags]) == 0
    return json.loads(stats.read_text())


def test_stats_json_on_a_file_run_writes_the_report(tiny: Path, tmp_path: Path) -> None:
    report = run_report(tiny, tmp_path)
    assert report["frames"] == 4 and report["interrupted"] is False
    assert str(tmp_path / "out.mp4") in report["output"]
    assert report["fps"] > 0 and "model" in report["stages"]


def test_no_planar_takes_the_rgb_path(tiny: Path, tmp_path: Path) -> None:
    assert run_report(tiny, tmp_path)["planar"] is True
    assert run_report(tiny, tmp_path, "--no-planar")["planar"] is False


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "bench"])
def test_encoder_flags_shape_the_file(command: str, tiny: Path, tmp_path: Path) -> None:
    def encode(name: str, *flags: str) -> Path:
        out = tmp_path / name
        extra = ["-q"] if command == "run" else ["--frames", "0"]
        assert main([command, str(tiny), "-o", str(out), *flags, *extra]) == 0
        return out

    assert video_info(encode("lossless.mkv", "--codec", "ffv1"))["codec"] == "ffv1"
    small, large = encode("c45.mp4", "--crf", "45"), encode("c5.mp4", "--crf", "5")
    assert small.stat().st_size < large.stat().st_size
    # x264 writes its settings into the stream; ultrafast turns CABAC off.
    assert b"cabac=0" in encode("fast.mp4", "--preset", "ultrafast").read_bytes()
    assert b"cabac=1" in encode("slow.mp4", "--preset", "slow").read_bytes()


# ---- -q ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "demo", "eval", "bench"])
def test_quiet_silences_what_is_not_the_result(
    command: str,
    argv_of: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-q: no progress, no summary, warnings only; eval's and bench's tables still print."""
    monkeypatch.setattr(demo, "DEMO_FRAMES", 2)
    argv = argv_of(command)
    if command == "eval":
        argv += ["--json", str(tmp_path / "q.json")]
    assert main([*argv, "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert logging.getLogger("livematte").level == logging.WARNING
    if command in ("run", "demo"):
        assert out == ""
    else:
        assert out.strip()  # the table is the command's result
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert (out + err).strip()  # without -q something is said


# ---- a mistyped flag --------------------------------------------------------------------


def test_mistyped_flag_shows_the_subcommand_usage_and_the_closest_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "x.mp4", "--backgound", "a.jpg"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: livematte run ")
    assert "did you mean --background?" in err
    with pytest.raises(SystemExit):
        main(["eval", "clips", "--crf", "3"])
    err = capsys.readouterr().err
    assert err.startswith("usage: livematte eval ") and "--crf has nothing to act on" in err
