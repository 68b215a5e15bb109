"""IoU and MAD of `--model object`, the plain U²-Net-p loop and the person models on objects.

python benchmarks/object_table.py --set /work/objects_set [--json out.json]
python benchmarks/object_table.py --set DIR --snapshot PATH/TO/SalBenchmark.git   # build it first

The set is a folder with ``images/NAME.jpg`` and ``masks/NAME.png`` (255 = the object); its
sources are in the docs (docs/models.md, "The object evaluation set"). ``--snapshot`` writes
it into ``--set`` first from the git directory of a snapshot of MCG-NKU/SalBenchmark (every
pair of ``Data/DataSet1/Imgs`` and ``Data/DataSet2/Imgs`` but the three whose subject is a
person), read with ``git show``: nothing is downloaded.
Every livematte row runs the folder of pictures through the Python API
(``process_video`` with an ``alpha_out`` folder, each picture matted on its own); the
plain loop is U²-Net-p with its authors' preprocessing and nothing else, a few lines of
onnxruntime and numpy here (and scikit-image's resize, as the authors' own loop; this
benchmark needs ``pip install scikit-image``). IoU thresholds both mattes at 0.5; MAD is
the mean absolute difference of the soft matte from the mask, x1000 (lower is better).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from livematte import load_config, process_video
from livematte.matting import OBJECT_FILE
from livematte.matting.builtin import model_path
from livematte.metrics import iou, mad

# (row name, model, settings over the defaults)
ROWS: list[tuple[str, str, dict[str, object]]] = [
    ("object", "object", {}),
    ("object, refiner on (tuned on people)", "object", {"refine.enabled": True}),
    ("auto (person, default)", "auto", {}),
    ("selfie (person)", "selfie", {}),
]
SNAPSHOT_COMMIT = "f38dd4d"  # the SalBenchmark snapshot's HEAD when the set was made
SNAPSHOT_FOLDERS = {"ds1": "Data/DataSet1/Imgs", "ds2": "Data/DataSet2/Imgs"}
# Pairs whose salient subject is a person: the person models' home ground, not this set's.
PEOPLE = {"ds1-0001", "ds1-0016", "ds1-0017"}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def sample_photos():  # noqa: ANN201 - the skimage.data module
    """scikit-image's sample data (its resize is the authors' too); not a livematte
    dependency, so say how to get it."""
    try:
        import skimage.data
    except ImportError:
        sys.exit("this benchmark needs scikit-image: pip install scikit-image")
    return skimage.data


def plain_u2netp(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """U²-Net-p as its authors run it: 320x320, / max, ImageNet mean/std, the first output
    min-max normalised, resized back bilinearly."""
    import onnxruntime as ort

    sample_photos()  # scikit-image is there
    from skimage.transform import resize

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def matte(rgb: np.ndarray) -> np.ndarray:
        image = resize(rgb, (320, 320), mode="constant").astype(np.float32)
        image = image / np.max(image)
        tensor = ((image - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]
        first = session.run(None, {name: np.ascontiguousarray(tensor, np.float32)})[0][0, 0]
        first = (first - first.min()) / (first.max() - first.min())
        height, width = rgb.shape[:2]
        return cv2.resize(first, (width, height), interpolation=cv2.INTER_LINEAR)

    return matte


def build_set(snapshot: Path, out: Path, commit: str = SNAPSHOT_COMMIT) -> int:
    """Write every non-person picture/mask pair of the snapshot into ``out``; returns the count."""
    if (snapshot / ".git").is_dir():
        snapshot = snapshot / ".git"

    def git(*args: str) -> bytes:
        command = ["git", "--git-dir", str(snapshot), *args]
        return subprocess.run(command, check=True, capture_output=True).stdout

    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    count = 0
    for tag, folder in SNAPSHOT_FOLDERS.items():
        names = git("ls-tree", "--name-only", f"{commit}:{folder}").decode().split()
        for name in sorted(n for n in names if n.endswith(".jpg")):
            stem, key = name[:-4], f"{tag}-{name[:-4]}"
            if f"{stem}.png" not in names or key in PEOPLE:
                continue
            for kind, path, ext in (("images", name, "jpg"), ("masks", f"{stem}.png", "png")):
                data = git("show", f"{commit}:{folder}/{path}")
                (out / kind / f"{key}.{ext}").write_bytes(data)
            count += 1
    return count


def load_set(folder: Path) -> list[tuple[str, Path, np.ndarray]]:
    pairs = []
    for picture in sorted((folder / "images").iterdir()):
        mask = cv2.imread(str(folder / "masks" / f"{picture.stem}.png"), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            sys.exit(f"{picture.name} has no mask in {folder / 'masks'}")
        pairs.append((picture.stem, picture, mask))
    if not pairs:
        sys.exit(f"{folder / 'images'} holds no pictures; build the set with --snapshot")
    return pairs


def score(mattes: dict[str, np.ndarray], pairs: list[tuple[str, Path, np.ndarray]]) -> dict:
    ious = [iou(mattes[stem], mask) for stem, _, mask in pairs]
    mads = [mad(mattes[stem], mask) for stem, _, mask in pairs]
    return {"iou": float(np.mean(ious)), "mad": float(np.mean(mads)), "per_picture_iou": ious}


def pipeline_mattes(folder: Path, model: str, settings: dict[str, object]) -> dict[str, np.ndarray]:
    """Every picture of ``folder/images`` through livematte's API, one run for the folder."""
    config = load_config(overrides={"quiet": True, "model.name": model, **settings})
    with tempfile.TemporaryDirectory() as tmp:
        mattes = Path(tmp) / "mattes"
        process_video(
            folder / "images",
            Path(tmp) / "cutouts",
            background="transparent",
            alpha_out=mattes,
            model=model,
            config=config,
        )
        return {
            path.stem: cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path in mattes.glob("*.png")
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="folder", type=Path, required=True)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--snapshot", type=Path, help="build the set from this SalBenchmark git")
    args = parser.parse_args(argv)
    logging.getLogger("livematte").setLevel(logging.WARNING)
    if args.snapshot:
        count = build_set(args.snapshot, args.folder)
        print(f"{count} pairs written to {args.folder}", file=sys.stderr)
    pairs = load_set(args.folder)
    results: dict[str, dict] = {}
    started = time.perf_counter()
    plain = plain_u2netp(model_path(OBJECT_FILE))
    from livematte.io.images import read_image

    results["plain U²-Net-p loop"] = score(
        {stem: plain(read_image(path)) for stem, path, _ in pairs}, pairs
    )
    for name, model, settings in ROWS:
        results[name] = score(pipeline_mattes(args.folder, model, settings), pairs)
    print(f"{len(pairs)} pictures with human-made masks ({args.folder}); IoU at 0.5, MAD x1000")
    print()
    print("| model | IoU | MAD |")
    print("|---|---|---|")
    for name, row in results.items():
        print(f"| {name} | {row['iou']:.3f} | {row['mad']:.1f} |")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
