"""Pool probes: batches sent before an item's cost is known, that a worker ends early.

A list call's first batch to a worker is its whole share (cheap items need no extra round
trip), and a worker stops such a batch once it has spent its budget (slow or
large items still spread over the workers); the parent re-sends what it did not run.
"""

from __future__ import annotations

import math
import multiprocessing
import secrets
import time
from typing import Any

from suitkaise import cerial
from suitkaise.processing import Pool
from suitkaise.processing._int import pool_jobs
from suitkaise.processing._int.pool_jobs import Job
from suitkaise.processing._int.pool_worker import CTRL_SLOTS, HEADER, HELLO, STOP, worker_main

WAIT = 30.0


def slow_square(x: int) -> int:
    time.sleep(0.02)
    return x * x


def square(x: int) -> int:
    return x * x


def megabytes(x: int) -> bytes:
    return bytes(300_000)


def make_job(items: list[Any], *, stops_early: bool, workers: int = 2) -> Job:
    job = Job(
        call_id=1,
        mode="map",
        fn_bytes=b"",
        star=False,
        source=iter(items),
        sequence=items,
        total=len(items),
        workers=workers,
    )
    job.stops_early = stops_early
    return job


def test_probes_are_chunk_sized_only_for_workers_that_stop_early() -> None:
    job = make_job(list(range(10_000)), stops_early=True)
    sample = job.probe_sample()
    assert sample is not None and len(sample) == pool_jobs.FIRST_BATCH
    job.set_item_bytes(3.0)
    assert job.probe_budget() == (pool_jobs.PROBE_SECONDS, pool_jobs.PROBE_BYTES)
    assert len(job.take()[1]) == 5000  # a worker's whole share: it ends early if items are slow
    # Without early stops (e.g. the cluster runtime) the first batch stays small.
    plain = make_job(list(range(10_000)), stops_early=False)
    assert plain.probe_budget() is None and plain.probe_sample() is None
    assert len(plain.take()[1]) == pool_jobs.FIRST_BATCH


def test_probe_size_respects_the_byte_budget_and_ends_once_measured() -> None:
    job = make_job(list(range(10_000)), stops_early=True)
    job.set_item_bytes(pool_jobs.PROBE_BYTES / 100)  # large items: 100 fit in a probe
    assert len(job.take()[1]) == 100
    job.record_timing(100, 1e-6 * 100, 16 * 100)
    assert job.probe_budget() is None  # measured: sized by cost from now on


def test_tiny_items_are_not_all_given_to_one_worker() -> None:
    job = make_job(list(range(10_000)), stops_early=True)
    job.set_item_bytes(pool_jobs.PROBE_BYTES / 1000)  # 1,000 items fit in a probe
    assert len(job.take()[1]) == 1000
    job.record_timing(1000, 1e-7 * 1000, 4 * 1000)
    # Everything left is under MIN_BATCH_SECONDS of work, but the other worker has nothing
    # queued: this worker takes only enough to even them out.
    assert len(job.take(share=4500)[1]) == 4500
    # Nothing to even out: half an even share of what is left (guided), as for slow items.
    assert len(job.take(share=0)[1]) == math.ceil(4500 / 4)


def test_worker_ends_a_budgeted_batch_early(start_method: str) -> None:
    ctx: Any = multiprocessing.get_context(start_method)
    key = secrets.token_bytes(32)
    parent, child = ctx.Pipe(duplex=True)
    ctrl = ctx.RawArray("q", CTRL_SLOTS)
    proc = ctx.Process(target=worker_main, args=(child, ctrl, key), daemon=True)
    proc.start()
    child.close()
    try:
        assert parent.poll(WAIT) and parent.recv_bytes() == HELLO
        fn_bytes = bytes(cerial.serialize(slow_square, key=key))
        for batch_id, budget in ((1, (0.005, 1 << 20)), (2, None)):
            message: tuple[Any, ...] = (batch_id, 7, fn_bytes, False, [], [1, 2, 3], budget)
            parent.send_bytes(
                batch_id.to_bytes(HEADER, "little") + cerial.serialize(message, key=key)
            )
            assert parent.poll(WAIT)
            reply = cerial.deserialize(parent.recv_bytes(), key=key)
            sent_id, results, error, _elapsed, cancelled = reply
            assert (sent_id, error, cancelled) == (batch_id, None, False)
            # 20 ms per item: a 5 ms budget ends the batch after its first item.
            assert results == ([1] if budget else [1, 4, 9])
        parent.send_bytes(STOP)
        proc.join(WAIT)
        assert proc.exitcode == 0
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()


def test_map_results_are_complete_when_probes_end_early(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        # Slow items: every probe ends after its first item and the rest is re-sent.
        assert pool.map(slow_square, list(range(12))) == [x * x for x in range(12)]
        # Large results end a probe on bytes; cheap ones fill whole chunks.
        assert pool.map(megabytes, list(range(24))) == [bytes(300_000)] * 24
        assert pool.map(square, list(range(5_000))) == [x * x for x in range(5_000)]
        assert sorted(pool.unordered_map(slow_square, list(range(6)))) == [x * x for x in range(6)]
