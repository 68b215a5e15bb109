"""`livematte batch`: a folder of clips in, complete outputs out, locally or on Ray."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import video_info, write_clip

from livematte.cli import main
from livematte.config import Config
from livematte.errors import UserError
from livematte.run.batch import process_batch
from livematte.run.journal import JOURNAL_NAME
from livematte.run.manifest import plan_clips

SMALL = {"width": 64, "height": 48}


def make_library(root: Path, frames: int = 5) -> Path:
    """Two silent clips (one in a sub-folder), one with audio, a broken file, a note."""
    library = root / "library"
    (library / "week2").mkdir(parents=True)
    write_clip(library / "intro.mp4", frames=frames, audio=None, **SMALL)
    write_clip(library / "week2" / "talk.mkv", frames=frames + 2, audio=None, **SMALL)
    write_clip(library / "voice.mp4", frames=frames, **SMALL)
    (library / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 64)
    (library / "cover.txt").write_text("notes on the clips\n")
    return library


def finals(outdir: Path) -> set[str]:
    """Every file under ``outdir`` but the journal, relative (hidden ones too)."""
    return {
        str(p.relative_to(outdir))
        for p in outdir.rglob("*")
        if p.is_file() and p.name != JOURNAL_NAME
    }


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'livematte[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> dict[str, object]:
    """How process_batch runs the clips: two local processes, or Ray tasks of one CPU."""
    if request.param == "ray":
        request.getfixturevalue("ray_session")
        return {"ray": True, "clip_cpus": 1}
    return {"jobs": 2}


@pytest.mark.slow
def test_batch_writes_every_good_clip_reports_the_rest_and_resumes(
    tmp_path: Path, executor: dict[str, object]
) -> None:
    library = make_library(tmp_path)
    out = tmp_path / "out"
    report_path = tmp_path / "report.json"
    batch = process_batch([library], out, recursive=True, report=report_path, **executor)

    assert batch.exit_code == 1
    assert finals(out) == {"intro.mp4", "voice.mp4", "week2/talk.mp4"}
    for name, source in [
        ("intro.mp4", "intro.mp4"),
        ("voice.mp4", "voice.mp4"),
        ("week2/talk.mp4", "week2/talk.mkv"),
    ]:
        written, original = video_info(out / name), video_info(library / source)
        assert written["frames"] == original["frames"]
        assert (written["width"], written["height"]) == (64, 48)
        assert bool(written["audio_packets"]) == bool(original["audio_packets"])
    assert (
        video_info(out / "voice.mp4")["audio_packets"]
        == video_info(library / "voice.mp4")["audio_packets"]
    )
    entries = {Path(e["input"]).name: e for e in json.loads(report_path.read_text())}
    assert set(entries) == {"intro.mp4", "voice.mp4", "talk.mkv", "broken.mp4", "cover.txt"}
    assert entries["broken.mp4"]["status"] == "failed"
    assert str(library / "broken.mp4") in entries["broken.mp4"]["error"]  # livematte's reason
    assert "\n" not in entries["broken.mp4"]["error"]
    assert entries["cover.txt"]["status"] == "not a video"
    assert entries["talk.mkv"]["status"] == "done"
    assert entries["talk.mkv"]["frames"] == 7
    assert entries["talk.mkv"]["fps"] > 0

    # A rerun skips what is finished (the broken clip is tried, and fails, again).
    again = process_batch([library], out, recursive=True, **executor)
    statuses = {Path(r.input).name: r.status for r in again.results}
    assert statuses == {
        "intro.mp4": "already done",
        "voice.mp4": "already done",
        "talk.mkv": "already done",
        "broken.mp4": "failed",
        "cover.txt": "not a video",
    }
    # A changed setting redoes every clip; a changed input redoes that clip only.
    before = (out / "intro.mp4").stat().st_mtime_ns
    changed = process_batch([library / "intro.mp4"], out, background="#00ff00", **executor)
    assert [r.status for r in changed.results] == ["done"]
    assert (out / "intro.mp4").stat().st_mtime_ns != before
    os.utime(library / "voice.mp4", ns=(time.time_ns(), time.time_ns()))
    touched = process_batch([library / "voice.mp4", library / "intro.mp4"], out, **executor)
    assert [r.status for r in touched.results] == ["done", "done"]  # intro: back to blur
    last = process_batch([library], out, recursive=True, **executor)
    assert {Path(r.input).name: r.status for r in last.results} == statuses
    assert finals(out) == {"intro.mp4", "voice.mp4", "week2/talk.mp4"}


@pytest.mark.slow
def test_cli_batch_exit_codes(tmp_path: Path) -> None:
    library = make_library(tmp_path)
    (library / "broken.mp4").unlink()
    out = tmp_path / "out"
    assert main(["batch", str(library), "-o", str(out), "--jobs", "1", "-q"]) == 0
    assert finals(out) == {"intro.mp4", "voice.mp4"}
    assert main(["batch", str(library), "-o", str(out), "--crf", "99"]) == 2
    assert main(["batch", str(tmp_path / "nowhere"), "-o", str(out)]) == 2
    with pytest.raises(SystemExit) as refused:  # not offered: one matte file for many clips
        main(["batch", str(library), "-o", str(out), "--alpha-out", "a.mkv"])
    assert refused.value.code == 2


def test_ray_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    library = make_library(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    assert main(["batch", str(library), "-o", str(tmp_path / "out"), "--ray"]) == 2
    assert "pip install 'livematte[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or finals(tmp_path / "out") == set()


def test_manifest_sets_each_clips_output_and_settings(tmp_path: Path) -> None:
    library = make_library(tmp_path)
    manifest = tmp_path / "clips.csv"
    manifest.write_text(
        "input,output,background,output.crf,temporal.strength\n"
        "library/intro.mp4,first/intro-green.mkv,#00ff00,28,0.5\n"
        "library/voice.mp4,,transparent,,\n",
        encoding="utf-8",
    )
    plan = plan_clips([library], tmp_path / "out", Config(), manifest=manifest)
    jobs = {job.input.name: job for job in plan.jobs}
    assert jobs["intro.mp4"].output == tmp_path / "out" / "first" / "intro-green.mkv"
    assert jobs["intro.mp4"].config.output.crf == 28
    assert jobs["intro.mp4"].config.temporal.strength == 0.5
    assert jobs["intro.mp4"].config.background.specs == ["#00ff00"]
    # Transparent: ProRes 4444 in .mov keeps the alpha.
    assert jobs["voice.mp4"].output == tmp_path / "out" / "voice.mov"
    assert jobs["broken.mp4"].config.output.crf == Config().output.crf
    assert jobs["intro.mp4"].settings != jobs["broken.mp4"].settings
    assert [p.name for p in plan.not_videos] == ["cover.txt"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"input": "a.mp4", "temporal.strenght": 0.5}', "Unknown setting"),
        ('{"input": "a.mp4", "output.crf": "best"}', "must be an int"),
        ('{"output.crf": 20}', "has no input"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_manifest_mistakes_are_one_sentence(tmp_path: Path, line: str, message: str) -> None:
    write_clip(tmp_path / "a.mp4", frames=1, audio=None, **SMALL)
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=message) as caught:
        plan_clips([], tmp_path / "out", Config(), manifest=manifest)
    assert "\n" not in str(caught.value)
    assert "clips.jsonl line 1" in str(caught.value) or "has no input" in str(caught.value)


def test_two_inputs_onto_one_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_clip(tmp_path / "a" / "clip.mp4", frames=1, audio=None, **SMALL)
    write_clip(tmp_path / "b" / "clip.mov", frames=1, audio=None, **SMALL)
    with pytest.raises(UserError, match="would both be written to"):
        plan_clips([tmp_path / "a", tmp_path / "b"], tmp_path / "out", Config())


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_cleanly_and_the_rerun_finishes(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    for index in range(4):
        write_clip(library / f"clip{index}.mp4", frames=120, audio=None, **SMALL)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "livematte", "batch", str(library), "-o", str(out)]
    process = subprocess.Popen(
        [*command, "--jobs", "1", "--report", str(tmp_path / "first.json")],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:  # stop once the first clip is done and the next is running
        lines.append(line)
        if "done clip" in line:
            break
    # At once, with no sleep for a loaded machine to stretch: the others are still to do.
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + rest
    first = json.loads((tmp_path / "first.json").read_text())
    done = {Path(e["output"]).name for e in first if e["status"] == "done"}
    assert 1 <= len(done) < 4
    assert {e["status"] for e in first} <= {"done", "stopped"}
    assert finals(out) == done  # no partial or hidden file is left
    for name in done:
        assert video_info(out / name)["frames"] == 120

    rerun = subprocess.run(
        [*command, "--report", str(tmp_path / "second.json")], capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    second = {
        Path(e["output"]).name: e["status"]
        for e in json.loads((tmp_path / "second.json").read_text())
    }
    assert second == {
        f"clip{i}.mp4": "already done" if f"clip{i}.mp4" in done else "done" for i in range(4)
    }
    for index in range(4):
        assert video_info(out / f"clip{index}.mp4")["frames"] == 120


# --- usage errors are refused before any clip starts, one sentence, exit 2 -------------------


def one_clip_folder(root: Path) -> Path:
    """A folder with one one-frame clip and a note that is not a video."""
    folder = root / "clips"
    folder.mkdir()
    write_clip(folder / "a.mp4", frames=1, audio=None, **SMALL)
    (folder / "notes.txt").write_text("not a clip", encoding="utf-8")
    return folder


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI, expect exit 2 and return its one-line message."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err, err
    return err


def test_transparent_into_an_mp4_is_refused_naming_ext(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = one_clip_folder(tmp_path)
    out = tmp_path / "out"
    err = refused(
        ["batch", str(clips), "-o", str(out), "--ext", "mp4", "-b", "transparent"], capsys
    )
    assert "--ext mp4" in err and "mov" in err and "webm" in err
    assert "attempt" not in err
    assert not out.exists()


def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    clips = one_clip_folder(tmp_path)
    short = tmp_path / "short.mp4"
    short.write_bytes(b"x")
    with pytest.raises(UserError, match="is an existing file"):
        plan_clips([clips], short, Config())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("outdir", ["/proc/livematte-out", "/proc/self"], ids=["made", "written"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_clip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], outdir: str
) -> None:
    """Under /proc neither a folder nor a file can be made, even by root (the tests run as
    root, whom a chmod'ed folder does not stop): one sentence, exit 2, as `run` says it."""
    clips = one_clip_folder(tmp_path)
    err = refused(["batch", str(clips), "-o", outdir], capsys)
    assert ("cannot be made in /proc" if outdir.endswith("out") else "cannot be written") in err
    assert "choose another -o folder" in err
    assert not Path(outdir).exists() or outdir == "/proc/self"
    assert sorted(p.name for p in clips.iterdir()) == ["a.mp4", "notes.txt"]


def _read_only_bind(folder: Path) -> list[str]:
    """The prefix of a command that runs with ``folder`` bind-mounted read-only over itself,
    in a mount namespace of its own (root, as the tests run, needs no chmod trick)."""
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(folder)]
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
    if probe.returncode == 0 or b"Read-only file system" not in probe.stderr:
        pytest.skip("cannot bind-mount a folder read-only here (needs root and unshare)")
    return prefix


