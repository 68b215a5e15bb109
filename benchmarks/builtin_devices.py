"""Each built-in model file on two or more devices, timed in alternating rounds.

Times the bare network (its input tensor already filled: the work of one frame's inference)
for every ``.onnx`` file in the package, so a device's gain on the default models can be
read directly. Run it in the environment whose onnxruntime has the devices, e.g.

    .venv-openvino/bin/python benchmarks/builtin_devices.py --device cpu,openvino
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from livematte.matting.builtin import BuiltinNet, models_folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu,openvino", help="comma-separated devices")
    parser.add_argument("--runs", type=int, default=30, help="inferences per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    devices = args.device.split(",")
    files = sorted(path.name for path in models_folder().glob("*.onnx"))
    print(f"| model | {' | '.join(f'{d} ms' for d in devices)} | speed-up of {devices[-1]} |")
    print(f"|---|{'---|' * len(devices)}---|")
    for name in files:
        try:
            nets = {device: BuiltinNet(name, device, args.threads) for device in devices}
        except ValueError:  # a dynamic input size (MODNet): timed by onnx_throughput.py
            print(f"| {name} | dynamic input size: see onnx_throughput.py |")
            continue
        rng = np.random.default_rng(0)
        for net in nets.values():
            net.input[:] = rng.random(net.input.shape, np.float32)
            net.run()  # warm-up: first-run allocations and compilation
        times: dict[str, list[float]] = {device: [] for device in devices}
        for _ in range(args.rounds):
            for device, net in nets.items():
                for _ in range(args.runs):
                    start = time.perf_counter()
                    net.run()
                    times[device].append(time.perf_counter() - start)
        medians = [statistics.median(times[d]) * 1e3 for d in devices]
        cells = " | ".join(f"{m:.2f}" for m in medians)
        print(f"| {name} | {cells} | x{medians[0] / medians[-1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
