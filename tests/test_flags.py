"""Every flag of every subcommand acts, or is refused with one sentence; a test shows which.

``REGISTRY`` maps each (subcommand, flag) to the tests that check the flag's effect or its
refusal, as "test_module.py::test_name". ``test_every_flag_has_a_test`` walks every action
of every subcommand's parser and fails when a flag is missing from the registry, when the
registry names a flag no parser offers, or when it names a test that does not exist.

Adding a flag (or a subcommand) = one line per (subcommand, flag) below, naming the test
that shows what it does there, or that it is refused where it has nothing to act on.
"""

from __future__ import annotations

import argparse
import importlib
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
from livematte.cli import build_parser, main
from livematte.config import Config
from livematte.run import live
from livematte.stages import Stages

T = "test_flags.py::"
SPY = T + "test_settings_flags_reach_the_stages"
MODEL_REFUSED = T + "test_model_flags_for_another_kind_of_model_are_refused"
FILE_REFUSED = T + "test_file_run_refuses_live_settings"
LIVE_REFUSED = T + "test_live_run_refuses_file_settings"
LIVE_SPY = T + "test_live_settings_reach_the_live_driver"
QUIET = T + "test_quiet_silences_what_is_not_the_result"
ENCODER = T + "test_encoder_flags_shape_the_file"
BATCH = "test_batch.py::"
BATCH_SPY = T + "test_batch_flags_reach_the_batch"
OC = "test_output_checks.py::"
CANNOT_ACT = OC + "test_encoder_and_planar_flags_that_cannot_act_are_refused"
GENERAL = {"--config": SPY, "--quiet": QUIET, "--debug": SPY}
MODEL = {
    "--model": SPY,
    "--model-type": MODEL_REFUSED,
    "--model-spec": MODEL_REFUSED,
    "--device": MODEL_REFUSED + " test_devices.py::test_auto_uses_the_accelerator_the_build_has",
    "--precision": MODEL_REFUSED
    + " test_devices.py::test_fp16_export_runs_as_fp16_and_refuses_fp32",
    "--threads": SPY,
    "--quality": MODEL_REFUSED
    + " test_quality.py::test_a_typed_quality_wins_over_the_device"
    + " test_quality.py::test_quality_flag_reaches_the_config",
    "--variant": SPY + " " + MODEL_REFUSED,
    "--downsample-ratio": MODEL_REFUSED
    + " "
    + OC
    + "test_downsample_ratio_on_a_model_that_is_not_rvm_is_refused",
    "--no-temporal": SPY,
    "--no-refine": SPY,
}
ENCODING = {
    "--alpha-out": SPY
    + " test_run.py::test_person_kept_and_background_replaced "
    + OC
    + "test_picture_and_matte_on_one_path_are_refused",
    "--codec": f"{SPY} {ENCODER} {CANNOT_ACT} "
    + OC
    + "test_a_codec_the_container_cannot_hold_is_refused_naming_what_it_takes",
    "--crf": f"{SPY} {ENCODER} {CANNOT_ACT}",
    "--preset": f"{SPY} {ENCODER} {CANNOT_ACT} "
    + OC
    + "test_an_unknown_preset_is_refused_listing_the_presets",
}
BACKGROUND = {
    "--background": SPY
    + " test_run.py::test_person_kept_and_background_replaced "
    + T
    + "test_several_backgrounds_on_a_file_run_are_refused",
    "--blur": SPY
    + " "
    + T
    + "test_blur_flag_sets_the_strength_of_a_blur_background "
    + OC
    + "test_a_float_setting_that_is_not_finite_is_refused",
    "--no-planar": SPY
    + " "
    + T
    + "test_no_planar_takes_the_rgb_path "
    + LIVE_REFUSED
    + f" {CANNOT_ACT} {OC}test_no_planar_with_picture_input_is_refused",
}

