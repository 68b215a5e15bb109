"""`livematte batch --ray` when a node of the cluster is lost in the middle of a batch."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from conftest import video_info, write_clip

from livematte.run.batch import process_batch
from livematte.run.journal import JOURNAL_NAME

pytestmark = pytest.mark.slow  # a real browser, Ray cluster or fuzzing: the full lane only

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'livematte[ray]')")
cluster_utils = pytest.importorskip("ray.cluster_utils")

CLIPS, FRAMES = 6, 90


@pytest.fixture
def cluster():
    """A head that runs no clips and two worker nodes of one CPU each."""
    if ray.is_initialized():
        ray.shutdown()
    made = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    workers = [made.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=made.address, logging_level="WARNING", log_to_driver=False)
    made.wait_for_nodes()
    yield made, workers
    ray.shutdown()
    made.shutdown()


def test_a_lost_node_loses_no_clip_and_duplicates_none(cluster, tmp_path: Path) -> None:
    made, workers = cluster
    library = tmp_path / "library"
    library.mkdir()
    for index in range(CLIPS):
        write_clip(library / f"clip{index}.mp4", frames=FRAMES, width=64, height=48)
    out = tmp_path / "out"
    removed = threading.Event()

    def remove_a_node_while_clips_are_written() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list(out.rglob(".*livematte-attempt-*"))) >= 2:  # both nodes mid-clip
                made.remove_node(workers[0])
                removed.set()
                return
            time.sleep(0.02)

    killer = threading.Thread(target=remove_a_node_while_clips_are_written)
    killer.start()
    batch = process_batch(
        [library], out, ray=True, clip_cpus=1, report=tmp_path / "report.json", show_progress=False
    )
    killer.join()

    assert removed.is_set(), "the node was not removed while clips were being written"
    assert batch.exit_code == 0, [r.error for r in batch.results]
    names = [f"clip{index}.mp4" for index in range(CLIPS)]
    on_disk = sorted(p.name for p in out.iterdir() if p.name != JOURNAL_NAME)
    assert on_disk == names  # no hidden attempt left behind, no duplicate
    for name in names:
        written = video_info(out / name)
        assert written["frames"] == FRAMES
        assert written["audio_packets"] == video_info(library / name)["audio_packets"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(Path(e["output"]).name for e in report) == names
    assert {e["status"] for e in report} == {"done"}
    assert all(e["frames"] == FRAMES for e in report)
    journal = (out / JOURNAL_NAME).read_text().splitlines()
    assert sorted(Path(json.loads(line)["output"]).name for line in journal) == names
