"""An ONNX network with Robust Video Matting's signature and about its cost, random weights.

The GPU check and the models-per-device benchmark time RVM-class inference without
shipping RVM's weights: this graph has RVM's exact inputs and outputs and roughly the shape
and cost of rvm_mobilenetv3 (a MobileNetV3-Large encoder on the downsampled frame, LR-ASPP,
four ConvGRU decoder stages whose states are fed back, and a guided-filter upsampler at full
resolution). Only its speed means anything. Building it needs the ``onnx`` package (in the
``dev`` extra), imported on first use.
"""

from __future__ import annotations

import numpy as np


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