# (subcommand, flag) -> the tests that check its effect or its refusal, space-separated.
REGISTRY: dict[tuple[str, str], str | None] = {
    ("livematte", "--version"): T + "test_version",
    ("run", "--output"): "test_run.py::test_run_keeps_frames_timestamps_and_audio_packets",
    **{("run", flag): tests for flag, tests in {**GENERAL, **MODEL}.items()},
    **{("run", flag): tests for flag, tests in {**ENCODING, **BACKGROUND}.items()},
    ("run", "--alpha-out"): ENCODING["--alpha-out"]
    + " test_live.py::test_alpha_out_on_live_names_each_sent_frame_by_its_index"
    + " test_live.py::test_alpha_out_is_refused_for_a_camera_in_one_sentence",
    ("run", "--codec"): ENCODING["--codec"] + " " + LIVE_REFUSED,
    ("run", "--crf"): ENCODING["--crf"]
    + " "
    + LIVE_REFUSED
    + " "
    + T
    + "test_live_run_does_not_suggest_alpha_out",
    ("run", "--preset"): ENCODING["--preset"] + " " + LIVE_REFUSED,
    ("run", "--live"): "test_live.py::test_file_played_live_runs_at_its_own_rate",
    ("run", "--folder-as"): "test_pictures.py::test_treating_photos_as_a_clip_carries_the_matte_"
    "over test_pictures.py::test_folder_as_on_a_video_is_refused",
    ("run", "--size"): f"{LIVE_SPY} {FILE_REFUSED} {LIVE_REFUSED}",
    ("run", "--fps"): f"{LIVE_SPY} {FILE_REFUSED} "
    + OC
    + "test_fps_on_a_live_file_run_without_a_virtual_camera_is_refused",
    ("run", "--fourcc"): f"{LIVE_SPY} {FILE_REFUSED} {LIVE_REFUSED}",
    ("run", "--vcam-device"): f"{LIVE_SPY} {FILE_REFUSED} "
    "test_live.py::test_vcam_without_a_loopback_device_gives_the_modprobe_fix",
    ("run", "--infer-every"): f"{LIVE_SPY} {FILE_REFUSED} "
    "test_live.py::test_infer_every_on_a_live_run",
    ("run", "--preview"): f"{LIVE_SPY} {FILE_REFUSED} "
    "test_live.py::test_preview_beside_another_output_without_a_display_is_refused "
    + OC
    + "test_preview_without_a_display_is_refused_before_the_run",
    ("run", "--stats-json"): f"{LIVE_SPY} {T}test_stats_json_on_a_file_run_writes_the_report "
    "test_live.py::test_live_run_writes_its_statistics "
    + OC
    + "test_a_side_file_never_overwrites_the_input_or_an_output "
    + OC
    + "test_side_file_paths_are_checked_before_the_run",
    ("run", "--privacy-image"): f"{LIVE_SPY} {FILE_REFUSED} "
    "test_live.py::test_privacy_shows_the_chosen_still_image",
    ("run", "--control"): f"{LIVE_SPY} {FILE_REFUSED} test_web.py::test_control_addresses "
    "test_web.py::test_a_busy_port_falls_back_to_a_free_one",
    ("run", "--no-control"): f"{LIVE_SPY} {FILE_REFUSED} test_web.py::test_control_addresses "
    + T
    + "test_remote_control_without_a_page_is_refused",
    ("run", "--control-allow-remote"): f"{LIVE_SPY} {FILE_REFUSED} {LIVE_REFUSED} "
    "test_web.py::test_control_addresses " + T + "test_remote_control_without_a_page_is_refused",
    ("run", "--no-saved-settings"): f"{FILE_REFUSED} {LIVE_REFUSED} "
    "test_web.py::test_flags_typed_win_over_saved_page_settings_and_the_page_shows_what_runs",
    ("run", "--on-demand"): f"{LIVE_SPY} {FILE_REFUSED} "
    "test_on_demand.py::test_camera_runs_only_while_the_virtual_camera_is_held "
    "test_on_demand.py::test_on_demand_is_linux_only_in_one_sentence",
    **{("demo", flag): tests for flag, tests in {**GENERAL, **MODEL, **ENCODING}.items()},
    **{("eval", flag): tests for flag, tests in {**GENERAL, **MODEL}.items()},
    (
        "eval",
        "--live",
    ): "test_live.py::test_eval_live_scores_the_frames_shown_beside_the_offline_score",
    ("eval", "--json"): "test_eval_command.py::test_eval_prints_table_and_writes_json "
    + OC
    + "test_side_file_paths_are_checked_before_the_run",
    **{("bench", flag): t for flag, t in {**GENERAL, **MODEL, **ENCODING, **BACKGROUND}.items()},
    ("bench", "--frames"): "test_bench.py::test_bench_stops_after_frames_and_skips_encode_for_null",
    ("bench", "--json"): "test_bench.py::test_bench_prints_table_and_writes_json_and_plot "
    + OC
    + "test_bench_json_has_the_run_report_fields",
    ("bench", "--plot"): "test_bench.py::test_bench_prints_table_and_writes_json_and_plot "
    + OC
    + "test_side_file_paths_are_checked_before_the_run",
    ("bench", "--output"): "test_bench.py::test_bench_never_writes_over_its_input " + ENCODER,
    **{("batch", flag): BATCH_SPY for flag in (*GENERAL, *MODEL, *ENCODING, *BACKGROUND)},
    ("batch", "--alpha-out"): None,
    ("batch", "--output"): BATCH_SPY
    + " "
    + BATCH
    + "test_cli_batch_exit_codes "
    + BATCH
    + "test_an_output_folder_that_is_a_file_is_refused "
    + BATCH
    + "test_the_input_folder_as_output_folder_is_refused",
    ("batch", "--jobs"): BATCH_SPY
    + " "
    + BATCH
    + "test_cli_batch_exit_codes "
    + BATCH
    + "test_flags_for_the_other_executor_are_refused",
    ("batch", "--ray"): BATCH_SPY
    + " "
    + BATCH
    + "test_ray_missing_says_how_to_install "
    + BATCH
    + "test_an_unreachable_ray_cluster_is_refused_in_seconds",
    ("batch", "--clip-cpus"): BATCH_SPY
    + " test_batch_cluster.py::test_a_lost_node_loses_no_clip_and_duplicates_none "
    + BATCH
    + "test_flags_for_the_other_executor_are_refused "
    + BATCH
    + "test_clip_cpus_not_above_zero_is_refused_before_ray_starts",
    ("batch", "--manifest"): BATCH_SPY
    + " "
    + BATCH
    + "test_manifest_sets_each_clips_output_and_settings "
    + BATCH
    + "test_manifest_mistakes_name_the_manifest_and_line "
    + BATCH
    + "test_manifest_backgrounds_are_read_from_the_manifests_folder",
    ("batch", "--report"): BATCH_SPY
    + " "
    + BATCH
    + "test_ctrl_c_stops_the_batch_cleanly_and_the_rerun_finishes "
    + BATCH
    + "test_a_report_onto_a_file_of_the_batch_is_refused "
    + BATCH
    + "test_report_paths_are_absolute_for_every_entry",
    ("batch", "--recursive"): BATCH_SPY
    + " "
    + BATCH
    + "test_batch_writes_every_good_clip_reports_the_rest_and_resumes",
    ("batch", "--ext"): BATCH_SPY
    + " "
    + BATCH
    + "test_transparent_into_an_mp4_is_refused_naming_ext",
}
REGISTRY = {key: tests for key, tests in REGISTRY.items() if tests is not None}


def parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"livematte": parser, **subs.choices}


def test_every_flag_has_a_test() -> None:
    offered = set()
    for name, parser in parsers().items():
        for action in parser._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                offered.add((name, action.option_strings[-1]))
    assert sorted(offered - REGISTRY.keys()) == [], "flags without a test in REGISTRY"
    assert ("batch", "--alpha-out") not in offered  # one matte file cannot serve many clips
    assert sorted(REGISTRY.keys() - offered) == [], "REGISTRY names flags no parser offers"
    tests_dir = Path(__file__).parent
    for key, tests in REGISTRY.items():
        for node in tests.split():
            module, function = node.split("::")
            assert (tests_dir / module).is_file(), f"{key}: {module} does not exist"
            assert hasattr(importlib.import_module(module[:-3]), function), f"{key}: {node}"


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
    "--model", "mediapipe", "--threads", "1", "--variant", "landscape",
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
        "mediapipe",
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


@pytest.mark.parametrize("command", ["run", "demo", "eval", "bench"])
@pytest.mark.parametrize(
    ("model", "flag", "why"),
    [
        ("mediapipe", ["--model-type", "rvm"], "drop it"),
        ("mediapipe", ["--model-spec", "spec.toml"], "drop it"),
        ("mediapipe", ["--downsample-ratio", "0.5"], "drop it"),
        ("model.onnx", ["--variant", "general"], "drop it"),
        ("modnet", ["--variant", "general"], "drop it"),
        ("selfie", ["--quality", "best"], "use --model auto"),
        # The built-in model takes every device: one this onnxruntime lacks names the pip
        # line, and fp16 of its fp32 files is TensorRT's alone.
        ("mediapipe", ["--device", "cuda"], "pip install 'livematte[gpu]'"),
        ("mediapipe", ["--precision", "fp16"], "--device tensorrt"),
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