@pytest.mark.slow
def test_batch_and_run_onto_a_read_only_disk_say_so_in_one_sentence(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", frames=1, audio=None, **SMALL)
    disk = tmp_path / "disk"
    (disk / "renders").mkdir(parents=True)
    prefix = _read_only_bind(disk)
    livematte = [sys.executable, "-m", "livematte"]
    for argv, words in (
        (["batch", str(clip), "-o", str(disk / "renders")], "cannot be written"),
        (["batch", str(clip), "-o", str(disk / "new")], f"cannot be made in {disk}"),
        (["run", str(clip), "-o", str(disk / "renders" / "out.mp4")], "is not writable"),
    ):
        done = subprocess.run(
            [*prefix, *livematte, *argv], capture_output=True, text=True, timeout=120
        )
        said = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(said) == 1, done.stderr
        assert words in said[0], said
    assert [p.name for p in disk.rglob("*")] == ["renders"]


def test_the_input_folder_as_output_folder_is_refused(tmp_path: Path) -> None:
    clips = one_clip_folder(tmp_path)
    with pytest.raises(UserError, match="land among the inputs"):
        plan_clips([clips], clips, Config())
    with pytest.raises(UserError, match="land among the inputs"):
        plan_clips([clips], tmp_path / "clips" / ".." / "clips", Config())


@pytest.mark.parametrize("target", ["clips/a.mp4", "clips/notes.txt", "out/a.mp4", "clips.csv"])
def test_a_report_onto_a_file_of_the_batch_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    clips = one_clip_folder(tmp_path)
    manifest = tmp_path / "clips.csv"
    manifest.write_text("input\nclips/a.mp4\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in [clips / "a.mp4", clips / "notes.txt", manifest]}
    argv = ["batch", str(clips), "-o", str(tmp_path / "out"), "--manifest", str(manifest)]
    err = refused([*argv, "--report", str(tmp_path / target)], capsys)
    assert "--report" in err
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "out").exists()


def write_manifest(root: Path, text: str) -> Path:
    manifest = root / "m" / "clips.csv"
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(text, encoding="utf-8")
    return manifest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # An unknown column is refused from the header, even when its cells are empty.
        ("input,output,background,output.crff\na.mp4,,#00ff00,\n", "line 1"),
        ("input,temporal\na.mp4,\n", "Unknown setting 'temporal' in .*line 1"),
        # Inputs and backgrounds are checked before any clip starts.
        ("input\na.mp4\nmissing.mp4\n", "line 3: input .*missing.mp4 does not exist"),
        ("input,background\na.mp4,nowhere.jpg\n", "line 2: Background .*nowhere.jpg"),
        # Batch offers no matte file per clip, from the manifest or the command line.
        ("input,output.alpha_out\na.mp4,\n", "line 1: output.alpha_out is refused"),
        ("input,output\na.mp4,../escape.mp4\n", "line 2: Output .*outside the output folder"),
        ("input,output\na.mp4,/tmp/escape.mp4\n", "line 2: Output .*outside the output folder"),
        ("input,temporal.strength\na.mp4,5\n", r"temporal.strength .*fix .*clips.csv line 2\."),
        ("input,output,background\na.mp4,a.mp4,transparent\n", "line 2: output a.mp4 cannot"),
    ],
)
def test_manifest_mistakes_name_the_manifest_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    manifest = write_manifest(tmp_path, text)
    write_clip(manifest.parent / "a.mp4", frames=1, audio=None, **SMALL)
    with pytest.raises(UserError, match=message) as caught:
        plan_clips([], tmp_path / "out", Config(), manifest=manifest)
    assert str(manifest) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "escape.mp4").exists()


