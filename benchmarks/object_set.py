"""Rebuild the object evaluation set (pictures + human-made masks) from a repository snapshot.

python benchmarks/object_set.py --snapshot /path/to/SalBenchmark/git --out /work/objects_set

The set is the 36 image/mask pairs that MCG-NKU/SalBenchmark carries in ``Data/DataSet1/Imgs``
and ``Data/DataSet2/Imgs`` (each ``NAME.jpg`` beside its binary ground truth ``NAME.png``),
less the three whose subject is a person: 33 pairs of animals, boats, flowers, a glass
bowl, chrome, a toy, a post box, a flag on a thin pole, road signs. ``--snapshot`` is the
git directory of a snapshot of that repository (``fetch github:MCG-NKU/SalBenchmark``);
the files are read from its commit with ``git show``, nothing is downloaded. The pairs are
written as ``OUT/images/<set>-<name>.jpg`` and ``OUT/masks/<set>-<name>.png``; see
``benchmarks/OBJECTS_MANIFEST.md`` for their origin and licence.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

COMMIT = "f38dd4d"  # the snapshot's HEAD when the set was made
FOLDERS = {"ds1": "Data/DataSet1/Imgs", "ds2": "Data/DataSet2/Imgs"}
# Pairs whose salient subject is a person: the person models' home ground, not this set's.
PEOPLE = {"ds1-0001", "ds1-0016", "ds1-0017"}


def git(snapshot: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(snapshot), *args], check=True, capture_output=True
    ).stdout


def pairs(snapshot: Path, commit: str) -> list[tuple[str, str, str]]:
    """(name in the set, picture path, mask path) of every non-person pair in the snapshot."""
    found = []
    for tag, folder in FOLDERS.items():
        names = git(snapshot, "ls-tree", "--name-only", f"{commit}:{folder}").decode().split()
        for name in sorted(n for n in names if n.endswith(".jpg")):
            stem = name[:-4]
            key = f"{tag}-{stem}"
            if f"{stem}.png" in names and key not in PEOPLE:
                found.append((key, f"{folder}/{name}", f"{folder}/{stem}.png"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, required=True, help="SalBenchmark git directory")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the set into")
    parser.add_argument("--commit", default=COMMIT)
    args = parser.parse_args(argv)
    snapshot = args.snapshot
    if (snapshot / ".git").is_dir():
        snapshot = snapshot / ".git"
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    (args.out / "masks").mkdir(parents=True, exist_ok=True)
    found = pairs(snapshot, args.commit)
    for key, picture, mask in found:
        for kind, path, ext in (("images", picture, "jpg"), ("masks", mask, "png")):
            data = git(snapshot, "show", f"{args.commit}:{path}")
            (args.out / kind / f"{key}.{ext}").write_bytes(data)
    print(f"{len(found)} pairs written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
