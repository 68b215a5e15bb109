"""``livematte bench`` under two (or more) installs, interleaved, so a machine whose speed
drifts (a shared 2-core box drifts 20-30% between runs) hits every install alike.

Each round runs every install once on every (clip, background) case, in turn; the table
gives each case's median end-to-end fps per install over the rounds, and the ratio of each
install to the first. An install is a Python interpreter with livematte installed (a venv's
``bin/python``), named ``label=path``:

    python benchmarks/interleaved_bench.py \\
        --install before=/tmp/before/bin/python --install after=.venv/bin/python \\
        --clip ../shared/data/videos/pixabay_doctor_26732.mp4 \\
        --clip ../shared/data/videos/sam2_juggle.mp4 --background blur \\
        --background ../shared/data/backgrounds/saxon-switzerland-539418_1280.jpg --rounds 3

Extra ``livematte bench`` flags for every run go after ``--``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from private_home import use_private_home  # the script's own folder is on sys.path


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", action="append", required=True, help="LABEL=PYTHON")
    parser.add_argument("--clip", action="append", required=True)
    parser.add_argument("--background", action="append", default=None)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--rounds", type=int, default=3)
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    return parser.parse_args(argv), extra


def bench_once(python: str, clip: str, background: str, model: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "bench.json"
        command = [python, "-m", "livematte", "bench", clip, "-b", background, "--model", model]
        command += ["--json", str(report), "-q", *extra]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
        return json.loads(report.read_text())


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(argv)
    use_private_home()  # the runs it starts keep away from the user's folders
    installs = [item.split("=", 1) for item in args.install]
    backgrounds = args.background or ["blur"]
    cases = [(clip, bg) for clip in args.clip for bg in backgrounds]
    fps: dict[tuple[str, str, str], list[float]] = {}
    seen: dict[tuple[str, str, str], str] = {}
    for round_number in range(args.rounds):
        for clip, background in cases:
            order = installs if round_number % 2 == 0 else installs[::-1]
            for label, python in order:
                result = bench_once(python, clip, background, args.model, extra)
                fps.setdefault((clip, background, label), []).append(result["fps"])
                seen[(clip, background, label)] = f"{result['model']} on {result['provider']}"
    labels = [label for label, _ in installs]
    print(f"| clip | background | {' | '.join(labels)} | ratio to {labels[0]} |")
    print(f"|---|---|{'---|' * len(labels)}---|")
    for clip, background in cases:
        medians = [statistics.median(fps[(clip, background, label)]) for label in labels]
        cells = [
            f"{m:.1f} fps ({seen[(clip, background, label)]})"
            for m, label in zip(medians, labels, strict=True)
        ]
        ratios = ", ".join(f"{m / medians[0]:.2f}" for m in medians[1:])
        print(f"| {Path(clip).name} | {Path(background).name} | {' | '.join(cells)} | {ratios} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
