"""Model-only throughput of ONNX models through livematte's OnnxMatter, at 720p and 1080p.

Times ``matter.infer(frame)`` alone (resize, normalise, session run, alpha/fgr out):
no decoding, refinement, compositing or encoding. Models measured:

- ``rvm-sized``: a network built here with onnx.helper that has Robust Video Matting's
  exact signature and roughly its shape and cost (MobileNetV3-Large encoder on the
  downsampled frame, LR-ASPP, four ConvGRU decoder stages whose states are fed back,
  and a guided-filter upsampler at full resolution). Its weights are random: only
  the speed means anything.
- the real segmenters in ../shared/data/models (MediaPipe selfie, SINet), when present;
- any ``--model PATH.onnx`` you give (with ``--model-type``/``--model-spec`` if needed).

    python benchmarks/onnx_throughput.py                     # CPU, all of the above
    python benchmarks/onnx_throughput.py --device cuda --frames 100
    .venv-openvino/bin/python benchmarks/onnx_throughput.py --device cpu,openvino
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from livematte.config import DEVICES, PRECISIONS
from livematte.matting.onnx_matter import load_onnx_matter

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data"
RESOLUTIONS = {"720p": (720, 1280), "1080p": (1080, 1920)}


# --- an RVM-sized network with RVM's signature ----------------------------------------


class Graph:
    """Just enough of a graph builder to write a MobileNetV3-style network by hand."""

    def __init__(self, seed: int = 0) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.inits: list = []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: np.ndarray) -> str:
        name = self.name("c")
        self.inits.append(self.numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        out = self.name(kind.lower())
        self.nodes.append(self.helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int = 1, s: int = 1, g: int = 1, act=None):
        fan_in = cin // g * k * k
        w = self.rng.normal(0, 1 / np.sqrt(fan_in), (cout, cin // g, k, k)).astype(np.float32)
        b = np.zeros(cout, np.float32)
        y = self.op(
            "Conv",
            [x, self.const(w), self.const(b)],
            kernel_shape=[k, k],
            strides=[s, s],
            pads=[k // 2] * 4,
            group=g,
        )
        return self.op(act, [y]) if act else y

    def block(self, x: str, cin: int, exp: int, cout: int, k: int, s: int, act: str) -> str:
        """MobileNetV3 inverted residual: expand 1x1, depthwise kxk, project 1x1."""
        y = self.conv(x, cin, exp, act=act) if exp != cin else x
        y = self.conv(y, exp, exp, k, s, g=exp, act=act)
        y = self.conv(y, exp, cout)
        return self.op("Add", [x, y]) if s == 1 and cin == cout else y

    def resize_like(self, x: str, like: str) -> str:
        """Resize x to like's height and width, keeping x's batch and channels."""
        head = self.op("Slice", [self.op("Shape", [x]), self.ints([0]), self.ints([2])])
        tail = self.op("Slice", [self.op("Shape", [like]), self.ints([2]), self.ints([4])])
        size = self.op("Concat", [head, tail], axis=0)
        return self.op("Resize", [x, "", "", size], mode="linear")

    def ints(self, values: list[int]) -> str:
        return self.const(np.array(values, np.int64))

    def gru(self, x: str, h_in: str, ch: int) -> tuple[str, str]:
        """ConvGRU as in RVM; the [1,1,1,1] zero state broadcasts on the first frame."""
        h = self.op("Add", [h_in, self.op("Mul", [x, self.const(np.zeros(1, np.float32))])])
        xh = self.op("Concat", [x, h], axis=1)
        rz = self.conv(xh, 2 * ch, 2 * ch, 3, act="Sigmoid")
        r, z = self.split(rz, [ch, ch])
        c = self.conv(
            self.op("Concat", [x, self.op("Mul", [r, h])], axis=1), 2 * ch, ch, 3, act="Tanh"
        )
        one_minus_z = self.op("Sub", [self.const(np.ones(1, np.float32)), z])
        h_out = self.op("Add", [self.op("Mul", [one_minus_z, h]), self.op("Mul", [z, c])])
        return h_out, h_out

    def split(self, x: str, sizes: list[int]) -> list[str]:
        outs = [self.name("split") for _ in sizes]
        sizes_name = self.const(np.array(sizes, np.int64))
        self.nodes.append(self.helper.make_node("Split", [x, sizes_name], outs, axis=1))
        return outs

    def decoder_stage(self, x, skip, src_small, h_in, cin, cskip, cout):
        """Upsample, join the skip and the downsampled image, then a half-channel GRU."""
        up = self.resize_like(x, skip)
        img = self.resize_like(src_small, skip)
        y = self.conv(
            self.op("Concat", [up, skip, img], axis=1), cin + cskip + 3, cout, 3, act="Relu"
        )
        half = cout // 2
        a, b = self.split(y, [half, half])
        b, h_out = self.gru(b, h_in, half)
        return self.op("Concat", [a, b], axis=1), h_out


# (expansion, out channels, kernel, stride, activation) of MobileNetV3-Large after its stem
MOBILENET_V3 = [
    (16, 16, 3, 1, "Relu"),
    (64, 24, 3, 2, "Relu"),
    (72, 24, 3, 1, "Relu"),
    (72, 40, 5, 2, "Relu"),
    (120, 40, 5, 1, "Relu"),
    (120, 40, 5, 1, "Relu"),
    (240, 80, 3, 2, "HardSwish"),
    (200, 80, 3, 1, "HardSwish"),
    (184, 80, 3, 1, "HardSwish"),
    (184, 80, 3, 1, "HardSwish"),
    (480, 112, 3, 1, "HardSwish"),
    (672, 112, 3, 1, "HardSwish"),
    (672, 160, 5, 1, "HardSwish"),
    (960, 160, 5, 1, "HardSwish"),
    (960, 160, 5, 1, "HardSwish"),
]
FEATURES = {2: "f2", 5: "f3"}  # block index after which the 1/4 and 1/8 features are taken


def rvm_sized_model():
    """An ONNX model with RVM's inputs/outputs and roughly rvm_mobilenetv3's cost."""
    from onnx import TensorProto, checker, helper

    g = Graph()
    scales = g.op(
        "Concat",
        [g.const(np.ones(2, np.float32)), "downsample_ratio", "downsample_ratio"],
        axis=0,
    )
    small = g.op("Resize", ["src", "", scales], mode="linear")
    f1 = g.conv(small, 3, 16, 3, 2, act="HardSwish")
    x, cin, feats = f1, 16, {}
    for i, (exp, cout, k, s, act) in enumerate(MOBILENET_V3):
        x = g.block(x, cin, exp, cout, k, s, act)
        cin = cout
        if i in FEATURES:
            feats[FEATURES[i]] = x
    f4 = g.conv(x, 160, 960, act="HardSwish")
    aspp = g.conv(f4, 960, 128, act="Relu")  # LR-ASPP, without its pooled branch
    a, b = g.split(aspp, [64, 64])
    b, r4o = g.gru(b, "r4i", 64)
    x = g.op("Concat", [a, b], axis=1)
    x, r3o = g.decoder_stage(x, feats["f3"], small, "r3i", 128, 40, 80)
    x, r2o = g.decoder_stage(x, feats["f2"], small, "r2i", 80, 24, 40)
    x, r1o = g.decoder_stage(x, f1, small, "r1i", 40, 16, 32)
    x = g.conv(g.op("Concat", [g.resize_like(x, small), small], axis=1), 35, 16, 3, act="Relu")
    hidden = g.conv(x, 16, 16, 3, act="Relu")
    low = g.conv(hidden, 16, 4)  # fgr residual (3) + pha (1) at the downsampled size
    # Deep guided filter: per-pixel linear coefficients at low res, applied at full res.
    coeff = g.conv(g.conv(g.op("Concat", [low, hidden], axis=1), 20, 16, act="Relu"), 16, 8)
    a_lr, b_lr = g.split(coeff, [4, 4])
    a_hr, b_hr = g.resize_like(a_lr, "src"), g.resize_like(b_lr, "src")
    src4 = g.op("Concat", ["src", g.op("ReduceMean", ["src"], axes=[1], keepdims=1)], axis=1)
    out = g.op("Add", [g.op("Mul", [a_hr, src4]), b_hr])
    fgr_res, pha = g.split(out, [3, 1])
    fgr = g.op(
        "Clip", [g.op("Add", [fgr_res, "src"]), g.const(np.float32(0)), g.const(np.float32(1))]
    )
    pha = g.op("Clip", [pha, g.const(np.float32(0)), g.const(np.float32(1))])
    renames = {fgr: "fgr", pha: "pha", r1o: "r1o", r2o: "r2o", r3o: "r3o", r4o: "r4o"}
    g.nodes += [helper.make_node("Identity", [k], [v]) for k, v in renames.items()]
    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("src", f, [1, 3, "h", "w"])]
    inputs += [
        helper.make_tensor_value_info(f"r{i}i", f, [1, f"c{i}", f"a{i}", f"b{i}"])
        for i in range(1, 5)
    ]
    inputs.append(helper.make_tensor_value_info("downsample_ratio", f, [1]))
    outputs = [
        helper.make_tensor_value_info("fgr", f, [1, 3, "h", "w"]),
        helper.make_tensor_value_info("pha", f, [1, 1, "h", "w"]),
    ]
    outputs += [
        helper.make_tensor_value_info(f"r{i}o", f, [1, f"co{i}", f"ao{i}", f"bo{i}"])
        for i in range(1, 5)
    ]
    graph = helper.make_graph(g.nodes, "rvm_sized", inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    checker.check_model(model)
    return model


# --- measuring ---------------------------------------------------------------------------


def test_frame(h: int, w: int) -> np.ndarray:
    """A real DAVIS frame scaled to h x w where the data is present, else noise."""
    import cv2

    frames = sorted((DATA / "frames_gt" / "davis2016_hike" / "images").glob("*.jpg"))
    if frames:
        rgb = cv2.cvtColor(cv2.imread(str(frames[0])), cv2.COLOR_BGR2RGB)
        return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)


def time_infer(matter, frame: np.ndarray, count: int) -> list[float]:
    """Seconds for each of ``count`` calls of ``matter.infer(frame)``."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        matter.infer(frame)
        times.append(time.perf_counter() - start)
    return times


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


def timed_rounds(matters: list, frame: np.ndarray, count: int, rounds: int = 4) -> list[list]:
    """Each matter's frame times, measured in alternating rounds so that a shared
    machine's load changes touch every device alike (ratios stay fair)."""
    times: list[list[float]] = [[] for _ in matters]
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for index, matter in enumerate(matters):
            times[index] += measure(matter, frame, per_round)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device",
        default=["cpu"],
        type=parse_devices,
        help="device, or several to compare in one run (e.g. cpu,openvino)",
    )
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument(
        "--threads", type=int, default=None, help="intra-op threads (default: cores - 1)"
    )
    parser.add_argument("--frames", type=int, default=20, help="timed frames per case")
    parser.add_argument("--model", help="measure this .onnx instead of the built-in set")
    parser.add_argument("--model-type")
    parser.add_argument("--model-spec")
    parser.add_argument("--downsample-ratio", type=float, default=None)
    args = parser.parse_args()
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
                all_times = timed_rounds(matters, test_frame(h, w), args.frames)
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


if __name__ == "__main__":
    main()
