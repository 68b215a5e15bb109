"""Where a batch's clips run: a pool of local processes, or Ray tasks on a cluster.

Both take the same list of :class:`ClipJob` and yield a :class:`ClipResult` per clip as it
finishes, in any order; the driver keeps only futures or object references. A stop request
reaches the workers (a shared event for the pool, ``ray.cancel`` for Ray), whose clips stop
as ``livematte run`` does and are thrown away; clips not yet started come back as stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import UserError
from .clip import FAILED, STOPPED, SYSTEM_ERRORS, ClipResult, run_clip
from .interrupt import StopRequest
from .manifest import ClipJob

# Cores one clip keeps busy: a 720p re-encode runs at ~100 fps using ~20 ms of CPU a frame
# (decoder and x264 threads, the model, the blend), i.e. two cores; in
# benchmarks/batch_scaling.py a second job on 2 cores gained nothing (0.98-1.12x). More
# jobs than cores / 2 only oversubscribes the codec threads.
CLIP_CPUS = 2
# How often a clip is started again after its worker process or node died under it.
RETRIES = 2
_POLL_S = 0.2
# How long a cluster address may take to answer before a batch gives up on it: ray.init
# itself retries an address nothing listens at for minutes.
RAY_CONNECT_S = 3.0
_LOCAL_RAY = ("auto", "local")  # addresses that name no host: ray.init finds or starts one


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_jobs(cores: int | None = None) -> int:
    return max(1, (cores or usable_cores()) // CLIP_CPUS)


def _stopped(job: ClipJob, reason: str = "") -> ClipResult:
    return ClipResult(str(job.input), str(job.output), STOPPED, error=reason)


def _lost(job: ClipJob, reason: str) -> ClipResult:
    return ClipResult(str(job.input), str(job.output), FAILED, error=reason)


# --- local process pool -----------------------------------------------------------------

_SHARED_STOP: Any = None  # the pool's multiprocessing.Event, set in each worker


class _SharedStop(StopRequest):
    """A worker's stop request: its own signals, or the driver's shared event."""

    @property
    def requested(self) -> bool:
        return super().requested or bool(_SHARED_STOP is not None and _SHARED_STOP.is_set())


def _init_worker(event: Any) -> None:
    global _SHARED_STOP
    _SHARED_STOP = event


def _local_task(job: ClipJob) -> ClipResult:
    return run_clip(job, _SharedStop())


def run_local(jobs: list[ClipJob], workers: int, stop: StopRequest) -> Iterator[ClipResult]:
    """Run ``jobs`` in ``workers`` processes; a dead worker's clips start again (RETRIES)."""
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    event = context.Event()
    tries = {id(job): 0 for job in jobs}
    todo = list(jobs)
    while todo:
        retry: list[ClipJob] = []
        with cf.ProcessPoolExecutor(
            min(workers, len(todo)), context, initializer=_init_worker, initargs=(event,)
        ) as pool:
            futures = {pool.submit(_local_task, job): job for job in todo}
            pending = set(futures)
            while pending:
                if stop.requested and not event.is_set():
                    event.set()
                    for future in pending:
                        future.cancel()
                done, pending = cf.wait(pending, _POLL_S, cf.FIRST_COMPLETED)
                for future in done:
                    job = futures[future]
                    if future.cancelled():
                        yield _stopped(job)
                        continue
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        tries[id(job)] += 1
                        if stop.requested:
                            yield _stopped(job)
                        elif tries[id(job)] > RETRIES:
                            yield _lost(job, "its worker process died on every attempt")
                        else:
                            retry.append(job)
                    except SYSTEM_ERRORS as exc:
                        yield _lost(job, f"{type(exc).__name__}: {exc}")
        todo = retry


# --- Ray ------------------------------------------------------------------------------------


def _ray_task(job: ClipJob) -> ClipResult:
    return run_clip(job)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(
            "--ray needs Ray, which is not installed; install it with "
            "pip install 'livematte[ray]' (on every node of the cluster)."
        ) from None
    return ray


def ray_address(ray: bool | str) -> str | None:
    """The cluster a batch joins: ``ray="HOST:PORT"``, else RAY_ADDRESS, else None (local)."""
    if isinstance(ray, str):
        return ray
    return os.environ.get("RAY_ADDRESS") or None


def check_ray_reachable(address: str | None, timeout: float = RAY_CONNECT_S) -> None:
    """Refuse a cluster address that does not answer within ``timeout`` seconds, before
    ray.init, which would wait on it for minutes; a Ray already running here is kept."""
    ray = sys.modules.get("ray")
    if address is None or address in _LOCAL_RAY or (ray is not None and ray.is_initialized()):
        return
    host, port = _host_port(address)
    if not _answers(host, port, timeout):
        raise UserError(
            f"Cannot reach the Ray cluster at {address}; check the address, or start one "
            "with `ray start --head`."
        )


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")  # an IPv6 address: [::1]:6379
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(
            f"The Ray address {address} is not HOST:PORT; give the head node's address, "
            "such as head-node:6379."
        )
    return host, int(port)


def _answers(host: str, port: int, timeout: float) -> bool:
    """Whether HOST:PORT accepts a connection within ``timeout`` s, name lookup included
    (in a thread, since a lookup cannot be given a timeout)."""
    answered: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answered.append(True)
        except OSError:
            answered.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def run_ray(
    jobs: list[ClipJob],
    address: str | None,
    cpus: float,
    stop: StopRequest,
    debug: bool = False,
) -> Iterator[ClipResult]:
    """One Ray task per clip; a task whose worker or node is lost runs again (RETRIES).

    Joins ``address`` (or RAY_ADDRESS), else starts Ray on this machine; a Ray already
    initialised in this process is used as it is and left running. Ray's own log lines
    (such as its token-authentication notice) stay out of the batch's output unless
    ``debug``.
    """
    ray = import_ray()
    from ray.exceptions import RayError, TaskCancelledError

    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(
                address=address or None,
                logging_level=logging.INFO if debug else logging.ERROR,
                log_to_driver=debug,
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = address or os.environ.get("RAY_ADDRESS") or "a local Ray"
            raise UserError(
                f"Cannot start or reach Ray at {where} ({str(exc).splitlines()[0]}); check "
                "that `ray start --head` runs there and the address is HOST:6379."
            ) from None
    try:
        task = ray.remote(_ray_task).options(
            num_cpus=cpus, max_retries=RETRIES, retry_exceptions=list(SYSTEM_ERRORS)
        )
        refs = {task.remote(job): job for job in jobs}
        pending = list(refs)
        cancelled = False
        while pending:
            if stop.requested and not cancelled:
                cancelled = True
                for ref in pending:
                    ray.cancel(ref)
            done, pending = ray.wait(pending, num_returns=1, timeout=_POLL_S)
            for ref in done:
                job = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except TaskCancelledError:
                    yield _stopped(job)
                except RayError as exc:
                    if cancelled:
                        yield _stopped(job)
                    else:
                        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        yield _lost(job, f"{type(exc).__name__}: {reason}")
    finally:
        if started_here:
            ray.shutdown()