def test_manifest_backgrounds_are_read_from_the_manifests_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from livematte.io.images import write_png

    manifest = write_manifest(tmp_path, "input,background\na.mp4,office.png\nb.mp4,#00b140\n")
    write_clip(manifest.parent / "a.mp4", frames=1, audio=None, **SMALL)
    write_clip(manifest.parent / "b.mp4", frames=1, audio=None, **SMALL)
    write_png(manifest.parent / "office.png", np.zeros((8, 8, 3), np.uint8))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    plan = plan_clips([], tmp_path / "out", Config(), manifest=Path("../m/clips.csv"))
    specs = {job.input.name: job.config.background.specs for job in plan.jobs}
    assert Path(specs["a.mp4"][0]).resolve() == manifest.parent / "office.png"
    assert specs["b.mp4"] == ["#00b140"]


@pytest.mark.slow
def test_report_paths_are_absolute_for_every_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_clip_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    process_batch(["clips"], "out", jobs=1, report="report.json", config=Config(quiet=True))
    entries = json.loads((tmp_path / "report.json").read_text())
    assert {e["status"] for e in entries} == {"done", "not a video"}
    assert {e["input"] for e in entries} == {
        str(tmp_path / "clips" / "a.mp4"),
        str(tmp_path / "clips" / "notes.txt"),
    }
    process_batch(["clips"], "out", jobs=1, report="report.json", config=Config(quiet=True))
    again = json.loads((tmp_path / "report.json").read_text())
    assert [e["status"] for e in again] == ["already done", "not a video"]
    assert all(Path(e["input"]).is_absolute() for e in again)


