"""``Pool(cluster=...)`` vs plain ``client.map`` on the same dask cluster, and vs the local Pool.

One run starts a ``LocalCluster`` (``--workers`` worker processes, one thread each, on
127.0.0.1) and times, on warm pools, in one process:

* ``client.map``: dask's own ``client.gather(client.map(fn, items, pure=False))``, one dask
  task per item (the first peer: ratios are relative to it);
* ``Pool(cluster=client)``: suitkaise's cluster backend (items batched into dask tasks);
* ``Pool(workers)``: suitkaise's local process pool, as a reference.

Workloads:

* (a) ``10ms``: 1,000 tasks (200 with ``--quick``) that each sleep 10 ms; ``overhead`` is
  ``(measured - ideal) / tasks`` with ``ideal = tasks * 10 ms / workers``;
* (b) ``trivial``: 10,000 tasks ``x * x`` (1,000 with ``--quick``): per-task cost alone.

The table gives seconds (best of ``--repeat`` rounds) and each peer's speed relative to
``client.map`` (``t_client_map / t_peer``: above 1.0 is faster).

Usage::

    python packages/processing/benchmarks/bench_cluster.py [--quick] [--workers N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from suitkaise.processing import Pool

TASK_SECONDS = 0.010


def nap(x: int) -> int:
    time.sleep(TASK_SECONDS)
    return x


def square(x: int) -> int:
    return x * x


Mapper = Callable[[Callable[[Any], Any], list[Any]], list[Any]]


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, one round (smoke)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print('dask.distributed is not installed: pip install "suitkaise-processing[dask]"')
        return
    workers = args.workers
    repeat = 1 if args.quick else args.repeat
    sleepy_tasks = 200 if args.quick else 1000
    trivial_tasks = 1000 if args.quick else 10_000

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; LocalCluster of {workers} worker processes x 1 thread"
    )
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    client = Client(cluster, set_as_default=False)
    cluster_pool = Pool(cluster=client)
    local_pool = Pool(workers)
    try:
        peers: list[tuple[str, Mapper]] = [
            ("client.map", lambda f, xs: client.gather(client.map(f, xs, pure=False))),
            ("Pool(cluster=client)", lambda f, xs: cluster_pool.map(f, xs)),
            (f"Pool({workers}) local", lambda f, xs: local_pool.map(f, xs)),
        ]
        for _, run in peers:  # warm up: workers started, functions imported
            run(square, list(range(4 * workers)))
        rows = []
        for label, fn, tasks, ideal in (
            (f"(a) {sleepy_tasks} x 10 ms", nap, sleepy_tasks, sleepy_tasks * TASK_SECONDS),
            (f"(b) {trivial_tasks} x trivial", square, trivial_tasks, 0.0),
        ):
            items = list(range(tasks))
            first = None
            for name, run in peers:
                assert run(fn, items[:10]) == [fn(x) for x in items[:10]]
                seconds = best_of(repeat, lambda run=run, fn=fn, xs=items: run(fn, xs))
                first = first or seconds
                overhead_us = (seconds - ideal / workers) / tasks * 1e6
                rows.append((label, name, seconds, overhead_us, first / seconds))
    finally:
        local_pool.close()
        cluster_pool.close()
        client.close()
        cluster.close()
    print()
    print("| workload | peer | seconds | overhead per task (µs) | speed vs client.map |")
    print("|---|---|---:|---:|---:|")
    for label, name, seconds, overhead_us, ratio in rows:
        print(f"| {label} | {name} | {seconds:.3f} | {overhead_us:.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
