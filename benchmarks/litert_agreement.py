"""Do the converted ONNX models (src/livematte/models) give what the .tflite ones give?

Runs each of MediaPipe's four .tflite models through LiteRT and its ONNX conversion (made
by tools/convert_models.py) through onnxruntime's CPU provider on the same real frames,
and prints per model and clip group: the largest absolute difference of every output,
and for the probability map (the selfie masks, the landmark model's segmentation after a
sigmoid, the detector's anchor scores after a sigmoid) the per-frame IoU at 0.5 (lowest
over the frames) and the MAD x1000 (mean over frames, and the worst frame). Then times
both runtimes, one thread each, interleaved run by run, median ms.

Inputs as livematte feeds them: the frame resized to the model's size, RGB in [0, 1]
(selfie, landmark model: its crop is the frame's centre square) or [-1, 1] (detector).

Needs ai-edge-litert and the .tflite files (an installed mediapipe==0.10.21, or --wheel
with the downloaded wheel); neither is a livematte dependency. Run once by hand:

    /work/main/.venv/bin/python benchmarks/litert_agreement.py
    python benchmarks/litert_agreement.py --wheel /tmp/mpwheel/mediapipe-0.10.21-*.whl
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "src" / "livematte" / "models"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def _centre_square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return rgb[top : top + side, left : left + side]


@dataclass(frozen=True)
class Model:
    """One model: where its .tflite sits in the wheel, how a frame becomes its input, and
    which output (by position) is a probability map (``prob`` turns it into one)."""

    name: str
    wheel_path: str
    prepare: Callable[[np.ndarray], np.ndarray]
    map_output: int
    prob: Callable[[np.ndarray], np.ndarray]


MODEL_LIST = (
    Model(
        "selfie_segmentation",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        lambda rgb: _resize(rgb, 256, 256).astype(np.float32) / 255.0,
        0,
        lambda out: out.astype(np.float64),
    ),
    Model(
        "selfie_segmentation_landscape",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        lambda rgb: _resize(rgb, 256, 144).astype(np.float32) / 255.0,
        0,
        lambda out: out.astype(np.float64),
    ),
    Model(
        "pose_detection",
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        lambda rgb: _resize(rgb, 224, 224).astype(np.float32) / 127.5 - 1.0,
        1,
        _sigmoid,
    ),
    Model(
        "pose_landmark_full",
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        lambda rgb: _resize(_centre_square(rgb), 256, 256).astype(np.float32) / 255.0,
        2,
        _sigmoid,
    ),
)


def video_frames(path: Path, count: int) -> Iterator[np.ndarray]:
    """``count`` RGB frames spread over the video."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 300
        step = max(1, total // count)
        for i, frame in enumerate(container.decode(stream)):
            if i % step == 0:
                yield frame.to_ndarray(format="rgb24")


def image_frames(folder: Path, count: int) -> Iterator[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    for path in files[:: max(1, len(files) // count)]:
        yield cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def groups(count: int) -> dict[str, Callable[[], Iterator[np.ndarray]]]:
    """Clip group name -> its frames (made on demand)."""
    found: dict[str, Callable[[], Iterator[np.ndarray]]] = {}
    for video in sorted((DATA / "videos").glob("*.mp4")):
        found[video.stem] = lambda v=video: video_frames(v, count)
    for clip in sorted((DATA / "frames_gt").glob("*/images")):
        found[clip.parent.name] = lambda c=clip: image_frames(c, count)
    p3m = DATA / "images" / "p3m_demo" / "images"
    if p3m.is_dir():
        found["p3m_demo"] = lambda: image_frames(p3m, count)
    return found


def tflite_files(wheel: Path | None, out_dir: Path) -> dict[str, Path]:
    """Each model's .tflite: from the wheel given, else from the installed mediapipe."""
    paths = {}
    if wheel is not None:
        with zipfile.ZipFile(wheel) as archive:
            for model in MODEL_LIST:
                target = out_dir / Path(model.wheel_path).name
                target.write_bytes(archive.read(model.wheel_path))
                paths[model.name] = target
        return paths
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mediapipe is not installed here: give --wheel.")
    site = Path(next(iter(spec.submodule_search_locations))).parent
    return {m.name: site / m.wheel_path for m in MODEL_LIST}


class LiteRT:
    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = [d["index"] for d in self.interpreter.get_output_details()]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self.input, x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(i) for i in self.outputs]


class OnnxRuntime:
    def __init__(self, path: Path, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"input": x})


def iou(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = a >= 0.5, b >= 0.5
    union = np.logical_or(fa, fb).sum()
    return 1.0 if union == 0 else float(np.logical_and(fa, fb).sum() / union)


def agreement(model: Model, lite: LiteRT, onnx: OnnxRuntime, frames: Iterator[np.ndarray]):
    """(frames, largest |difference| per output, lowest IoU, mean and worst MAD x1000)."""
    diffs: list[float] | None = None
    ious, mads = [], []
    for rgb in frames:
        x = model.prepare(rgb)[None]
        a, b = lite(x), onnx(x)
        d = [float(np.abs(p - q).max()) for p, q in zip(a, b, strict=True)]
        diffs = d if diffs is None else [max(u, v) for u, v in zip(diffs, d, strict=True)]
        pa, pb = model.prob(a[model.map_output]), model.prob(b[model.map_output])
        ious.append(iou(pa, pb))
        mads.append(float(np.abs(pa - pb).mean()) * 1000)
    return len(ious), diffs or [], min(ious), statistics.fmean(mads), max(mads)


def timing(lite: LiteRT, onnx: OnnxRuntime, x: np.ndarray, runs: int) -> tuple[float, float]:
    """Median ms of each runtime, the two alternating run by run."""
    for _ in range(5):
        lite(x), onnx(x)
    t_lite, t_onnx = [], []
    for _ in range(runs):
        for runner, times in ((lite, t_lite), (onnx, t_onnx)):
            start = time.perf_counter()
            runner(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(t_lite), statistics.median(t_onnx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="mediapipe-0.10.21 wheel to take .tflite from")
    parser.add_argument("--frames", type=int, default=30, help="frames per clip group")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per runtime")
    parser.add_argument("--models", default=str(MODELS), help="folder of the .onnx files")
    args = parser.parse_args()
    clip_groups = groups(args.frames)
    if not clip_groups:
        raise SystemExit(f"no clips under {DATA} (shared data)")
    with tempfile.TemporaryDirectory() as tmp:
        tflites = tflite_files(args.wheel, Path(tmp))
        header = "model  group  frames  max|diff| per output  IoU@0.5 min  MADx1000 mean / max"
        print(header)
        speed = []
        for model in MODEL_LIST:
            lite = LiteRT(tflites[model.name], threads=1)
            onnx = OnnxRuntime(Path(args.models) / f"{model.name}.onnx", threads=1)
            x = None
            for group, frames in clip_groups.items():
                n, diffs, low, mad, worst = agreement(model, lite, onnx, frames())
                shown = " ".join(f"{d:.2e}" for d in diffs)
                print(f"{model.name}  {group}  {n}  {shown}  {low:.5f}  {mad:.4f} / {worst:.4f}")
                if x is None:
                    x = model.prepare(next(frames()))[None]
            speed.append((model.name, x.shape, *timing(lite, onnx, x, args.runs)))
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nmodel  input  LiteRT ms  onnxruntime ms  (1 thread, interleaved; load {load})")
    for name, shape, t_lite, t_onnx in speed:
        print(f"{name}  {'x'.join(map(str, shape))}  {t_lite:.2f}  {t_onnx:.2f}")


if __name__ == "__main__":
    main()
