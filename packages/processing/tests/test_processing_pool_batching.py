"""Pool batch sizing and look-ahead policy (pure logic: no processes are started)."""

from __future__ import annotations

import itertools
from typing import Any

from suitkaise.processing._int import pool_jobs
from suitkaise.processing._int.pool_jobs import Job


def make_job(items: Any, *, total: int | None, mode: str = "map", workers: int = 2) -> Job:
    sequence = items if isinstance(items, (list, tuple, range)) else None
    return Job(
        call_id=1,
        mode=mode,
        fn_bytes=b"",
        star=False,
        source=iter(items),
        sequence=sequence,
        total=total,
        workers=workers,
    )


def drain(job: Job, seconds_per_item: float, bytes_per_item: int = 16) -> list[int]:
    sizes = []
    while not job.exhausted:
        _, items = job.take()
        if not items:
            break
        sizes.append(len(items))
        job.record_timing(len(items), seconds_per_item * len(items), bytes_per_item * len(items))
    return sizes


def test_first_batches_are_small_until_an_item_is_measured() -> None:
    job = make_job(list(range(100)), total=100)
    indices, items = job.take()
    assert list(indices) == list(items) == list(range(pool_jobs.FIRST_BATCH))
    streaming = make_job(list(range(100)), total=100, mode="imap")
    assert len(streaming.take()[1]) == 1  # iterators: the first result as soon as possible
    small = make_job(list(range(10)), total=10)
    assert len(small.take()[1]) == 3  # never more than half a worker's share: ceil(10 / 4)


def test_guided_sizes_shrink_and_cover_every_item_once() -> None:
    job = make_job(list(range(200)), total=200)
    sizes = drain(job, seconds_per_item=0.01)
    assert sum(sizes) == 200
    assert sizes[0] == pool_jobs.FIRST_BATCH
    assert max(sizes) <= pool_jobs.MAX_BATCH_SECONDS / 0.01  # at most ~250 ms of work
    assert sizes[-1] <= 2  # the last batches are small: workers finish together
    body = sizes[1:]
    assert all(a >= b for a, b in itertools.pairwise(body))


def test_tiny_tasks_get_large_batches_quickly() -> None:
    job = make_job(range(100_000), total=100_000)
    sizes = drain(job, seconds_per_item=1e-7)
    assert sizes[0] == pool_jobs.FIRST_BATCH
    assert sizes[1] == pool_jobs.MAX_BATCH  # known length: no ramp, the share bounds it
    assert len(sizes) < 30


def test_unknown_length_grows_at_most_growth_fold() -> None:
    job = make_job(itertools.count(), total=None)
    first = pool_jobs.FIRST_BATCH
    sizes = [len(job.take()[1])]
    job.record_timing(first, 1e-7 * first, 16 * first)
    sizes.append(len(job.take()[1]))
    assert sizes == [first, first * pool_jobs.GROWTH]


def test_range_input_is_sent_as_ranges() -> None:
    job = make_job(range(10), total=10)
    _, items = job.take()
    assert isinstance(items, range)


def test_large_results_keep_batches_under_the_byte_cap() -> None:
    job = make_job(list(range(1_000)), total=1_000)
    sizes = drain(job, seconds_per_item=1e-4, bytes_per_item=1_000_000)
    assert max(sizes[1:]) * 1_000_000 <= pool_jobs.MAX_BATCH_BYTES  # once measured


def test_streaming_look_ahead_is_bounded() -> None:
    job = make_job(itertools.count(), total=None, mode="imap")
    pulled = 0
    while job.wants_dispatch():
        _, items = job.take()
        pulled += len(items)
        job.record_timing(len(items), 1e-3 * len(items), 16 * len(items))
        assert pulled < 100_000
    assert job.blocked  # waiting for the caller to consume
    assert pulled <= job.window() + pool_jobs.MAX_BATCH


def test_input_error_is_reported_at_the_item_it_failed_to_produce() -> None:
    def broken() -> Any:
        yield 1
        yield 2
        raise OSError("source failed")

    job = make_job(broken(), total=None, mode="imap")
    job.record_timing(1, 1e-6, 16)  # measured: take several items at once
    indices, items = job.take()
    assert list(indices) == [0, 1] and list(items) == [1, 2]
    assert isinstance(job.error, OSError)
    assert job.error_index == 2


def test_result_list_puts_every_chunk_in_input_order() -> None:
    job = make_job(list(range(10)), total=10)
    # Out of order, consecutive ranges: joined.
    job.add_results(range(4, 10), [f"v{i}" for i in range(4, 10)])
    job.add_results(range(0, 4), [f"v{i}" for i in range(4)])
    assert job.result_list() == [f"v{i}" for i in range(10)]
    # Index lists (items sent again after a crash) are placed one by one.
    redone = make_job(list(range(5)), total=5)
    redone.add_results(range(0, 2), ["a", "b"])
    redone.add_results([4, 2], ["e", "c"])
    redone.add_results(range(3, 4), ["d"])
    assert redone.result_list() == ["a", "b", "c", "d", "e"]
