"""Outputs and encoder flags checked before any work starts: one sentence, exit 2, nothing
written, the input untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import write_clip

from livematte.cli import main
from livematte.config import Config
from livematte.errors import UserError
from livematte.stages import Stages


class _Started(Exception):
    """The run got as far as building its stages: the check came too late."""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "in.mp4", frames=3, width=96, height=64, audio=None)


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the run starts (loads a model) before refusing."""

    def started(self: Stages, config: Config, *args: object, **kwargs: object) -> None:
        raise _Started

    monkeypatch.setattr(Stages, "__init__", started)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert all(word in err[0] for word in words), err[0]
    return err[0]


# 1. side files that are the input or another output
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "IN", "-o", "OUT", "--stats-json", "IN"],
        ["run", "IN", "-o", "OUT", "--stats-json", "OUT"],
        ["run", "IN", "--live", "-o", "null", "--stats-json", "IN"],
        ["bench", "IN", "--json", "IN"],
        ["bench", "IN", "--plot", "IN"],
        ["bench", "IN", "-o", "OUT", "--json", "OUT"],
        ["eval", "IN", "--json", "IN"],
    ],
    ids=["stats-in", "stats-out", "live-stats-in", "bench-json", "bench-plot", "bench-out", "eval"],
)
def test_a_side_file_never_overwrites_the_input_or_an_output(
    argv: list[str], tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.mp4"
    out.write_bytes(b"keep")
    before = tiny.read_bytes()
    names = {"IN": str(tiny), "OUT": str(out)}
    refused(capsys, [names.get(a, a) for a in argv], "--")
    assert tiny.read_bytes() == before and out.read_bytes() == b"keep"


# 2. -o and --alpha-out naming one path
@pytest.mark.parametrize("name", ["fr2/", "keep.mp4"])
def test_picture_and_matte_on_one_path_are_refused(
    name: str, tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / name)
    refused(capsys, ["run", str(tiny), "-o", target, "--alpha-out", target], "--alpha-out", "-o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_demo_matte_on_the_demo_video_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_work: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["demo", "--alpha-out", "livematte-demo.mp4"], "--alpha-out", "also")


# 3. codecs the container cannot hold
@pytest.mark.parametrize(
    ("name", "codec", "takes"),
    [
        ("c.mp4", "prores", "h264, vp9, ffv1"),
        ("c.webm", "prores", "vp9"),
        ("c.mov", "ffv1", "h264, prores"),
        ("c.webm", "ffv1", "vp9"),
        ("c.webm", "h264", "vp9"),
        ("c.mov", "vp9", "h264, prores"),
    ],
)
def test_a_codec_the_container_cannot_hold_is_refused_naming_what_it_takes(
    name: str,
    codec: str,
    takes: str,
    tiny: Path,
    tmp_path: Path,
    no_work: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = str(tmp_path / name)
    refused(capsys, ["run", str(tiny), "-o", out, "--codec", codec], "cannot hold", takes)
    config = tmp_path / "c.toml"
    config.write_text(f'[output]\ncodec = "{codec}"\n')
    refused(capsys, ["run", str(tiny), "-o", out, "--config", str(config)], "cannot hold")
    refused(capsys, ["run", str(tiny), "--live", "-o", out, "--codec", codec], "cannot hold")


def test_codec_applies_to_the_matte_video_too_and_is_checked_there(
    tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(tiny), "-o", str(tmp_path / "o.mkv"), "--codec", "vp9"]
    refused(capsys, [*argv, "--alpha-out", str(tmp_path / "am.mov")], "--alpha-out", "cannot hold")


def test_demo_and_batch_check_the_codec_first(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["demo", "--codec", "prores"], "cannot hold")
    refused(capsys, ["batch", str(tiny), "-o", "out", "--codec", "prores"], "cannot hold")
    assert not (tmp_path / "out").exists()


# 4. encoder flags with nothing to act on
@pytest.mark.parametrize(
    ("out", "flags", "words"),
    [
        ("p.mov", ["--crf", "20"], ["--crf", "ProRes or FFV1"]),
        ("p.mkv", ["--codec", "ffv1", "--crf", "20"], ["--crf", "ProRes or FFV1"]),
        ("p.webm", ["--preset", "fast"], ["--preset", "x264"]),
        ("p.mov", ["--preset", "fast"], ["--preset", "x264"]),
        ("frames/", ["--crf", "20"], ["--crf", "no video file"]),
        ("frames/", ["--codec", "h264"], ["--codec", "no video file"]),
        ("null", ["--alpha-out", "m/", "--crf", "20"], ["--crf", "no video file"]),
        ("p.mp4", ["--crf", "52"], ["--crf 52", "0 to 51"]),
        ("p.webm", ["--crf", "64"], ["crf", "63"]),
        ("p.mp4", ["--crf", "99"], ["--crf 99", "0 to 51"]),
        ("p.mp4", ["--live", "--crf", "99"], ["--crf 99", "0 to 51"]),
        ("p.mp4", ["--alpha-out", "null"], ["--alpha-out null"]),
        ("p.mov", ["--no-planar"], ["--no-planar", "RGB anyway"]),
        ("frames/", ["--no-planar"], ["--no-planar", "RGB anyway"]),
        ("p.mp4", ["--no-planar", "--codec", "vp9"], ["--no-planar", "RGB anyway"]),
        ("p.webm", ["--no-planar", "-b", "transparent"], ["--no-planar", "RGB anyway"]),
    ],
)
def test_encoder_and_planar_flags_that_cannot_act_are_refused(
    out: str,
    flags: list[str],
    words: list[str],
    tiny: Path,
    tmp_path: Path,
    no_work: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = out if out == "null" else str(tmp_path / out)
    flags = [str(tmp_path / f) if f.endswith("/") else f for f in flags]
    refused(capsys, ["run", str(tiny), "-o", target, *flags], *words)


def test_no_planar_with_picture_input_is_refused(
    tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2
    import numpy as np

    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.zeros((16, 16, 3), np.uint8))
    argv = ["run", str(picture), "-o", str(tmp_path / "o.mp4"), "--no-planar"]
    refused(capsys, argv, "--no-planar", "picture input")


@pytest.mark.parametrize("output", ["null", "preview"])
def test_preview_without_a_display_is_refused_before_the_run(
    output: str,
    tiny: Path,
    no_work: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    extra = ["--preview"] if output == "null" else []
    refused(capsys, ["run", str(tiny), "--live", "-o", output, *extra], "display")


@pytest.mark.parametrize("output", ["null", "FILE"])
def test_fps_on_a_live_file_run_without_a_virtual_camera_is_refused(
    output: str, tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "r.mp4") if output == "FILE" else output
    refused(capsys, ["run", str(tiny), "--live", "-o", target, "--fps", "15"], "--fps", "vcam")


def test_downsample_ratio_on_a_model_that_is_not_rvm_is_refused(tmp_path: Path) -> None:
    import onnx_factories as factories

    from livematte.matting.onnx_matter import load_onnx_matter

    model = factories.save(factories.segmenter(), tmp_path)
    with pytest.raises(UserError, match="--downsample-ratio"):
        load_onnx_matter(model, model_type="sinet", device="cpu", downsample_ratio=0.5)


# 5. / 6. values checked up front
def test_an_unknown_preset_is_refused_listing_the_presets(
    tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[output]\npreset = "bogus"\n')
    argv = ["run", str(tiny), "-o", str(tmp_path / "o.mp4"), "--config", str(config)]
    refused(capsys, argv, "output.preset", "ultrafast", "placebo")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(tiny), "-o", str(tmp_path / "o.mp4"), "--preset", "bogus"])
    assert exited.value.code == 2 and "veryslow" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag", [["--blur", "inf"], ["--blur=-inf"], ["--downsample-ratio", "nan"]]
)
def test_a_float_setting_that_is_not_finite_is_refused(
    flag: list[str], tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, ["run", str(tiny), "-o", str(tmp_path / "o.mp4"), *flag], "finite")


# 7. side files checked before the run
@pytest.mark.parametrize(
    "case",
    [
        (["bench", "IN", "--plot", "TMP/p.xyz"], ["--plot", ".png, .pdf, .svg"]),
        (["bench", "IN", "--plot", "/nonexistent/p.png"], ["/nonexistent", "does not exist"]),
        (
            ["run", "IN", "-o", "TMP/o.mp4", "--stats-json", "/nonexistent/s.json"],
            ["does not exist"],
        ),
        (["eval", "IN", "--json", "/nonexistent/e.json"], ["does not exist"]),
    ],
    ids=["plot-format", "plot-folder", "stats-folder", "eval-folder"],
)
def test_side_file_paths_are_checked_before_the_run(
    case: tuple[list[str], list[str]], tiny: Path, tmp_path: Path, no_work: None, capsys: Any
) -> None:
    """(argv, words of the refusal): IN is the input clip, TMP the test's folder."""
    argv = [a.replace("IN", str(tiny)).replace("TMP", str(tmp_path)) for a in case[0]]
    refused(capsys, argv, *case[1])


# 8. messages that name the right flag
def test_matte_into_one_image_names_alpha_out(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(tiny), "-o", str(tmp_path / "x.mp4"), "--alpha-out", str(tmp_path / "m.png")]
    message = refused(capsys, [*argv, "-q"], "single image")
    assert f"--alpha-out {tmp_path / 'm'}/" in message


def test_h264_with_transparency_in_a_mov_blames_the_codec_flag(
    tiny: Path, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "run",
        str(tiny),
        "-o",
        str(tmp_path / "ht.mov"),
        "--codec",
        "h264",
        "-b",
        "transparent",
    ]
    message = refused(capsys, argv, "drop --codec h264")
    assert "write .mov" not in message


def test_unknown_matte_extension_offers_no_null(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "run",
        str(tiny),
        "-o",
        str(tmp_path / "x.mp4"),
        "--alpha-out",
        str(tmp_path / "o.txt2"),
    ]
    message = refused(capsys, [*argv, "-q"], "does not write")
    assert "null" not in message


# 9. bench --json carries the run report's fields
def test_bench_json_has_the_run_report_fields(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    assert main(["bench", str(tiny), "--json", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    assert {"planar", "provider", "model", "device", "frames"} <= data.keys()
    assert data["planar"] is True


def test_api_refusals_name_arguments_not_flags(clip: Path, tmp_path: Path) -> None:
    """The Python API has no -o: its refusals call the outputs by their argument names."""
    import livematte

    with pytest.raises(UserError, match=r"^The output .* is the input itself") as same:
        livematte.process_video(clip, clip)
    matte = tmp_path / "m.mp4"
    with pytest.raises(UserError, match=r"^The alpha_out .* is also the output ") as both:
        livematte.process_video(clip, matte, alpha_out=matte)
    config = livematte.Config()
    config.output.crf = 99
    with pytest.raises(UserError, match=r"^output.crf 99 .* 0 to 51") as crf:
        livematte.process_video(clip, tmp_path / "o.mp4", config=config)
    for refused in (same, both, crf):
        assert " -o " not in str(refused.value) and "--" not in str(refused.value)


# 10. one blur range (config.BLUR_RANGE) for the flags, the config file, the API and the page
@pytest.mark.parametrize(
    ("argv", "config_text"),
    [
        (["--blur", "100000"], None),
        (["--blur", "1"], None),
        (["-b", "blur:100000"], None),
        (["-b", "blur:0.5"], None),
        ([], "[background]\nblur = 500.0\n"),
        ([], '[background]\nspecs = ["blur:201"]\n'),
    ],
    ids=["flag-high", "flag-low", "spec-high", "spec-low", "file-blur", "file-spec"],
)
def test_a_blur_outside_the_one_range_is_refused_everywhere(
    argv: list[str],
    config_text: str | None,
    tiny: Path,
    tmp_path: Path,
    no_work: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if config_text is not None:
        (tmp_path / "c.toml").write_text(config_text)
        argv = [*argv, "--config", str(tmp_path / "c.toml")]
    if "--blur" in argv:
        argv = ["-b", "blur", *argv]
    refused(capsys, ["run", str(tiny), "-o", str(tmp_path / "o.mp4"), *argv], "2", "200")


def test_the_api_and_the_page_refuse_the_same_blur_range(tiny: Path, tmp_path: Path) -> None:
    import livematte
    from livematte.composite import parse_backgrounds
    from livematte.config import BLUR_RANGE
    from livematte.controls import LiveControls

    with pytest.raises(UserError, match="between 2 and 200"):
        livematte.process_video(tiny, tmp_path / "o.mp4", background="blur:100000")
    controls = LiveControls(parse_backgrounds(["#ff0000"]))
    for value in (BLUR_RANGE[0] - 0.5, BLUR_RANGE[1] + 1):
        with pytest.raises(ValueError, match="between 2 and 200"):
            controls.apply({"blur": value})
    controls.apply({"blur": BLUR_RANGE[1]})
    assert controls.state()["blur_range"] == list(BLUR_RANGE)


# 11. every file the run reads is refused as an output, as the input is
def _read_files(tmp_path: Path) -> dict[str, Path]:
    """Files a run reads: a background picture and video, a folder of pictures, a model,
    a model description, a config file, and a picture input."""
    import cv2
    import numpy as np

    picture = tmp_path / "person.png"
    cv2.imwrite(str(picture), np.full((48, 64, 3), 128, np.uint8))
    bg = tmp_path / "bg.png"
    cv2.imwrite(str(bg), np.full((48, 64, 3), 30, np.uint8))
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((48, 64, 3), 60, np.uint8))
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not really a model")
    spec = tmp_path / "m.toml"
    spec.write_text('family = "sinet"\n')
    config = tmp_path / "c.toml"
    config.write_text("[output]\ncrf = 20\n")
    video = write_clip(
        tmp_path / "earth.webm", frames=3, width=96, height=64, audio=None, codec="libvpx-vp9"
    )
    return {
        "PIC": picture,
        "BG": bg,
        "DIR": folder,
        "MODEL": model,
        "SPEC": spec,
        "CFG": config,
        "VID": video,
    }


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "PIC", "-o", "BG", "-b", "BG"], ["-o", "-b", "background"]),
        (["run", "IN", "-o", "VID", "-b", "VID"], ["-o", "-b", "background"]),
        (["run", "IN", "-o", "./VID", "-b", "VID"], ["-o", "background"]),
        (["run", "IN", "-o", "LINK", "-b", "VID"], ["-o", "background"]),
        (["run", "IN", "-o", "HARD", "-b", "VID"], ["-o", "background"]),
        (["run", "IN", "-o", "o.mp4", "--alpha-out", "VID", "-b", "VID"], ["--alpha-out"]),
        (["run", "PIC", "-o", "DIR/a.png", "-b", "DIR"], ["-o", "-b", "folder"]),
        (["run", "IN", "-o", "DIR", "-b", "DIR"], ["-o", "-b"]),
        (["run", "IN", "-o", "o.mp4", "-b", "BG", "--stats-json", "BG"], ["--stats-json"]),
        (
            ["run", "IN", "--live", "-o", "null", "--privacy-image", "BG", "--stats-json", "BG"],
            ["--stats-json", "--privacy-image"],
        ),
        (["run", "IN", "-o", "o.mp4", "--model", "MODEL", "--stats-json", "MODEL"], ["--model"]),
        (
            [
                "run",
                "IN",
                "-o",
                "o.mp4",
                "--model",
                "MODEL",
                "--model-spec",
                "SPEC",
                "--stats-json",
                "SPEC",
            ],
            ["--model-spec"],
        ),
        (["run", "IN", "-o", "o.mp4", "--config", "CFG", "--stats-json", "CFG"], ["--config"]),
        (["bench", "IN", "--config", "CFG", "--json", "CFG"], ["--json", "--config"]),
        (["bench", "IN", "-b", "BG", "--plot", "BG"], ["--plot", "-b"]),
        (["eval", "IN", "--model", "MODEL", "--json", "MODEL"], ["--json", "--model"]),
    ],
    ids=[
        "image-bg",
        "video-bg",
        "dot-slash",
        "symlink",
        "hard-link",
        "matte",
        "folder-picture",
        "folder",
        "stats",
        "privacy",
        "model",
        "model-spec",
        "config",
        "bench-json",
        "bench-plot",
        "eval-json",
    ],
)
def test_a_file_the_run_reads_is_never_an_output(
    argv: list[str],
    words: list[str],
    tiny: Path,
    tmp_path: Path,
    no_work: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = {k: str(v) for k, v in _read_files(tmp_path).items()}
    names["IN"] = str(tiny)
    (tmp_path / "link.webm").symlink_to(names["VID"])
    (tmp_path / "hard.webm").hardlink_to(names["VID"])
    names.update(LINK=str(tmp_path / "link.webm"), HARD=str(tmp_path / "hard.webm"))
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def named(arg: str) -> str:
        if arg.startswith("./"):
            return "./" + Path(names[arg[2:]]).name
        head, _, tail = arg.partition("/")
        return names[head] + ("/" + tail if tail else "") if head in names else arg

    line = refused(capsys, [named(a) for a in argv], *words)
    assert "never overwrites" in line
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_batch_and_the_api_refuse_an_output_onto_a_file_they_read(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import livematte

    files = _read_files(tmp_path)
    with pytest.raises(UserError, match="^The output .* background"):
        livematte.process_video(files["PIC"], files["BG"], background=files["BG"])
    with pytest.raises(UserError, match=r"^The output .*\(config_file "):
        livematte.process_video(tiny, files["CFG"], config_file=files["CFG"])
    # A batch output (OUTDIR/in.mp4) that is a background video of the batch.
    out = tmp_path / "out"
    out.mkdir()
    background = write_clip(out / "in.mp4", frames=2, width=96, height=64, audio=None)
    kept = background.read_bytes()
    with pytest.raises(UserError, match="background"):
        livematte.process_batch([tiny], out, background=background, jobs=1)
    assert main(["batch", str(tiny), "-o", str(out), "-b", str(background)]) == 2
    assert "background" in capsys.readouterr().err
    # ... or of one manifest row.
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"input,output,background\n{tiny},x.mp4,{out / 'x.mp4'}\n")
    (out / "x.mp4").write_bytes(kept)
    assert main(["batch", "-o", str(out), "--manifest", str(manifest)]) == 2
    assert "background" in capsys.readouterr().err
    # ... and a report onto the config file or the background.
    for report, flags in (
        (files["CFG"], ["--config", str(files["CFG"])]),
        (files["BG"], ["-b", str(files["BG"])]),
    ):
        assert main(["batch", str(tiny), "-o", str(out), "--report", str(report), *flags]) == 2
        assert "--report" in capsys.readouterr().err
    with pytest.raises(UserError, match="config_file"):
        livematte.process_batch([tiny], out, config_file=files["CFG"], report=files["CFG"], jobs=1)
    assert background.read_bytes() == kept and (out / "x.mp4").read_bytes() == kept
