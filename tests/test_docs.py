"""The commands the README and the docs show are livematte's own: a doc example that breaks
fails here, and so in CI.

- Every ``livematte ...`` line of a fenced ``sh`` block (continuation lines joined, comments
  dropped), the systemd unit's ``ExecStart`` line, and every inline `livematte COMMAND INPUT
  ...` span is parsed by livematte's real parser (:func:`livematte.cli.build_parser`): an
  unknown flag, a bad choice or a missing argument fails. ``--help`` listings parse.
- Every ``python`` block compiles, names only what ``livematte`` exports, and its calls of
  ``process_video`` / ``process_batch`` bind to their signatures.
- Every ``benchmarks/NAME.py`` the pages name exists, and every flag a shown benchmark
  command passes is one that script defines (scripts gone from the tree are cited as
  ``git show COMMIT:benchmarks/NAME.py``, which is not checked).
- The examples in ``RUN_FOR_REAL`` (slow) run for real, in-process, on small clips, pictures
  and a manifest made here, each in a fresh folder; every file they name as an output must
  then exist.
- The site builds with ``mkdocs build --strict`` (links and anchors resolve), where the
  ``docs`` extra is installed.

Examples that need a camera, a virtual camera, a display, a GPU, a Ray cluster, model files
of the user's own, or ../shared/data are parse-checked only.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shlex
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from conftest import write_clip

import livematte
from livematte.cli import build_parser, main
from livematte.demo import astronaut

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = ("run", "demo", "eval", "bench", "batch", "doctor")


@dataclass(frozen=True)
class Example:
    page: str
    text: str

    def __str__(self) -> str:
        return f"{self.page}: {self.text}"


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, indented ones (inside lists) included."""
    blocks, language, lines = [], None, []
    for line in text.splitlines():
        stripped = line.strip()
        if language is None and stripped.startswith("```"):
            language, lines = stripped[3:].strip(), []
        elif language is not None and stripped.startswith("```"):
            blocks.append((language, "\n".join(lines)))
            language = None
        elif language is not None:
            lines.append(stripped)
    return blocks


