"""Pool throughput vs multiprocessing.Pool, ProcessPoolExecutor and loky, in one run.

Workloads (every peer gets the same workers and a warm pool; start-up is reported apart):

* (a) ``trivial``: 10,000 tasks ``x * x``, timed two ways: one call at a time (the peers take
  turns, so every call starts from idle workers), and sustained throughput (``STREAM_CALLS``
  calls back to back, as a program that maps in a loop does);
* (b) ``cpu``: 200 tasks of ``--task-ms`` ms of CPU each (busy loop), with the parallel
  efficiency ``ideal / measured`` where ``ideal = tasks * task_ms / workers``;
* (c) ``transfer``: 1,000 tasks each returning a 1 MB ``bytes`` object.

The table gives seconds (best of ``--repeat`` rounds; for the few-millisecond (a), the best
and the median of 41 rounds) and, for every peer, its speed relative to
``multiprocessing.Pool`` (``t_mp / t_peer``: above 1.0 is faster). ``multiprocessing.Pool`` picks
its own chunk size; ``ProcessPoolExecutor`` and loky get the same chunk size
(``len / (4 * workers)``, the ``multiprocessing.Pool`` rule), since their default of 1 is not
what anyone would use for 10,000 small tasks; suitkaise sizes its batches itself.

Usage::

    python packages/processing/benchmarks/bench_pool.py [--quick] [--workers N] [--task-ms MS]
        [--start-method fork|forkserver|spawn] [--only trivial,cpu,transfer]
"""

from __future__ import annotations

import argparse
import importlib
import math
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from suitkaise.processing import Pool


def square(x: int) -> int:
    return x * x


def burn(ms: float) -> float:
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass
    return ms


def megabyte(i: int) -> bytes:
    return bytes([i % 256]) * 1_000_000


TRIVIAL_ROUNDS = 41
STREAM_CALLS = 50
STARTS = 3

Mapper = Callable[[Callable[[Any], Any], list[Any]], list[Any]]


class Peer:
    """A started pool of one library, exposing ``map(fn, items) -> list``."""

    def __init__(self, name: str, start: Callable[[], tuple[Mapper, Callable[[], None]]]) -> None:
        self.name = name
        self._start = start
        self.map: Mapper | None = None
        self._stop: Callable[[], None] | None = None

    def start(self, workers: int) -> float:
        started = time.perf_counter()
        self.map, self._stop = self._start()
        self.map(square, list(range(workers)))  # first use: workers are really up
        return time.perf_counter() - started

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


def _chunks(items: int, workers: int) -> int:
    return max(1, math.ceil(items / (4 * workers)))


def make_peers(workers: int, method: str) -> list[Peer]:
    ctx = multiprocessing.get_context(method)

    def mp_pool() -> tuple[Mapper, Callable[[], None]]:
        pool = ctx.Pool(workers)

        def stop() -> None:
            pool.close()
            pool.join()

        return (lambda f, xs: pool.map(f, xs)), stop

    def executor() -> tuple[Mapper, Callable[[], None]]:
        ex = ProcessPoolExecutor(workers, mp_context=ctx)
        return (
            lambda f, xs: list(ex.map(f, xs, chunksize=_chunks(len(xs), workers))),
            lambda: ex.shutdown(wait=True),
        )

    def loky_pool() -> tuple[Mapper, Callable[[], None]]:
        from loky import get_reusable_executor

        ex = get_reusable_executor(max_workers=workers, reuse=False)
        return (
            lambda f, xs: list(ex.map(f, xs, chunksize=_chunks(len(xs), workers))),
            lambda: ex.shutdown(wait=True, kill_workers=True),
        )

    def suitkaise_pool() -> tuple[Mapper, Callable[[], None]]:
        pool = Pool(workers, start_method=method)
        return (lambda f, xs: pool.map(f, xs)), pool.close

    peers = [Peer("multiprocessing.Pool", mp_pool), Peer("ProcessPoolExecutor", executor)]
    try:
        import loky  # noqa: F401

        peers.append(Peer("loky", loky_pool))
    except ImportError:
        print("(loky is not installed: skipped)")
    peers.append(Peer("suitkaise Pool", suitkaise_pool))
    return peers


def timed(fmap: Mapper, fn: Callable[[Any], Any], items: list[Any]) -> float:
    started = time.perf_counter()
    out = fmap(fn, items)
    took = time.perf_counter() - started
    assert len(out) == len(items)
    return took


