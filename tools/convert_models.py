"""Convert MediaPipe's four built-in .tflite models to the ONNX files in src/livematte/models.

Why a converter of our own: the four models use a dozen plain TFLite ops, plus MediaPipe's
custom ``Convolution2DTransposeBias`` (the selfie models) and sparse, densified-at-load fp16
weights (the pose detector), which the general converters trip on. Reading the flatbuffer
and writing each op with ``onnx.helper`` keeps the weights bit-exact and the graph small.

What the graphs look like: the boundary is the .tflite's (input ``input``, NHWC float32 of
the model's size; outputs in the .tflite's order, named by its tensor names, same shapes),
while inside every 4-D activation is NCHW (one Transpose after the input, one before each
4-D output), the layout onnxruntime's CPU kernels are fast in. fp16 weights stay fp16 in the
file behind a ``Cast`` to float32 (exact; onnxruntime folds it when the session opens), so
the files are about the size of the .tflite ones.

Run by hand, in a throwaway venv (not a run-time or test dependency of livematte), from the
repository root::

    python3.11 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install onnx==1.22.0 numpy==2.2.6 tflite==2.18.0 \\
        flatbuffers==25.12.19 protobuf==7.36.2 ml_dtypes==0.7.0
    pip download --no-deps mediapipe==0.10.21 --python-version 3.11 \\
        --platform manylinux_2_28_x86_64 --only-binary=:all: -d /tmp/mpwheel
    /tmp/convert-venv/bin/python tools/convert_models.py \\
        /tmp/mpwheel/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl

It checks the wheel's and each .tflite's sha256, writes the four .onnx files (byte for byte
the same on every run: fixed opset, IR version and producer, no timestamps) and updates
src/livematte/models/SHA256SUMS (lines for other files are kept). ``--check`` converts into
memory and only compares against the committed files.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# (path inside the wheel, its sha256, the .onnx file written)
MODELS = (
    (
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        "selfie_segmentation.onnx",
    ),
    (
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        "selfie_segmentation_landscape.onnx",
    ),
    (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        "pose_detection.onnx",
    ),
    (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        "pose_landmark_full.onnx",
    ),
)
OPSET = 17
IR_VERSION = 8  # opset 17's; loads in onnxruntime 1.13 and later
PRODUCER = ("livematte tools/convert_models.py", "1")
MODELS_DIR = Path(__file__).resolve().parent.parent / "src" / "livematte" / "models"

_BUILTIN = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT8: np.int8,
}
_NHWC_TO_NCHW = (0, 3, 1, 2)
_TFLITE_C_SAME, _TFLITE_C_VALID = 1, 2  # TfLitePadding (the C API's enum, not the schema's)
_NCHW_TO_NHWC = (0, 2, 3, 1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _options(op: tflite.Operator, cls: type) -> object:
    """The op's builtin options table read as ``cls``."""
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _index_vector(kind: int, table: object) -> np.ndarray:
    cls = {
        tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
        tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
        tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
    }[kind]
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return vec.ValuesAsNumpy().astype(np.int64)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: tflite.SparsityParameters):
    """The dense array of a sparse constant (TFLite's format: one level per traversed
    dimension, dense or CSR, block dimensions after the original ones), as TFLite's DENSIFY
    op builds it at load time. Levels are expanded breadth-first over all paths at once, in
    the depth-first order the stored values follow."""
    rank = len(shape)
    order = sparsity.TraversalOrderAsNumpy()
    block_map = sparsity.BlockMapAsNumpy() if sparsity.BlockMapLength() else np.zeros(0, int)
    levels = [sparsity.DimMetadata(i) for i in range(sparsity.DimMetadataLength())]
    prev = np.zeros(1, np.int64)  # each path's position at the previous level
    idx = np.zeros((1, 0), np.int64)  # each path's index at every level so far
    for meta in levels:
        if meta.Format() == tflite.DimensionType.DENSE:
            size = meta.DenseSize()
            steps = np.tile(np.arange(size), len(prev))
            prev = np.repeat(prev, size) * size + steps
            idx = np.concatenate([np.repeat(idx, size, axis=0), steps[:, None]], axis=1)
        else:
            segs = _index_vector(meta.ArraySegmentsType(), meta.ArraySegments())
            cols = _index_vector(meta.ArrayIndicesType(), meta.ArrayIndices())
            counts = segs[prev + 1] - segs[prev]
            starts = np.repeat(segs[prev] - np.cumsum(counts) + counts, counts)
            prev = starts + np.arange(counts.sum())
            idx = np.concatenate([np.repeat(idx, counts, axis=0), cols[prev][:, None]], axis=1)
    orig = np.zeros((len(prev), rank), np.int64)
    for level in range(rank):
        orig[:, order[level]] = idx[:, level]
    for level in range(rank, len(levels)):
        block = order[level] - rank
        dim = block_map[block]
        orig[:, dim] = orig[:, dim] * levels[rank + block].DenseSize() + idx[:, level]
    dense = np.zeros(shape, values.dtype)
    if len(values) != len(orig):
        raise ValueError(f"sparse tensor holds {len(values)} values for {len(orig)} positions")
    dense[tuple(orig.T)] = values
    return dense