def shell_lines(body: str) -> list[str]:
    return [line.strip() for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def livematte_examples() -> list[Example]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for language, body in fenced_blocks(text):
            for line in shell_lines(body):
                if language == "sh" and line.startswith("livematte "):
                    found.append(Example(page.name, line))
                elif language == "ini" and line.startswith("ExecStart="):
                    command = line.removeprefix("ExecStart=")
                    found.append(
                        Example(page.name, re.sub(r"^\S*/livematte ", "livematte ", command))
                    )
        prose = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")
        for span in re.findall(r"`(livematte [^`]+)`", prose):
            words = span.split()
            complete = len(words) > 2 and not words[2].startswith("-") or words[1:] == ["doctor"]
            if words[1] in COMMANDS and complete and "|" not in span:
                found.append(Example(page.name, span))
    return found


def parse_problem(command: str) -> str | None:
    """Why livematte's parser refuses ``command`` (its error line), or None."""
    argv = shlex.split(command, comments=True)[1:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:
        if exit_.code:
            return f"exit status {exit_.code}"
    return None


EXAMPLES = livematte_examples()


def test_the_pages_that_show_commands_are_read():
    pages = {example.page for example in EXAMPLES}
    assert {"README.md", "live.md", "files.md", "batch.md", "models.md", "speed.md"} <= pages


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_every_livematte_command_shown_parses(example: Example, capsys):
    problem = parse_problem(example.text)
    assert problem is None, f"{example}: {problem}: {capsys.readouterr().err.strip()}"


@pytest.mark.parametrize(
    "command",
    [
        "livematte run clip.mp4 --backgroud office.jpg",  # a mistyped flag
        "livematte run clip.mp4 --quality superb",  # not a choice
        "livematte bench --json b.json",  # no input
        "livematte eval clips/ --preview",  # a flag eval does not offer
    ],
)
def test_the_check_refuses_a_broken_example(command: str, capsys):
    assert parse_problem(command) is not None
    assert "error:" in capsys.readouterr().err


def test_help_listings_parse():
    assert parse_problem("livematte run --help") is None


# --- Python examples ------------------------------------------------------------------------


def python_blocks() -> list[Example]:
    return [
        Example(page.name, body)
        for page in PAGES
        for language, body in fenced_blocks(page.read_text())
        if language == "python"
    ]


@pytest.mark.parametrize("example", python_blocks(), ids=lambda e: e.page)
def test_python_examples_use_the_api_as_it_is(example: Example):
    tree = ast.parse(example.text)  # a syntax error fails here
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "livematte"
        ):
            assert node.attr in livematte.__all__, f"{example.page}: livematte.{node.attr}"
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("process_video", "process_batch"):
                args = [ast.literal_eval(a) for a in node.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
                inspect.signature(getattr(livematte, name)).bind(*args, **kwargs)


# --- benchmarks ------------------------------------------------------------------------------


def benchmark_commands() -> list[Example]:
    """Shown benchmark runs: sh block lines and inline spans that start with a python."""
    found = []
    for page in PAGES:
        text = page.read_text()
        lines = [
            line
            for language, body in fenced_blocks(text)
            if language == "sh"
            for line in shell_lines(body)
        ]
        prose = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")
        lines += re.findall(r"`((?:\S*/)?(?:python3? )?benchmarks/[^`]+)`", prose)
        shown = (line for line in lines if re.search(r"(^| )benchmarks/[a-z_0-9]+\.py", line))
        found += [Example(page.name, line) for line in shown]
    return found


def test_every_benchmark_named_exists():
    for page in PAGES:
        text = page.read_text()
        for name in re.findall(r"(?<![:\w/])benchmarks/([a-z_0-9]+\.py)", text):
            assert (ROOT / "benchmarks" / name).is_file(), f"{page.name}: benchmarks/{name}"


@pytest.mark.parametrize("example", benchmark_commands(), ids=str)
def test_every_benchmark_flag_shown_is_the_scripts(example: Example):
    words = shlex.split(example.text, comments=True)
    script = next(w for w in words if w.startswith("benchmarks/"))
    source = (ROOT / script).read_text()
    # A wrapper over a module of the package (gpu_check.py): that module's flags.
    for module in re.findall(r"from livematte\.(\w+) import main", source):
        source += (ROOT / "src" / "livematte" / f"{module}.py").read_text()
    args = words[words.index(script) + 1 :]
    own = args[: args.index("--")] if "--" in args else args
    for flag in (w.split("=", 1)[0] for w in own if w.startswith("--")):
        assert f'"{flag}"' in source, f"{example}: {script} has no {flag}"
    if "--" in args:  # what follows goes to livematte bench (interleaved_bench), else run
        extra = shlex.join(args[args.index("--") + 1 :])
        command = "bench" if script.endswith("interleaved_bench.py") else "run"
        assert parse_problem(f"livematte {command} clip.mp4 {extra}") is None, str(example)


def test_the_gpu_check_commands_shown_parse():
    """``python -m livematte.gpu_check ...``: its own parser, as for the benchmarks."""
    from livematte import gpu_check

    shown = [
        Example(page.name, span)
        for page in PAGES
        for span in re.findall(
            r"`python3? -m livematte\.gpu_check([^`]*)`", page.read_text().replace("\n", " ")
        )
    ]
    assert shown, "the Devices page shows how to start the GPU check"
    for example in shown:
        gpu_check.parse_args(shlex.split(example.text))  # a bad flag exits with status 2


# --- run for real ----------------------------------------------------------------------------

# Self-contained examples, as the pages show them; the workspace below holds their inputs.
RUN_FOR_REAL = [
    "livematte run talk.mp4 -o talk-office.mp4 --background office.jpg",
    "livematte run talk.mp4 -o talk-blur.mp4",
    "livematte run talk.mp4 -o talk-green.mp4 --background '#00b140'",
    "livematte run talk.mp4 -o talk-alpha.mov --background transparent",
    "livematte run talk.mp4 -o talk-alpha.webm --background transparent",
    "livematte run talk.mp4 -o frames/ --background transparent",
    "livematte run talk.mp4 -o null --alpha-out matte/",
    "livematte run talk.mp4 -o out.mp4 --model modnet",
    "livematte run photos/ -o cutouts/ --model object -b transparent",
    "livematte run photos/ -o listing/ --model object -b '#ffffff'",
    "livematte batch a.mp4 b.mov c.mkv -o out/ --jobs 1 --report report.json",
    "livematte batch -o out/ --manifest clips.csv",
    "livematte batch shop/ -o listing/ --model object -b '#ffffff'",
    "livematte bench clip.mp4 --plot bench.png --json bench.json",
]
OUTPUT_FLAGS = {"-o", "--output", "--alpha-out", "--report", "--json", "--plot"}


def picture(path: Path, width: int, height: int) -> Path:
    """The demo's astronaut, cropped and scaled: a person (or a thing) on a background."""
    rgb = cv2.resize(astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Every input the examples above name, small."""
    folder = tmp_path_factory.mktemp("docs-examples")
    for name in ("talk.mp4", "clip.mp4", "intro.mp4", "a.mp4", "b.mov", "c.mkv"):
        write_clip(folder / name, frames=8, width=256, height=144)
    picture(folder / "office.jpg", 320, 180)
    for sub in ("photos", "shop"):
        (folder / sub).mkdir()
        picture(folder / sub / "one.jpg", 160, 120)
        picture(folder / sub / "two.png", 120, 160)
    write_clip(folder / "shop" / "turntable.mp4", frames=4, width=160, height=96)
    # The manifest is the one batch.md shows.
    csv = next(
        body
        for language, body in fenced_blocks((ROOT / "docs" / "batch.md").read_text())
        if language == "csv"
    )
    (folder / "clips.csv").write_text(csv + "\n")
    return folder


def test_the_examples_run_for_real_are_shown():
    shown = [shlex.split(example.text, comments=True) for example in EXAMPLES]
    assert [command for command in RUN_FOR_REAL if shlex.split(command) not in shown] == []


@pytest.mark.slow
@pytest.mark.parametrize("command", RUN_FOR_REAL)
def test_self_contained_examples_run(command: str, workspace: Path, tmp_path, monkeypatch):
    folder = tmp_path / "work"
    shutil.copytree(workspace, folder)
    monkeypatch.chdir(folder)
    argv = shlex.split(command)[1:]
    assert main(argv) == 0, command
    outputs = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word in OUTPUT_FLAGS]
    for output in (o for o in outputs if o != "null"):
        path = folder / output
        assert path.exists() and (path.is_file() or any(path.iterdir())), f"{command}: {output}"


def slug(heading: str) -> str:
    """A heading's anchor as the site makes it (Python-Markdown's toc slugify)."""
    text = unicodedata.normalize("NFKD", heading.replace("`", "")).encode("ascii", "ignore")
    words = re.sub(r"[^\w\s-]", "", text.decode()).strip().lower()
    return re.sub(r"[-\s]+", "-", words)


def test_the_readmes_links_lead_somewhere():
    """The README is read on its own (GitHub, PyPI), outside the site's strict build."""
    readme = ROOT / "README.md"
    links = re.findall(r"\]\(([^)\s]+)\)", readme.read_text())
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (ROOT / path) if path else readme
        assert target.exists(), f"README.md links to {link}, which is not there"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), flags=re.M)
            assert anchor in {slug(h) for h in headings}, f"README.md: no #{anchor} in {path}"


# --- the site --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="the docs extra is absent")
def test_the_site_builds_strictly(tmp_path):
    """Every link and anchor between the pages resolves, and the API page finds its names."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "process_video" in (tmp_path / "api" / "index.html").read_text()
