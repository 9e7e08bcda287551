"""Share benchmark: atomic counter increments from 2 processes, and single-client latency.

Peers, side by side in one run (ratios are to the first peer, ``Manager + Lock``):

* ``Manager().Value`` + ``Manager().Lock()``: what a careful user writes with the stdlib
  (``with lock: v.value += 1`` costs four round trips to the manager process);
* ``Share``: ``share.counter += 1`` (atomic in the coordinator, no user lock);
* ``multiprocessing.Value`` with its own lock: shared memory, the physical floor.

Every row also reports lost updates (expected count minus final count); it must be 0.

Usage: ``python packages/processing/benchmarks/bench_share.py [--quick] [--start-method M]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Callable
from typing import Any

from suitkaise.processing import Share


def _manager_worker(value: Any, lock: Any, n: int, start: Any) -> None:
    start.wait()
    for _ in range(n):
        with lock:
            value.value += 1


def _share_worker(share: Share, n: int, start: Any) -> None:
    start.wait()
    for _ in range(n):
        share.counter += 1


def _mp_value_worker(value: Any, n: int, start: Any) -> None:
    start.wait()
    for _ in range(n):
        with value.get_lock():
            value.value += 1


def _race(ctx: Any, target: Callable[..., None], args: tuple[Any, ...], procs: int) -> float:
    """Start ``procs`` workers, release them together, return the wall time until all finish."""
    start = ctx.Barrier(procs + 1)  # every worker is imported and ready before timing starts
    workers = [ctx.Process(target=target, args=(*args, start)) for _ in range(procs)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def _manager_run(ctx: Any, procs: int, n: int) -> tuple[float, int]:
    with ctx.Manager() as manager:
        value, lock = manager.Value("i", 0), manager.Lock()
        seconds = _race(ctx, _manager_worker, (value, lock, n), procs)
        return seconds, procs * n - value.value


def _share_run(ctx: Any, procs: int, n: int) -> tuple[float, int]:
    with Share(start_method=ctx.get_start_method()) as share:
        share.counter = 0
        seconds = _race(ctx, _share_worker, (share, n), procs)
        return seconds, procs * n - share.counter


def _mp_value_run(ctx: Any, procs: int, n: int) -> tuple[float, int]:
    value = ctx.Value("i", 0)
    seconds = _race(ctx, _mp_value_worker, (value, n), procs)
    return seconds, procs * n - value.value


PEERS = [
    ("Manager().Value + Manager().Lock()", _manager_run),
    ("Share: share.counter += 1", _share_run),
    ("multiprocessing.Value + its lock (floor)", _mp_value_run),
]


def bench_counter(ctx: Any, procs: int, n: int, repeat: int) -> list[tuple[str, float, int]]:
    """Best time of ``repeat`` rounds per peer (rounds interleave peers to spread noise)."""
    best = {name: float("inf") for name, _ in PEERS}
    lost = dict.fromkeys(best, 0)
    for _ in range(repeat):
        for name, run in PEERS:
            seconds, missing = run(ctx, procs, n)
            best[name] = min(best[name], seconds)
            lost[name] += missing
    return [(name, best[name], lost[name]) for name, _ in PEERS]


def _per_op(func: Callable[[], Any], n: int, rounds: int = 3) -> float:
    """Seconds per call: the best of ``rounds`` rounds of ``n`` calls (less noise)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            func()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def bench_latency(ctx: Any, n: int) -> list[tuple[str, float, float]]:
    """Microseconds per operation from one client: (operation, Manager, Share)."""
    rows = []
    with ctx.Manager() as manager, Share(start_method=ctx.get_start_method()) as share:
        m_value = manager.Value("i", 0)
        m_list = manager.list()
        share.value = 0
        share.items = []
        s_items = share.items

        def m_set() -> None:
            m_value.value = 1

        def s_set() -> None:
            share.value = 1

        rows.append(
            (
                "get (`x.value` / `share.value`)",
                _per_op(lambda: m_value.value, n),
                _per_op(lambda: share.value, n),
            )
        )
        rows.append(
            ("set (`x.value = 1` / `share.value = 1`)", _per_op(m_set, n), _per_op(s_set, n))
        )
        rows.append(
            (
                "method call (`lst.append(1)`, proxy held)",
                _per_op(lambda: m_list.append(1), n),
                _per_op(lambda: s_items.append(1), n),
            )
        )
        rows.append(
            (
                "method call (`share.items.append(1)`)",
                float("nan"),
                _per_op(lambda: share.items.append(1), n),
            )
        )
    return [(name, m * 1e6, s * 1e6) for name, m, s in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (smoke test)")
    parser.add_argument(
        "--start-method", default="forkserver", choices=["fork", "forkserver", "spawn"]
    )
    parser.add_argument("--repeat", type=int, default=None, help="rounds per peer (best kept)")
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context(args.start_method)
    procs = 2
    n = 1_000 if args.quick else 5_000
    latency_n = 500 if args.quick else 5_000

    repeat = args.repeat or (1 if args.quick else 3)
    rows = bench_counter(ctx, procs, n, repeat)
    base = rows[0][1]
    print(
        f"## Share: {procs} processes x {n:,} `+= 1` ({args.start_method}, "
        f"{multiprocessing.cpu_count()} cores, best of {repeat})\n"
    )
    print("| peer | seconds | increments/s | speed vs Manager + Lock | lost updates |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, lost in rows:
        print(
            f"| {name} | {seconds:.3f} | {procs * n / seconds:,.0f} | "
            f"{base / seconds:.2f}x | {lost} |"
        )

    lat = bench_latency(ctx, latency_n)
    print(
        f"\n## Single-client latency, microseconds per operation "
        f"(best of 3 rounds of {latency_n:,})\n"
    )
    print("| operation | Manager | Share | Share vs Manager |")
    print("|---|---:|---:|---:|")
    for name, m_us, s_us in lat:
        ratio = f"{m_us / s_us:.2f}x" if m_us == m_us else "n/a"
        m_text = f"{m_us:.1f}" if m_us == m_us else "n/a"
        print(f"| {name} | {m_text} | {s_us:.1f} | {ratio} |")
    lost_any = any(lost for _, _, lost in rows)
    return 1 if lost_any else 0


if __name__ == "__main__":
    sys.exit(main())