def sanitise(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass
class _Value:
    """An activation: its ONNX name and whether it is held NCHW (4-D ones inside the graph)."""

    name: str
    nchw: bool


class Converter:
    """One .tflite subgraph written as an ONNX graph, op by op."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("only single-subgraph models are converted")
        self.graph = self.model.Subgraphs(0)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.consts: dict[int, np.ndarray] = {}  # constant tensors, TFLite layout
        self.values: dict[int, _Value] = {}
        self._relayout: dict[int, str] = {}  # activation -> its one copy in the other layout
        self._clip6: tuple[str, str] | None = None
        self._counter = 0

    # -- tensors --------------------------------------------------------------------------

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.graph.Tensors(index).ShapeAsNumpy())

    def _buffer(self, index: int) -> np.ndarray | None:
        tensor = self.graph.Tensors(index)
        buf = self.model.Buffers(tensor.Buffer())
        if buf.Offset() > 1:
            raw = self.data[buf.Offset() : buf.Offset() + buf.Size()]
        elif buf.DataLength():
            raw = buf.DataAsNumpy().tobytes()
        else:
            return None
        values = np.frombuffer(raw, _DTYPES[tensor.Type()])
        if tensor.Sparsity() is not None:
            return values  # densified by the DENSIFY op that reads it
        return values.reshape(self.shape(index))

    def const(self, index: int) -> np.ndarray | None:
        if index not in self.consts:
            array = self._buffer(index)
            if array is None:
                return None
            self.consts[index] = array
        return self.consts[index]

    def fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def initializer(self, array: np.ndarray, hint: str) -> str:
        """A constant input; fp16 arrays stay fp16 in the file behind an exact Cast."""
        name = self.fresh(hint)
        if array.dtype == np.float16:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name + "_f16"))
            self.node("Cast", [name + "_f16"], [name], to=TensorProto.FLOAT)
        else:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        name = f"{op_type}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def act(self, index: int, nchw: bool) -> str:
        """The activation ``index`` in the asked layout (a Transpose where it differs)."""
        value = self.values[index]
        if len(self.shape(index)) != 4 or value.nchw == nchw:
            return value.name
        if index not in self._relayout:
            out = self.fresh(f"t{index}_{'nchw' if nchw else 'nhwc'}")
            perm = _NHWC_TO_NCHW if nchw else _NCHW_TO_NHWC
            self.node("Transpose", [value.name], [out], perm=perm)
            self._relayout[index] = out
        return self._relayout[index]

    def operand(self, index: int, nchw: bool) -> str:
        """An elementwise operand: an activation, or a constant laid out to broadcast."""
        array = self.const(index)
        if array is None:
            return self.act(index, nchw)
        if nchw and array.ndim == 4:
            array = array.transpose(_NHWC_TO_NCHW)
        elif nchw and array.ndim == 1 and array.size > 1:
            array = array.reshape(-1, 1, 1)
        return self.initializer(array, f"c{index}")

    def output(self, index: int, nchw: bool) -> str:
        name = f"t{index}"
        self.values[index] = _Value(name, nchw and len(self.shape(index)) == 4)
        return name

    def fused(self, op_type, inputs, index: int, activation: int, nchw=True, **attrs) -> None:
        """``op_type`` writing activation ``index``, then its fused activation (if any)."""
        out = self.output(index, nchw)
        if activation == tflite.ActivationFunctionType.NONE:
            self.node(op_type, inputs, [out], **attrs)
            return
        pre = self.fresh(f"t{index}_pre")
        self.node(op_type, inputs, [pre], **attrs)
        if activation == tflite.ActivationFunctionType.RELU:
            self.node("Relu", [pre], [out])
        elif activation == tflite.ActivationFunctionType.RELU6:
            if self._clip6 is None:
                self._clip6 = (
                    self.initializer(np.array(0.0, np.float32), "zero"),
                    self.initializer(np.array(6.0, np.float32), "six"),
                )
            self.node("Clip", [pre, *self._clip6], [out])
        else:
            raise ValueError(f"fused activation {activation} not handled")

    # -- ops ------------------------------------------------------------------------------

    @staticmethod
    def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
        """TFLite's SAME padding: output ceil(size / stride), the odd pixel after."""
        out = -(-size // stride)
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        return total // 2, total - total // 2

    def pads(self, padding: int, hw: tuple[int, int], kernel, stride, dilation=(1, 1)):
        if padding == tflite.Padding.VALID:
            return [0, 0, 0, 0]
        (t, b), (left, r) = (
            self.same_pads(hw[i], kernel[i], stride[i], dilation[i]) for i in range(2)
        )
        return [t, left, b, r]

    def conv(self, op, ins, out, depthwise: bool) -> None:
        cls = tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions
        opts = _options(op, cls)
        weight = self.const(ins[1])
        if weight is None:
            raise ValueError("convolution weights must be constant")
        _, in_h, in_w, in_c = self.shape(ins[0])
        if depthwise:  # [1, kh, kw, in_c * multiplier] -> [out_c, 1, kh, kw]
            weight = weight.transpose(3, 0, 1, 2)
            group = in_c
        else:  # OHWI -> OIHW
            weight = weight.transpose(0, 3, 1, 2)
            group = 1
        kernel = weight.shape[2:]
        stride = (opts.StrideH(), opts.StrideW())
        dilation = (opts.DilationHFactor(), opts.DilationWFactor())
        inputs = [self.act(ins[0], True), self.initializer(weight, f"w{ins[1]}")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.initializer(self.const(ins[2]), f"b{ins[2]}"))
        self.fused(
            "Conv",
            inputs,
            out,
            opts.FusedActivationFunction(),
            kernel_shape=list(kernel),
            strides=list(stride),
            dilations=list(dilation),
            pads=self.pads(opts.Padding(), (in_h, in_w), kernel, stride, dilation),
            group=group,
        )

    def transpose_conv_bias(self, op, ins, out) -> None:
        """MediaPipe's Convolution2DTransposeBias: TFLite's TRANSPOSE_CONV (weights OHWI, SAME
        padding cropping floor(total / 2) before) plus a per-channel bias. Its options are the
        raw TfLiteTransposeConvParams: int32 padding, stride_width, stride_height."""
        padding, stride_w, stride_h = np.frombuffer(op.CustomOptionsAsNumpy().tobytes()[:12], "<i4")
        weight = self.const(ins[1])  # [out_c, kh, kw, in_c] -> [in_c, out_c, kh, kw]
        _, in_h, in_w, _ = self.shape(ins[0])
        _, kh, kw, _ = weight.shape
        pads = [0, 0, 0, 0]
        if padding == _TFLITE_C_SAME:
            total_h = max(0, kh - (in_h - 1) % stride_h - 1)
            total_w = max(0, kw - (in_w - 1) % stride_w - 1)
            pads = [total_h // 2, total_w // 2, total_h - total_h // 2, total_w - total_w // 2]
        elif padding != _TFLITE_C_VALID:
            raise ValueError(f"Convolution2DTransposeBias padding {padding} not handled")
        self.node(
            "ConvTranspose",
            [
                self.act(ins[0], True),
                self.initializer(weight.transpose(3, 0, 1, 2), f"w{ins[1]}"),
                self.initializer(self.const(ins[2]), f"b{ins[2]}"),
            ],
            [self.output(out, True)],
            kernel_shape=[kh, kw],
            strides=[int(stride_h), int(stride_w)],
            pads=pads,
        )
        if self.shape(out)[1:3] != (
            stride_h * (in_h - 1) + kh - pads[0] - pads[2],
            stride_w * (in_w - 1) + kw - pads[1] - pads[3],
        ):
            raise ValueError("Convolution2DTransposeBias output size does not match")

    def pool(self, op, ins, out, op_type: str) -> None:
        opts = _options(op, tflite.Pool2DOptions)
        _, in_h, in_w, _ = self.shape(ins[0])
        kernel = (opts.FilterHeight(), opts.FilterWidth())
        stride = (opts.StrideH(), opts.StrideW())
        x = self.act(ins[0], True)
        activation = opts.FusedActivationFunction()
        if op_type == "AveragePool" and kernel == (in_h, in_w) and self.shape(out)[1:3] == (1, 1):
            self.fused("GlobalAveragePool", [x], out, activation)
            return
        attrs = {"count_include_pad": 0} if op_type == "AveragePool" else {}
        self.fused(
            op_type,
            [x],
            out,
            activation,
            kernel_shape=list(kernel),
            strides=list(stride),
            pads=self.pads(opts.Padding(), (in_h, in_w), kernel, stride),
            **attrs,
        )

    def elementwise(self, op, ins, out, op_type: str, cls) -> None:
        nchw = any(self.values.get(i, _Value("", False)).nchw for i in ins)
        a, b = (self.operand(i, nchw) for i in ins)
        activation = _options(op, cls).FusedActivationFunction()
        self.fused(op_type, [a, b], out, activation, nchw=nchw)

    def convert_op(self, op: tflite.Operator) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        kind = code.CustomCode().decode() if code.CustomCode() else _BUILTIN[builtin]
        ins = [int(i) for i in op.InputsAsNumpy()]
        (out,) = (int(i) for i in op.OutputsAsNumpy())
        if kind == "DEQUANTIZE" and self.const(ins[0]) is not None:
            source = self.graph.Tensors(ins[0])
            if source.Type() != tflite.TensorType.FLOAT16:
                raise ValueError("only fp16 DEQUANTIZE of constants is handled")
            self.consts[out] = self.consts[ins[0]]  # stays fp16 until written (then a Cast)
        elif kind == "DENSIFY":
            source = self.graph.Tensors(ins[0])
            dense = densify(self.const(ins[0]), self.shape(ins[0]), source.Sparsity())
            self.consts[out] = dense
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            self.conv(op, ins, out, depthwise=kind == "DEPTHWISE_CONV_2D")
        elif kind == "Convolution2DTransposeBias":
            self.transpose_conv_bias(op, ins, out)
        elif kind == "ADD":
            self.elementwise(op, ins, out, "Add", tflite.AddOptions)
        elif kind == "MUL":
            self.elementwise(op, ins, out, "Mul", tflite.MulOptions)
        elif kind in ("RELU", "LOGISTIC", "HARD_SWISH"):
            op_type = {"RELU": "Relu", "LOGISTIC": "Sigmoid", "HARD_SWISH": "HardSwish"}[kind]
            nchw = self.values[ins[0]].nchw
            self.node(op_type, [self.act(ins[0], nchw)], [self.output(out, nchw)])
        elif kind == "AVERAGE_POOL_2D":
            self.pool(op, ins, out, "AveragePool")
        elif kind == "MAX_POOL_2D":
            self.pool(op, ins, out, "MaxPool")
        elif kind == "MEAN":
            axes = sorted(int(a) % 4 for a in self.const(ins[1]).ravel())
            if axes != [1, 2] or len(self.shape(out)) != 4:
                raise ValueError(f"MEAN over {axes} not handled")
            self.node("GlobalAveragePool", [self.act(ins[0], True)], [self.output(out, True)])
        elif kind == "PAD":
            pads = self.const(ins[1]).astype(np.int64)  # [[before, after]] per NHWC dim
            pads = pads[list(_NHWC_TO_NCHW)]
            self.node(
                "Pad",
                [self.act(ins[0], True), self.initializer(pads.T.ravel(), f"pads{ins[1]}")],
                [self.output(out, True)],
                mode="constant",
            )
        elif kind == "RESIZE_BILINEAR":
            opts = _options(op, tflite.ResizeBilinearOptions)
            if opts.AlignCorners():
                mode = "align_corners"
            elif opts.HalfPixelCenters():
                mode = "half_pixel"
            else:
                mode = "asymmetric"
            n, _, _, c = self.shape(ins[0])
            h, w = (int(v) for v in self.const(ins[1]))
            sizes = self.initializer(np.array([n, c, h, w], np.int64), f"sizes{ins[1]}")
            self.node(
                "Resize",
                [self.act(ins[0], True), "", "", sizes],
                [self.output(out, True)],
                mode="linear",
                coordinate_transformation_mode=mode,
            )
        elif kind == "DEPTH_TO_SPACE":
            block = _options(op, tflite.DepthToSpaceOptions).BlockSize()
            self.node(
                "DepthToSpace",
                [self.act(ins[0], True)],
                [self.output(out, True)],
                blocksize=block,
                mode="DCR",
            )
        elif kind == "RESHAPE":
            shape = np.array(self.shape(out), np.int64)
            self.node(
                "Reshape",
                [self.act(ins[0], False), self.initializer(shape, f"shape{out}")],
                [self.output(out, False)],
            )
        elif kind == "CONCATENATION":
            opts = _options(op, tflite.ConcatenationOptions)
            rank = len(self.shape(out))
            nchw = rank == 4 and all(self.values[i].nchw for i in ins)
            axis = opts.Axis() % rank
            if nchw:
                axis = _NHWC_TO_NCHW.index(axis)
            inputs = [self.act(i, nchw) for i in ins]
            self.fused("Concat", inputs, out, opts.FusedActivationFunction(), nchw, axis=axis)
        else:
            raise ValueError(f"op {kind} not handled")

    def convert(self, doc: dict[str, str]) -> onnx.ModelProto:
        graph = self.graph
        (inp,) = (graph.Inputs(i) for i in range(graph.InputsLength()))
        in_shape = self.shape(inp)
        if self.graph.Tensors(inp).Type() != tflite.TensorType.FLOAT32 or len(in_shape) != 4:
            raise ValueError("the input must be NHWC float32")
        self.values[inp] = _Value("input", False)
        for i in range(graph.OperatorsLength()):
            self.convert_op(graph.Operators(i))
        outputs = []
        for i in range(graph.OutputsLength()):
            index = graph.Outputs(i)
            name = sanitise(graph.Tensors(index).Name().decode())
            self.node("Identity", [self.act(index, False)], [name])
            outputs.append(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, list(self.shape(index)))
            )
        onnx_graph = helper.make_graph(
            self.nodes,
            "main",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))],
            outputs,
            initializer=self.inits,
        )
        model = helper.make_model(
            onnx_graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name=PRODUCER[0],
            producer_version=PRODUCER[1],
        )
        helper.set_model_props(model, doc)
        onnx.checker.check_model(model, full_check=True)
        return model


