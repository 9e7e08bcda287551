"""Share across processes, under fork, forkserver and spawn: nothing lost, nothing stale.

Workers are plain ``multiprocessing`` processes here (the Skprocess and Pool cases are in
``test_processing_share_integration.py``); the Share reaches them as a ``Process`` argument,
which is pickled under spawn/forkserver and inherited as the same object under fork.
Worker functions live at module level so that spawned children can import them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from suitkaise.processing import Share
from suitkaise.sktime import Sktimer, TimeThis

WAIT = 60.0  # upper bound for a worker on a loaded 2-core machine


class Stats:
    def __init__(self) -> None:
        self.hits = 0


def run_workers(ctx: Any, target: Callable[..., None], args_list: list[tuple[Any, ...]]) -> None:
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(WAIT)
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()


# --------------------------------------------------------------------------- workers


def increment(share: Share, n: int, nested: int) -> None:
    for _ in range(n):
        share.counter += 1
    for _ in range(nested):
        share.d["k"] += 1
        share.stats.hits += 1
        share.total += 0.5


def increment_through_variable(share: Share, n: int) -> None:
    for _ in range(n):
        value = share.counter  # the two-step form: a tagged value made pending, stored back
        value += 1
        share.counter = value


def append_then_pop(share: Share, worker: int, n: int, start: Any) -> None:
    for i in range(n):
        share.items.append((worker, i))
    start.wait(WAIT)
    while True:
        try:
            share.popped.append(share.pool.pop())
        except IndexError:
            return


def write_and_announce(share: Share, conn: Any, n: int) -> None:
    for i in range(1, n + 1):
        share.value = i
        conn.send(i)  # the write has completed: tell the reader
    conn.close()


def read_after_announce(share: Share, conn: Any, n: int) -> None:
    stale = 0
    last = 0
    for _ in range(n):
        announced = conn.recv()
        seen = share.value
        if seen < announced or seen < last:
            stale += 1
        last = seen
    share.stale += stale


def locked_read_modify_write(share: Share, n: int) -> None:
    for _ in range(n):
        with share.lock():
            balance = share.balance  # a non-atomic read-then-write, made safe by the lock
            share.balance = balance + 1
            share.log.append(balance)


def time_things(share: Share, n: int) -> None:
    for _ in range(n):
        with TimeThis(share.timer):
            sum(range(100))
        share.timer.add_time(0.001)


def append_through_proxy(items: Any, worker: int, n: int) -> None:
    for i in range(n):
        items.append((worker, i))
    items += [(worker, "done")]


# --------------------------------------------------------------------------- tests


def test_augmented_assignments_lose_nothing(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.counter = 0
        share.d = {"k": 0}
        share.stats = Stats()
        share.total = 0.0
        run_workers(ctx, increment, [(share, 1000, 300)] * 3)
        assert share.counter == 3000
        assert share.d["k"] == 900
        assert share.stats.hits == 900
        assert share.total == 450.0


def test_read_modify_write_through_a_variable_loses_nothing(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.counter = 0
        run_workers(ctx, increment_through_variable, [(share, 400)] * 3)
        assert share.counter == 1200


def test_appends_and_pops_no_loss_no_duplicates(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    start = ctx.Event()
    with Share(start_method=start_method) as share:
        share.items = []
        share.pool = list(range(600))
        share.popped = []
        procs = [ctx.Process(target=append_then_pop, args=(share, w, 200, start)) for w in range(3)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(WAIT)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        items = list(share.items)
        assert len(items) == 600
        assert sorted(items) == sorted((w, i) for w in range(3) for i in range(200))
        popped = list(share.popped)
        assert sorted(popped) == list(range(600))  # every pop returned a distinct real item
        assert share.pool == []


def test_every_read_sees_every_completed_write(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.value = 0
        share.stale = 0
        reader_end, writer_end = ctx.Pipe(duplex=False)
        writer = ctx.Process(target=write_and_announce, args=(share, writer_end, 500))
        reader = ctx.Process(target=read_after_announce, args=(share, reader_end, 500))
        reader.start()
        writer.start()
        writer_end.close()
        reader_end.close()
        writer.join(WAIT)
        reader.join(WAIT)
        assert (writer.exitcode, reader.exitcode) == (0, 0)
        assert share.stale == 0
        assert share.value == 500  # and the creator sees the last write too


def test_lock_makes_critical_sections_exclusive(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.balance = 0
        share.log = []
        run_workers(ctx, locked_read_modify_write, [(share, 150)] * 3)
        assert share.balance == 450
        assert sorted(share.log) == list(range(450))  # no two sections saw the same balance


def test_sktimer_aggregates_across_processes(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.timer = Sktimer()
        run_workers(ctx, time_things, [(share, 50)] * 3)
        assert share.timer.num_times == 300
        assert share.timer.times.count(0.001) == 150
        stats = share.timer.get_statistics()
        assert stats.num_times == 300
        assert share.timer.min is not None and share.timer.min > 0


def test_a_proxy_travels_on_its_own(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    with Share(start_method=start_method) as share:
        share.items = []
        run_workers(ctx, append_through_proxy, [(share.items, w, 100) for w in range(2)])
        items = list(share.items)
        assert len(items) == 202
        assert sorted(i for i in items if i[1] != "done") == sorted(
            (w, i) for w in range(2) for i in range(100)
        )