@pytest.mark.parametrize("cpus", ["-1", "0"])
def test_clip_cpus_not_above_zero_is_refused_before_ray_starts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cpus: str,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # refused before Ray is even imported
    argv = ["batch", str(tmp_path), "-o", str(tmp_path / "out"), "--ray", "--clip-cpus", cpus]
    assert main(argv) == 2
    assert "--clip-cpus) must be a number of CPUs more than 0" in capsys.readouterr().err
    with pytest.raises(UserError, match=r"^clip_cpus \(--clip-cpus\) must be .* more than 0"):
        process_batch([tmp_path], tmp_path / "out", ray=True, clip_cpus=float(cpus))


def test_an_unreachable_ray_cluster_is_refused_in_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ray.init retries an address nothing listens at for minutes; the batch gives up at once."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'livematte[ray]')")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as if no Ray ran here yet
    library = make_library(tmp_path)
    out = tmp_path / "out"
    with hang_guard(120):  # ray.init itself would wait for minutes
        assert main(["batch", str(library), "-o", str(out), "--ray", "127.0.0.1:1"]) == 2
        err = capsys.readouterr().err
        assert "Cannot reach the Ray cluster at 127.0.0.1:1" in err and "ray start --head" in err
        monkeypatch.setenv("RAY_ADDRESS", "nohost.invalid:6379")
        with pytest.raises(UserError, match="Cannot reach the Ray cluster at nohost.invalid:6379"):
            process_batch(library, out, ray=True)
        with pytest.raises(UserError, match="is not HOST:PORT"):
            process_batch(library, out, ray="nohost")
    assert not out.exists()


