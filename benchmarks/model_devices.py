"""Model-only speed per device: ONNX models through OnnxMatter, or the built-in model files.

Several devices (``--device cpu,openvino``) are timed in alternating rounds, so a shared
machine's load changes touch every device alike and the ratios stay fair.

ONNX models (the default) are timed through ``matter.infer(frame)`` alone (resize,
normalise, session run, alpha/fgr out: no decoding, refinement, compositing or encoding),
at 720p and 1080p:

- ``rvm-sized``: :func:`livematte.rvm_sized.rvm_sized_model`, a network with Robust Video
  Matting's exact signature and roughly its cost, random weights (only the speed means
  anything);
- the real segmenters in ../shared/data/models (MediaPipe selfie, SINet), when present;
- or any ``--model PATH.onnx`` you give (with ``--model-type``/``--model-spec`` if needed).

``--builtin`` times instead the bare network of every ``.onnx`` file in the package (its
input tensor already filled: one frame's inference), one thread unless ``--threads``, as a
Markdown table, so a device's gain on the default models can be read directly.

    python benchmarks/model_devices.py                     # CPU, all of the above
    python benchmarks/model_devices.py --device cuda --frames 100
    .venv-openvino/bin/python benchmarks/model_devices.py --device cpu,openvino
    .venv-openvino/bin/python benchmarks/model_devices.py --builtin --device cpu,openvino
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from livematte.config import DEVICES, PRECISIONS
from livematte.gpu_check import time_infer
from livematte.matting.onnx_matter import load_onnx_matter

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data"
RESOLUTIONS = {"720p": (720, 1280), "1080p": (1080, 1920)}


def test_frame(h: int, w: int) -> np.ndarray:
    """A real DAVIS frame scaled to h x w where the data is present, else noise."""
    import cv2

    frames = sorted((DATA / "frames_gt" / "davis2016_hike" / "images").glob("*.jpg"))
    if frames:
        rgb = cv2.cvtColor(cv2.imread(str(frames[0])), cv2.COLOR_BGR2RGB)
        return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)


def measure(matter, frame: np.ndarray, count: int) -> list[float]:
    time_infer(matter, frame, 3)  # warm-up
    return time_infer(matter, frame, count)


def models(args: argparse.Namespace, folder: Path) -> list[tuple[str, str, dict]]:
    found: list[tuple[str, str, dict]] = []
    if args.model:
        found.append(
            (
                Path(args.model).name,
                args.model,
                {"model_type": args.model_type, "spec_path": args.model_spec},
            )
        )
        return found
    import onnx

    from livematte.rvm_sized import rvm_sized_model

    rvm = folder / "rvm_sized.onnx"
    onnx.save(rvm_sized_model(), str(rvm))
    found.append(("rvm-sized (random weights)", str(rvm), {}))
    for name in ("mediapipe_selfie_segmentation.onnx", "sinet_softmax.onnx"):
        path = DATA / "models" / name
        if path.exists():
            found.append((name, str(path), {}))
    return found


def parse_devices(text: str) -> list[str]:
    """``cpu,openvino`` -> ["cpu", "openvino"]: several are timed in turn, in one run."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    unknown = [d for d in devices if d not in DEVICES]
    if not devices or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(DEVICES)} (comma-separated)")
    return devices


def timed_rounds(matters: list, frame: np.ndarray, count: int, rounds: int) -> list[list]:
    """Each matter's frame times, ``count`` in all, measured in alternating rounds."""
    times: list[list[float]] = [[] for _ in matters]
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for index, matter in enumerate(matters):
            times[index] += measure(matter, frame, per_round)
    return times


def onnx_models(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, extra in models(args, Path(tmp)):
            matters = [
                load_onnx_matter(
                    path,
                    device=device,
                    threads=args.threads,
                    downsample_ratio=args.downsample_ratio,
                    precision=args.precision,
                    **extra,
                )
                for device in args.device
            ]
            print(label)
            for matter in matters:
                print(f"  {matter.info}")
            for res, (h, w) in RESOLUTIONS.items():
                frames = args.frames or 20
                all_times = timed_rounds(matters, test_frame(h, w), frames, args.rounds)
                base = statistics.median(all_times[0])
                for matter, times in zip(matters, all_times, strict=True):
                    median = statistics.median(times)
                    p90 = sorted(times)[int(0.9 * (len(times) - 1))]
                    ratio = (
                        f"  x{base / median:4.2f} vs {matters[0].provider}"
                        if matter is not matters[0]
                        else ""
                    )
                    print(
                        f"  {res:>5} {w}x{h} {matter.provider:<26}: {1 / median:6.1f} fps  "
                        f"median {median * 1e3:7.1f} ms  p90 {p90 * 1e3:7.1f} ms{ratio}"
                    )


def builtin_models(args: argparse.Namespace) -> None:
    from livematte.matting.builtin import BuiltinNet, models_folder

    devices = args.device
    runs = max(1, (args.frames or 120) // args.rounds)
    files = sorted(path.name for path in models_folder().glob("*.onnx"))
    print(f"| model | {' | '.join(f'{d} ms' for d in devices)} | speed-up of {devices[-1]} |")
    print(f"|---|{'---|' * len(devices)}---|")
    for name in files:
        try:
            nets = {device: BuiltinNet(name, device, args.threads or 1) for device in devices}
        except ValueError:  # a dynamic input size (MODNet): timed through OnnxMatter
            print(f"| {name} | dynamic input size: time it with --model |")
            continue
        rng = np.random.default_rng(0)
        for net in nets.values():
            net.input[:] = rng.random(net.input.shape, np.float32)
            net.run()  # warm-up: first-run allocations and compilation
        times: dict[str, list[float]] = {device: [] for device in devices}
        for _ in range(args.rounds):
            for device, net in nets.items():
                for _ in range(runs):
                    start = time.perf_counter()
                    net.run()
                    times[device].append(time.perf_counter() - start)
        medians = [statistics.median(times[d]) * 1e3 for d in devices]
        cells = " | ".join(f"{m:.2f}" for m in medians)
        print(f"| {name} | {cells} | x{medians[0] / medians[-1]:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device",
        default=["cpu"],
        type=parse_devices,
        help="device, or several to compare in one run (e.g. cpu,openvino)",
    )
    parser.add_argument(
        "--builtin", action="store_true", help="the package's model files, bare networks"
    )
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op threads (default: cores - 1; 1 with --builtin)",
    )
    parser.add_argument(
        "--frames", type=int, default=0, help="timed frames per case (default 20; 120 --builtin)"
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    parser.add_argument("--model", help="measure this .onnx instead of the default set")
    parser.add_argument("--model-type")
    parser.add_argument("--model-spec")
    parser.add_argument("--downsample-ratio", type=float, default=None)
    args = parser.parse_args(argv)
    if args.builtin:
        builtin_models(args)
    else:
        onnx_models(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