def timed_stream(fmap: Mapper, fn: Callable[[Any], Any], items: list[Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fmap(fn, items)
    return time.perf_counter() - started


def row(label: str, values: dict[str, float], fmt: Callable[[float], str], higher: bool) -> str:
    base = next(iter(values.values()))
    cells = []
    for value in values.values():
        ratio = (value / base) if higher else (base / value if value else math.inf)
        cells.append(f"{fmt(value)} ({ratio:.2f}x)")
    return f"| {label} | " + " | ".join(cells) + " |"


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads, one repeat")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task-ms", type=float, default=10.0, help="CPU per task in (b)")
    parser.add_argument(
        "--start-method", default="fork", choices=multiprocessing.get_all_start_methods()
    )
    parser.add_argument("--only", default="trivial,cpu,transfer")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    workers, quick = args.workers, args.quick
    repeat = args.repeat or (1 if quick else 3)
    only = set(args.only.split(","))
    trivial_n = 2_000 if quick else 10_000
    cpu_n = 40 if quick else 200
    transfer_n = 100 if quick else 1_000

    print(
        f"Pool benchmark: {workers} workers, start method {args.start_method}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{'quick' if quick else f'best of {repeat}'}\n"
    )
    workloads: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {}
    if "trivial" in only:
        workloads["trivial"] = (square, list(range(trivial_n)))
    if "cpu" in only:
        workloads["cpu"] = (burn, [args.task_ms] * cpu_n)
    if "transfer" in only:
        workloads["transfer"] = (megabyte, list(range(transfer_n)))
    # Start-up measures starting processes, not first imports: import every library first.
    importlib.import_module("concurrent.futures.process")
    importlib.import_module("multiprocessing.pool")
    importlib.import_module("multiprocessing.sharedctypes")  # suitkaise: workers' control slots
    from suitkaise import cerial

    cerial.deserialize(cerial.serialize(square, key=b"warm-up"), key=b"warm-up")

    peers = make_peers(workers, args.start_method)
    startup: dict[str, float] = {}
    results: dict[str, dict[str, float]] = {name: {} for name in workloads}
    trivial_rounds: dict[str, list[float]] = {peer.name: [] for peer in peers}
    stream: dict[str, float] = {}
    try:
        # Start-up: best of STARTS (each peer in turn, so a slow moment does not land on one
        # peer only); the pools of the last round run the workloads.
        for start_round in range(STARTS):
            for peer in peers:
                took = peer.start(workers)
                startup[peer.name] = min(startup.get(peer.name, math.inf), took)
                if start_round < STARTS - 1:
                    peer.stop()
        # Rounds interleave the peers, so that a burst of load from elsewhere on the machine
        # does not land on one peer only; each figure is the best of its rounds.
        for round_number in range(max(repeat, TRIVIAL_ROUNDS)):
            for name, (fn, items) in workloads.items():
                if round_number >= repeat and name != "trivial":
                    continue  # a few ms each: more rounds make its best-of robust to noise
                for peer in peers:
                    assert peer.map is not None
                    took = timed(peer.map, fn, items)
                    if name == "trivial":
                        trivial_rounds[peer.name].append(took)
                        if round_number < repeat:
                            calls = 5 if quick else STREAM_CALLS
                            rate = calls * len(items) / timed_stream(peer.map, fn, items, calls)
                            stream[peer.name] = max(stream.get(peer.name, 0.0), rate)
                    best = results[name].get(peer.name, math.inf)
                    results[name][peer.name] = min(best, took)
    finally:
        for peer in peers:
            peer.stop()

    names = list(startup)
    print("| workload | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    ms: Callable[[float], str] = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    print(row(f"pool start-up + first map, best of {STARTS}", startup, ms, higher=False))
    if results.get("trivial"):
        print(row(f"(a) {trivial_n:,} x `x*x`, best", results["trivial"], ms, higher=False))
        medians = {name: statistics.median(times) for name, times in trivial_rounds.items()}
        print(row(f"(a) {trivial_n:,} x `x*x`, median", medians, ms, higher=False))
        calls = 5 if quick else STREAM_CALLS
        per_s: Callable[[float], str] = lambda r: f"{r / 1e6:.2f} M tasks/s"  # noqa: E731
        print(row(f"(a) {calls} such calls back to back", stream, per_s, higher=True))
    if results.get("cpu"):
        print(row(f"(b) {cpu_n} x {args.task_ms:g} ms CPU", results["cpu"], ms, higher=False))
        ideal = cpu_n * args.task_ms / 1000.0 / workers
        efficiency = {name: ideal / t for name, t in results["cpu"].items()}
        pct: Callable[[float], str] = lambda e: f"{e * 100:.1f}%"  # noqa: E731
        print(row("(b) parallel efficiency", efficiency, pct, higher=True))
    if results.get("transfer"):
        print(row(f"(c) {transfer_n:,} x 1 MB results", results["transfer"], ms, higher=False))
    print(
        "\nRatios are relative to multiprocessing.Pool: speed (t_mp / t_peer) for times, "
        "efficiency / efficiency_mp for efficiency; above 1.00x is better."
    )


if __name__ == "__main__":
    main()
