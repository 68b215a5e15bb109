"""GPU check: CUDA and TensorRT really run livematte's models, and how fast, in one go.

Makes a fresh virtual environment with ``.[gpu,dev]`` (so the check sees what a user's
``pip install 'livematte[gpu]'`` gives), then, inside it:

1. stops at once, exit status 2, when onnxruntime has no CUDA provider or CUDA does not
   load (the reason is livematte's own one-sentence diagnosis);
2. builds an ONNX network with Robust Video Matting's signature and architecture and
   random weights (:func:`livematte.rvm_sized.rvm_sized_model`);
3. times it, with I/O binding (the recurrent states stay on the GPU), on CUDA (fp32) and
   TensorRT (fp32 and fp16) at 720p, 1080p and 4K, checking after every load that the
   session's first provider is the one asked for; TensorRT's engines go to a fresh cache,
   so the first frame of each size includes the build, and a second start of TensorRT
   shows whether the cached engine is reused;
4. times every built-in model (``selfie``, ``pose``, and ``modnet`` / ``object`` where the
   package has them) on CUDA and TensorRT at 720p, checking that each reports the provider
   asked for;
5. runs a whole ``livematte run`` of a clip on CUDA, with the RVM-sized network and with the
   default ``--model auto``, and checks each summary names ``CUDAExecutionProvider``.

One table is printed, and also written to ``$OUT/gpu_check.txt`` (with the raw figures
in ``$OUT/gpu_check.json``) when ``OUT`` is set. Exit status 0 when every case ran on
the provider it asked for, 1 when one did not, 2 when no CUDA provider loads.

    python3 -m livematte.gpu_check                        # fresh venv from PyPI
    python3 -m livematte.gpu_check --pip-args "--no-index --find-links wheels/"
    python3 -m livematte.gpu_check --no-venv              # this interpreter as it is

(``python3 benchmarks/gpu_check.py`` in a checkout is the same.) It lives in the package, not
beside the benchmarks, because its tests and the fresh venv's run import it.

The whole check keeps to ``--time-limit`` seconds (default 470, for an 8-minute slot):
cases that would start after it are listed as skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path
from typing import Any

# The checkout this package sits in (src/livematte/..): what the fresh venv installs.
ROOT = Path(__file__).resolve().parents[2]
RESOLUTIONS = {"720p": (720, 1280), "1080p": (1080, 1920), "4k": (2160, 3840)}
# (device, precision) in the order they run: TensorRT builds take longest, so they come last.
CASES = [("cuda", "auto"), ("tensorrt", "auto"), ("tensorrt", "fp16")]
PROVIDER = {
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
NO_CUDA = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default="", help="where to make the venv (default: a temp dir)")
    parser.add_argument(
        "--no-venv", action="store_true", help="run in this interpreter, installing nothing"
    )
    parser.add_argument(
        "--pip-args", default="", help="extra pip install arguments, e.g. a local wheel folder"
    )
    parser.add_argument(
        "--tensorrt-spec",
        default="tensorrt-cu13-libs>=10,<11",
        help="TensorRT libraries to add to the venv, matching onnxruntime-gpu's build "
        "('' for none)",
    )
    parser.add_argument("--frames", type=int, default=30, help="timed frames per case")
    parser.add_argument(
        "--resolutions",
        default=",".join(RESOLUTIONS),
        type=_resolutions,
        help=f"comma-separated, from {', '.join(RESOLUTIONS)}",
    )
    parser.add_argument("--time-limit", type=float, default=470.0, help="seconds for it all")
    parser.add_argument(
        "--cpu-dry-run",
        action="store_true",
        help="every case on the CPU: checks this script's own plumbing on a machine without a GPU",
    )
    # Internal: the measuring half, run inside the venv.
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--results", default="", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be 1 or more")
    return args


def _resolutions(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RESOLUTIONS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(RESOLUTIONS)}")
    return names


# --- the table ---------------------------------------------------------------------------

COLUMNS = [
    ("case", "case", "{}"),
    ("resolution", "size", "{}"),
    ("provider", "provider that ran", "{}"),
    ("ok", "ok", "{}"),
    ("load_s", "load s", "{:.1f}"),
    ("first_s", "1st frame s", "{:.2f}"),
    ("median_ms", "median ms", "{:.2f}"),
    ("p90_ms", "p90 ms", "{:.2f}"),
    ("fps", "fps", "{:.1f}"),
]


def format_table(results: dict[str, Any]) -> str:
    """One row per case and size; '-' where a figure was not measured."""
    header = [title for _, title, _ in COLUMNS]
    body = []
    for row in results.get("rows", []):
        cells = []
        for key, _, fmt in COLUMNS:
            value = row.get(key)
            if key == "ok":
                value = "yes" if value else "NO"
            cells.append("-" if value is None else fmt.format(value))
        body.append(cells)
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    rule = "-" * len("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    title = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    out = [f"livematte GPU check: {results.get('environment', '')}".rstrip(), title, rule, *lines]
    for row in results.get("rows", []):
        if row.get("note"):
            out.append(f"  {row['case']} {row.get('resolution', '')}: {row['note']}")
    if results.get("error"):
        out.append(f"FAILED: {results['error']}")
    return "\n".join(out)


def exit_status(results: dict[str, Any]) -> int:
    if results.get("no_cuda"):
        return NO_CUDA
    rows = results.get("rows", [])
    return 0 if rows and all(r.get("ok") for r in rows if not r.get("skipped")) else 1


# --- the outer half: venv, then the inner half inside it -----------------------------------


def make_venv(folder: Path, pip_args: str, tensorrt_spec: str) -> Path:
    if not (ROOT / "pyproject.toml").exists():
        raise SystemExit(
            f"gpu_check: {ROOT} is not a livematte checkout, so there is nothing to install "
            "into a fresh venv; run it from a checkout, or pass --no-venv"
        )
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", *shlex.split(pip_args)]
    subprocess.run([*pip, "-e", f"{ROOT}[gpu,dev]"], check=True)
    # Without them the TensorRT rows say why (livematte's diagnosis); CUDA still runs.
    if tensorrt_spec and subprocess.run([*pip, tensorrt_spec], check=False).returncode:
        print(f"gpu_check: could not install {tensorrt_spec}", file=sys.stderr)
    return python


def driver_problem() -> str | None:
    """No NVIDIA driver means no CUDA: say so before spending minutes on a venv."""
    driver = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(driver)
    except OSError:
        return f"no NVIDIA driver here ({driver} does not load), so CUDA cannot run"
    return None


def outer(args: argparse.Namespace) -> int:
    deadline = time.time() + args.time_limit
    problem = None if args.cpu_dry_run else driver_problem()
    if problem:
        failed = {"rows": [], "no_cuda": True, "error": f"no CUDA provider loads: {problem}"}
        report(failed)
        return exit_status(failed)
    with tempfile.TemporaryDirectory(prefix="livematte-gpu-check-") as tmp:
        if args.no_venv:
            python = Path(sys.executable)
        else:
            folder = Path(args.venv or Path(tmp) / "venv")
            python = make_venv(folder, args.pip_args, args.tensorrt_spec)
        results_path = Path(tmp) / "results.json"
        command = [
            str(python),
            "-m",
            "livematte.gpu_check",
            "--inner",
            "--results",
            str(results_path),
            "--deadline",
            str(deadline),
            "--frames",
            str(args.frames),
            "--resolutions",
            ",".join(args.resolutions),
            *(["--cpu-dry-run"] if args.cpu_dry_run else []),
        ]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(command, timeout=max(1.0, deadline - time.time() + 20), check=False)
        results: dict[str, Any] = {"rows": [], "error": "the measuring process left no results"}
        if results_path.exists():
            results = json.loads(results_path.read_text())
    report(results)
    return exit_status(results)


def report(results: dict[str, Any]) -> None:
    table = format_table(results)
    print(table)
    out = os.environ.get("OUT")
    if out:
        Path(out, "gpu_check.txt").write_text(table + "\n", encoding="utf-8")
        Path(out, "gpu_check.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


# --- the inner half: measuring -------------------------------------------------------------


class Recorder:
    """Results written after every case, so a run cut short still leaves its figures."""

    def __init__(self, path: str) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {"rows": []}

    def save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self.data, indent=2), encoding="utf-8")

    def row(self, **fields: Any) -> None:
        self.data["rows"].append(fields)
        self.save()


def cuda_problem(model: str) -> str | None:
    """Why CUDA cannot run ``model`` here (livematte's own diagnosis), or None."""
    from livematte.errors import UserError
    from livematte.matting.providers import open_session

    try:
        open_session(model, "cuda")
    except UserError as error:
        return str(error)
    return None


def time_infer(matter: Any, frame: Any, count: int) -> list[float]:
    """Seconds for each of ``count`` calls of ``matter.infer(frame)``."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        matter.infer(frame)
        times.append(time.perf_counter() - start)
    return times


def timings(matter: Any, frame: Any, frames: int) -> dict[str, float]:
    """First frame (TensorRT builds this size's engine there), then median and p90 ms."""
    first = time_infer(matter, frame, 1)[0]
    times = time_infer(matter, frame, frames)
    median = statistics.median(times)
    p90 = sorted(times)[max(0, math.ceil(0.9 * len(times)) - 1)]
    return {"first_s": first, "median_ms": median * 1e3, "p90_ms": p90 * 1e3, "fps": 1 / median}


def measure_case(rec: Recorder, model: str, device: str, precision: str, args) -> None:
    import numpy as np

    from livematte.errors import UserError
    from livematte.matting.onnx_matter import load_onnx_matter

    case = f"{device} {'fp16' if precision == 'fp16' else 'fp32'}"
    start = time.perf_counter()
    try:
        matter = load_onnx_matter(model, device=device, precision=precision)
    except UserError as error:
        rec.row(case=case, ok=False, note=str(error))
        return
    load_s: float | None = time.perf_counter() - start
    active = matter.session.get_providers()[0]
    for name in args.resolutions:
        if time.time() > args.deadline:
            rec.row(case=case, resolution=name, ok=False, skipped=True, note="skipped: time")
            continue
        h, w = RESOLUTIONS[name]
        frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
        rec.row(
            case=case,
            resolution=name,
            provider=active,
            ok=active == PROVIDER[device] and matter.provider == active,
            load_s=load_s,
            **timings(matter, frame, args.frames),
        )
        load_s = None  # the session loads once per case


# Built-in models, by --model name; a name this package does not know is skipped.
BUILT_IN = ("selfie", "pose", "modnet", "object")


def measure_builtin(rec: Recorder, name: str, device: str, args) -> None:
    """A built-in model on ``device`` at 720p: load time, median ms, the provider held."""
    import numpy as np

    from livematte.config import Device, ModelConfig
    from livematte.errors import UserError
    from livematte.matting import create_matter

    case = f"built-in {name} {device}"
    if time.time() > args.deadline:
        rec.row(case=case, ok=False, skipped=True, note="skipped: time")
        return
    start = time.perf_counter()
    try:
        matter = create_matter(ModelConfig(name=name, device=typing.cast(Device, device)))
    except UserError as error:
        known = not str(error).startswith("Unknown model")
        rec.row(case=case, ok=not known, skipped=not known, note=str(error))
        return
    load_s = time.perf_counter() - start
    h, w = RESOLUTIONS["720p"]
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    size = matter.input_size(w, h)
    if size is not None:
        import cv2

        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    rec.row(
        case=case,
        resolution="720p",
        provider=matter.provider,
        ok=matter.provider == PROVIDER[device],
        load_s=load_s,
        **timings(matter, frame, args.frames),
    )
    matter.close()


def cached_restart(rec: Recorder, model: str, args) -> None:
    """TensorRT again on the first size: the cached engine should make this quick."""
    import numpy as np

    from livematte.matting.onnx_matter import load_onnx_matter

    if time.time() > args.deadline:
        rec.row(case="tensorrt fp32 restart", ok=False, skipped=True, note="skipped: time")
        return
    h, w = RESOLUTIONS[args.resolutions[0]]
    start = time.perf_counter()
    matter = load_onnx_matter(model, device="tensorrt")
    load_s = time.perf_counter() - start
    first = time_infer(matter, np.zeros((h, w, 3), np.uint8), 1)[0]
    rec.row(
        case="tensorrt fp32 restart",
        resolution=args.resolutions[0],
        provider=matter.provider,
        ok=matter.provider == PROVIDER["tensorrt"],
        load_s=load_s,
        first_s=first,
        note="engine from the cache: load + 1st frame should be far below the first start's",
    )


def full_run(rec: Recorder, model: str, folder: Path, device: str, args) -> None:
    """``livematte run`` of a 1080p clip on ``device``; its summary must name its provider."""
    import av
    import numpy as np

    if time.time() > args.deadline:
        rec.row(case="livematte run", ok=False, skipped=True, note="skipped: time")
        return
    clip, out = folder / "clip.mp4", folder / f"out-{Path(model).stem}.mp4"
    if not clip.exists():
        with av.open(str(clip), "w") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
            rng = np.random.default_rng(1)
            for _ in range(2 * args.frames):
                rgb = rng.integers(0, 256, (1080, 1920, 3), np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    command = [sys.executable, "-m", "livematte", "run", str(clip), "-o", str(out)]
    command += ["--model", model, "--device", device]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = next((ln for ln in done.stderr.splitlines() if " frames to " in ln), "")
    fps = None
    if " at " in summary:
        fps = float(summary.split(" at ", 1)[1].split(" fps", 1)[0])
    ok = done.returncode == 0 and f"on {device} ({PROVIDER[device]})" in summary
    rec.row(
        case=f"livematte run {Path(model).name} {device}",
        resolution="1080p",
        provider=PROVIDER[device] if ok else None,
        ok=ok,
        fps=fps,
        note=summary.removeprefix("livematte: ") or done.stderr.strip()[-300:],
    )


def inner(args: argparse.Namespace) -> int:
    rec = Recorder(args.results)
    import onnxruntime as ort

    rec.data["environment"] = (
        f"Python {sys.version.split()[0]}, onnxruntime {ort.__version__}, "
        f"providers {', '.join(ort.get_available_providers())}"
    )
    import onnx

    from livematte.rvm_sized import rvm_sized_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # A fresh engine cache: the first start's figures include TensorRT's builds.
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        model = str(folder / "rvm_sized.onnx")
        onnx.save(rvm_sized_model(), model)
        problem = None if args.cpu_dry_run else cuda_problem(model)
        if problem:
            rec.data.update(no_cuda=True, error=f"no CUDA provider loads: {problem}")
            rec.save()
            if not args.results:
                report(rec.data)
            return NO_CUDA
        if args.cpu_dry_run:
            measure_case(rec, model, "cpu", "auto", args)
            measure_builtin(rec, "selfie", "cpu", args)
            full_run(rec, model, folder, "cpu", args)
        else:
            for device, precision in CASES:
                measure_case(rec, model, device, precision, args)
            cached_restart(rec, model, args)
            for device in ("cuda", "tensorrt"):
                for name in BUILT_IN:
                    measure_builtin(rec, name, device, args)
            full_run(rec, model, folder, "cuda", args)
            full_run(rec, "auto", folder, "cuda", args)
    if not args.results:
        report(rec.data)
    return exit_status(rec.data)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.inner:
        args.deadline = args.deadline or time.time() + args.time_limit
        return inner(args)
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