@contextlib.contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail what is still running after ``seconds`` (generous: it guards against a hang,
    and no speed is asserted)."""

    def hung(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_flags_for_the_other_executor_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jobs sizes the local pool and --clip-cpus the Ray tasks; neither is ignored."""
    monkeypatch.setitem(sys.modules, "ray", None)
    out = str(tmp_path / "out")
    assert main(["batch", str(tmp_path), "-o", out, "--clip-cpus", "1"]) == 2
    assert "--clip-cpus) sets each Ray task's CPUs; add ray=True (--ray)" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "-o", out, "--ray", "--jobs", "2"]) == 2
    assert "jobs (--jobs) sets the local processes" in capsys.readouterr().err
    with pytest.raises(UserError, match=r"^clip_cpus \(--clip-cpus\) sets each Ray task"):
        process_batch([tmp_path], out, clip_cpus=1)
    with pytest.raises(UserError, match=r"^jobs \(--jobs\) sets the local processes"):
        process_batch([tmp_path], out, ray="head:6379", jobs=2)
    assert not Path(out).exists()


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"jobs": "2"}, "jobs (--jobs)"),
        ({"jobs": 0}, "jobs (--jobs)"),
        ({"jobs": True}, "jobs (--jobs)"),
        ({"ray": True, "clip_cpus": "1"}, "clip_cpus (--clip-cpus)"),
        ({"ray": True, "clip_cpus": float("nan")}, "clip_cpus (--clip-cpus)"),
        ({"ext": "avi"}, "ext (--ext)"),
        ({"ext": 3}, "ext (--ext)"),
        ({"ray": None}, "ray (--ray)"),
        ({"ray": 1}, "ray (--ray)"),
    ],
)
def test_api_arguments_of_the_wrong_kind_are_refused_by_name(
    tmp_path: Path, arguments: dict[str, object], named: str
) -> None:
    """Checked before the inputs are looked at: the missing input is not what is reported."""
    with pytest.raises(UserError) as refused:
        process_batch([tmp_path / "nowhere"], tmp_path / "out", **arguments)  # type: ignore[arg-type]
    assert str(refused.value).startswith(named) and str(refused.value).count(".") <= 2