def read_wheel(wheel: Path) -> dict[str, bytes]:
    """The four .tflite files from the wheel, each checked against its pinned sha256."""
    data = wheel.read_bytes()
    if sha256(data) != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {sha256(data)} is not {WHEEL_NAME}'s {WHEEL_SHA256}")
    found = {}
    with zipfile.ZipFile(wheel) as archive:
        for path, digest, _ in MODELS:
            blob = archive.read(path)
            if sha256(blob) != digest:
                sys.exit(f"{path} in the wheel: sha256 {sha256(blob)}, expected {digest}")
            found[path] = blob
    return found


def convert_all(wheel: Path) -> dict[str, bytes]:
    """Each .onnx file's name and bytes."""
    tflites = read_wheel(wheel)
    files = {}
    for path, digest, onnx_name in MODELS:
        doc = {
            "source": f"mediapipe==0.10.21 wheel {WHEEL_NAME} (sha256 {WHEEL_SHA256})",
            "source_path": path,
            "source_sha256": digest,
            "license": "Apache-2.0 (the MediaPipe Authors)",
        }
        model = Converter(tflites[path]).convert(doc)
        files[onnx_name] = model.SerializeToString(deterministic=True)
    return files


def update_sums(models_dir: Path, files: dict[str, bytes]) -> None:
    """SHA256SUMS: this run's files replace their lines, other lines stay; sorted by name."""
    sums_path = models_dir / "SHA256SUMS"
    lines = {}
    if sums_path.exists():
        for line in sums_path.read_text().splitlines():
            if line.strip():
                digest, name = line.split(maxsplit=1)
                lines[name.lstrip("*")] = digest
    for name, data in files.items():
        lines[name] = sha256(data)
    sums_path.write_text("".join(f"{lines[n]}  {n}\n" for n in sorted(lines)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"the downloaded {WHEEL_NAME}")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the .onnx go")
    parser.add_argument(
        "--check", action="store_true", help="compare with the files in --out, write nothing"
    )
    args = parser.parse_args(argv)
    files = convert_all(args.wheel)
    if args.check:
        differ = [
            n
            for n, d in files.items()
            if not (args.out / n).exists() or (args.out / n).read_bytes() != d
        ]
        for name in differ:
            print(f"{name}: differs from {args.out / name}")
        return 1 if differ else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"{sha256(data)}  {name}  ({len(data)} bytes)")
    update_sums(args.out, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
