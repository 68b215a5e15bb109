"""Tiny ONNX models built with onnx.helper, so the ONNX tests need no downloaded weights.

Each model's output is a simple, known function of its input, so a test can tell a
wrong layout, colour order, normalisation or output channel from a right one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # old enough for any onnxruntime >= 1.17
Dims = list[int | str]


def _model(
    nodes: list, inputs: list, outputs: list, consts: dict[str, np.ndarray]
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "livematte_test",
        inputs,
        outputs,
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> str:
    path = folder / name
    onnx.save(model, str(path))
    return str(path)


def segmenter(
    layout: str = "NCHW",
    size: tuple[int, int] | None = (48, 64),
    *,
    out_channels: int = 2,
    logits: bool = False,
    input_name: str = "image",
    output_name: str = "mask",
) -> onnx.ModelProto:
    """A stateless "segmenter" whose person score is the model's first input channel.

    With the identity normalisation (scale 1/255) and RGB order the alpha is the frame's
    red channel. ``out_channels=2`` puts [1 - red, red] on the channel axis (person =
    channel 1); ``logits`` outputs 20 * (red - 0.5) instead, for sigmoid/softmax tests.
    ``size=None`` makes height and width dynamic.
    """
    h, w = size if size is not None else ("height", "width")
    axis = 1 if layout == "NCHW" else 3
    in_shape: Dims = [1, 3, h, w] if layout == "NCHW" else [1, h, w, 3]
    out_shape: Dims = list(in_shape)
    out_shape[axis] = out_channels
    consts = {
        "start": np.array([0], np.int64),
        "end": np.array([1], np.int64),
        "axis": np.array([axis], np.int64),
        "half": np.array(0.5, np.float32),
        "gain": np.array(20.0, np.float32),
        "one": np.array(1.0, np.float32),
    }
    nodes = [helper.make_node("Slice", [input_name, "start", "end", "axis"], ["red"])]
    score = "red"
    if logits:
        nodes += [
            helper.make_node("Sub", ["red", "half"], ["centred"]),
            helper.make_node("Mul", ["centred", "gain"], ["score"]),
        ]
        score = "score"
    if out_channels == 2:
        other = "neg" if logits else "rest"
        op = (
            helper.make_node("Neg", [score], [other])
            if logits
            else helper.make_node("Sub", ["one", score], [other])
        )
        nodes += [op, helper.make_node("Concat", [other, score], [output_name], axis=axis)]
    else:
        nodes.append(helper.make_node("Identity", [score], [output_name]))
    return _model(
        nodes,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)],
        consts,
    )


def recurrent(*, fp16: bool = False, alpha_from_ratio: bool = False) -> onnx.ModelProto:
    """A model with Robust Video Matting's exact signature whose alpha counts frames.

    ``r1`` is a frame counter (r1o = r1i + 1) and ``pha`` = 0.1 * r1o everywhere, so the
    alpha is 0.1 on a fresh state, 0.2 on the next frame, and so on: a test sees whether
    the state is carried and reset. ``r3`` takes the frame's size (like RVM's states), so
    feeding an old state with a frame of another size fails as it would in RVM.
    ``fgr`` = ``src``. With ``alpha_from_ratio`` the alpha is ``downsample_ratio``.
    ``fp16`` makes src, states and outputs float16; ``downsample_ratio`` stays float32.
    """
    ftype = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    dtype = np.float16 if fp16 else np.float32
    consts = {
        "one": np.array(1.0, dtype),
        "tenth": np.array(0.1, dtype),
        "zero": np.array(0.0, dtype),
        "start": np.array([0], np.int64),
        "end": np.array([1], np.int64),
        "axis": np.array([1], np.int64),
    }
    image: Dims = [1, 3, "height", "width"]
    plane: Dims = [1, 1, "height", "width"]
    nodes = [
        helper.make_node("Identity", ["src"], ["fgr"]),
        helper.make_node("Cast", ["downsample_ratio"], ["ratio"], to=ftype),
        helper.make_node("Add", ["r1i", "one"], ["r1o"]),
        helper.make_node("Add", ["r2i", "ratio"], ["r2o"]),
        helper.make_node("Slice", ["src", "start", "end", "axis"], ["red"]),
        helper.make_node("Mul", ["red", "zero"], ["blank"]),
        helper.make_node("Add", ["r3i", "blank"], ["r3o"]),
        helper.make_node("Identity", ["r4i"], ["r4o"]),
    ]
    if alpha_from_ratio:
        nodes.append(helper.make_node("Add", ["blank", "ratio"], ["pha"]))
    else:
        nodes += [
            helper.make_node("Mul", ["r1o", "tenth"], ["count"]),
            helper.make_node("Add", ["blank", "count"], ["pha"]),
        ]
    inputs = [helper.make_tensor_value_info("src", ftype, image)]
    inputs += [
        helper.make_tensor_value_info(f"r{i}i", ftype, [1, f"ci{i}", f"hi{i}", f"wi{i}"])
        for i in range(1, 5)
    ]
    inputs.append(helper.make_tensor_value_info("downsample_ratio", TensorProto.FLOAT, [1]))
    outputs = [
        helper.make_tensor_value_info("fgr", ftype, image),
        helper.make_tensor_value_info("pha", ftype, plane),
    ]
    outputs += [
        helper.make_tensor_value_info(f"r{i}o", ftype, [1, f"c{i}", f"h{i}", f"w{i}"])
        for i in range(1, 5)
    ]
    return _model(nodes, inputs, outputs, consts)