def test_one_input_may_be_given_alone_as_str_or_path(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames=2, audio=None, **SMALL)
    quiet = Config(quiet=True)
    batch = process_batch(str(clip), tmp_path / "out", jobs=1, config=quiet)
    assert [(r.status, Path(r.output).name) for r in batch.results] == [("done", "clip.mp4")]
    again = process_batch(clip, tmp_path / "out", jobs=1, config=quiet)
    assert [r.status for r in again.results] == ["already done"]


@pytest.mark.slow
def test_a_local_ray_batch_prints_only_livematte_lines(tmp_path: Path) -> None:
    """Ray's own log lines (its token-authentication notice) stay out of the output."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'livematte[ray]')")
    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames=2, audio=None, **SMALL)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    done = subprocess.run(
        [sys.executable, "-m", "livematte", "batch", str(clip), "-o", str(tmp_path / "out")]
        + ["--ray", "--clip-cpus", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("livematte: ") for line in lines), done.stderr


def test_progress_and_report_use_the_names_given_not_symlink_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = write_clip(store / "7f3a9c.mp4", frames=3, audio=None, **SMALL)
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "lecture.mp4").symlink_to(target)
    (clips / "notes.txt").write_text("not a clip")
    report = tmp_path / "report.json"
    process_batch([clips], tmp_path / "out", jobs=1, report=report)
    err = capsys.readouterr().err
    assert "done lecture.mp4 ->" in err and "7f3a9c" not in err
    entries = {Path(e["input"]).name: e for e in json.loads(report.read_text())}
    assert entries["lecture.mp4"]["input"] == str(clips / "lecture.mp4")
    assert entries["lecture.mp4"]["status"] == "done"
    assert entries["notes.txt"]["status"] == "not a video"
    process_batch([clips], tmp_path / "out", jobs=1, report=report)
    err = capsys.readouterr().err
    assert "7f3a9c" not in err
    entries = {Path(e["input"]).name: e for e in json.loads(report.read_text())}
    assert entries["lecture.mp4"]["status"] == "already done"
    assert "1 already done" in err and "1 not a video" in err


def test_a_batch_refuses_an_output_folder_another_batch_is_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from livematte.run.batch import claim_outdir

    folder = one_clip_folder(tmp_path)
    out = tmp_path / "out"
    with claim_outdir(out.resolve()):  # another batch, as far as the lock can tell
        assert main(["batch", str(folder), "-o", str(out)]) == 2
        said = capsys.readouterr().err.strip().splitlines()
        assert len(said) == 1 and "Another livematte run" in said[0], said
        assert not any(name.endswith(".mp4") for name in finals(out))
    assert main(["batch", str(folder), "-o", str(out), "-q"]) == 0  # free again
    assert finals(out) == {"a.mp4"}


@pytest.mark.slow
def test_a_clip_another_run_is_writing_fails_with_that_reason(tmp_path: Path) -> None:
    from livematte.io.open import claim_run_outputs

    folder = one_clip_folder(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with claim_run_outputs(str(out / "a.mp4")):  # `livematte run ... -o out/a.mp4`, live
        batch = process_batch([folder], out, jobs=1, config=Config(quiet=True))
    (result,) = [r for r in batch.results if r.status != "not a video"]
    assert result.status == "failed" and "Another livematte run" in result.error
    assert not (out / "a.mp4").exists()
