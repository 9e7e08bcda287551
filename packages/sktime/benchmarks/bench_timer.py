"""Benchmark: the cost of timing with suitkaise.sktime.

Three tables, each with ratios to the first row:

1. ns per ``start()``/``stop()`` pair vs a bare ``perf_counter()`` pair (target <= 5x), plus
   ``lap()``, ``TimeThis`` and ``add_time`` for context.
2. ``@timethis`` call overhead vs the undecorated call.
3. Reading ``mean``, ``stdev`` and ``percentile(95)`` repeatedly on 1k/10k/100k recorded times:
   the first read after a change pays O(n) (O(n log n) for percentiles); repeated reads must
   stay flat as n grows (O(1)). ``statistics``/a sort per read are shown as the O(n) baseline.

Every figure is the best of several runs, net of the empty-loop overhead (measured alongside).
Run: ``python packages/sktime/benchmarks/bench_timer.py [--quick]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

from suitkaise.sktime import Sktimer, TimeThis, timethis

perf_counter = time.perf_counter


def best_ns(loop: Callable[[int], float], n: int, repeat: int) -> float:
    """Best per-iteration time in ns of ``loop(n)`` (which returns its own elapsed seconds)."""
    return min(loop(n) for _ in range(repeat)) / n * 1e9


def empty_loop(n: int) -> float:
    start = perf_counter()
    for _ in range(n):
        pass
    return perf_counter() - start


def bare_pair(n: int) -> float:
    pc = perf_counter
    start = pc()
    for _ in range(n):
        pc()
        pc()
    return pc() - start


def sktimer_pair(n: int) -> float:
    timer = Sktimer()
    start = perf_counter()
    for _ in range(n):
        timer.start()
        timer.stop()
    return perf_counter() - start


def sktimer_lap(n: int) -> float:
    timer = Sktimer()
    timer.start()
    start = perf_counter()
    for _ in range(n):
        timer.lap()
    return perf_counter() - start


def timethis_block(n: int) -> float:
    timer = Sktimer()
    start = perf_counter()
    for _ in range(n):
        with TimeThis(timer):
            pass
    return perf_counter() - start


def add_time(n: int) -> float:
    timer = Sktimer()
    start = perf_counter()
    for _ in range(n):
        timer.add_time(0.001)
    return perf_counter() - start


def plain(x: int) -> int:
    return x


decorated = timethis(Sktimer())(plain)


def call_plain(n: int) -> float:
    f = plain
    start = perf_counter()
    for i in range(n):
        f(i)
    return perf_counter() - start


def call_decorated(n: int) -> float:
    f = decorated
    start = perf_counter()
    for i in range(n):
        f(i)
    return perf_counter() - start


def table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def hot_path(n: int, repeat: int) -> None:
    overhead = best_ns(empty_loop, n, repeat)
    cases = [
        ("bare `perf_counter()` pair", bare_pair),
        ("`Sktimer.start()` + `stop()`", sktimer_pair),
        ("`Sktimer.lap()`", sktimer_lap),
        ("`with TimeThis(timer):`", timethis_block),
        ("`Sktimer.add_time(x)`", add_time),
    ]
    measured = [(name, best_ns(fn, n, repeat) - overhead) for name, fn in cases]
    base = measured[0][1]
    rows = [(name, f"{ns:.0f}", f"{ns / base:.2f}x") for name, ns in measured]
    table(
        f"Hot path (ns per operation, net of a {overhead:.0f} ns loop step)",
        ("operation", "ns", "ratio"),
        rows,
    )


def decorator_overhead(n: int, repeat: int) -> None:
    overhead = best_ns(empty_loop, n, repeat)
    plain_ns = best_ns(call_plain, n, repeat) - overhead
    deco_ns = best_ns(call_decorated, n, repeat) - overhead
    table(
        "`@timethis` call overhead (ns per call)",
        ("call", "ns", "ratio", "added ns"),
        [
            ("undecorated `f(i)`", f"{plain_ns:.0f}", "1.00x", "0"),
            (
                "`@timethis` `f(i)`",
                f"{deco_ns:.0f}",
                f"{deco_ns / plain_ns:.2f}x",
                f"{deco_ns - plain_ns:.0f}",
            ),
        ],
    )


def read_ns(read: Callable[[], object], reads: int) -> float:
    start = perf_counter()
    for _ in range(reads):
        read()
    return (perf_counter() - start) / reads * 1e9


def statistics_row(size: int, reads: int) -> tuple[str, ...]:
    timer = Sktimer()
    for i in range(size):
        timer.add_time(0.001 + (i % 997) * 1e-6)
    data = timer.times
    first_start = perf_counter()
    _ = (timer.mean, timer.stdev, timer.percentile(95))
    first_ms = (perf_counter() - first_start) * 1e3
    mean_ns = read_ns(lambda: timer.mean, reads)
    stdev_ns = read_ns(lambda: timer.stdev, reads)
    p95_ns = read_ns(lambda: timer.percentile(95), reads)
    baseline_reads = max(3, reads // 1000)
    fmean_ns = read_ns(lambda: statistics.fmean(data), baseline_reads)
    sort_ns = read_ns(lambda: sorted(data)[int(0.95 * (len(data) - 1))], baseline_reads)
    return (
        f"{size:,}",
        f"{first_ms:.2f}",
        f"{mean_ns:.0f}",
        f"{stdev_ns:.0f}",
        f"{p95_ns:.0f}",
        f"{fmean_ns / 1e3:,.0f}",
        f"{sort_ns / 1e3:,.0f}",
        f"{fmean_ns / mean_ns:,.0f}x",
    )


def statistics_reads(sizes: list[int], reads: int) -> None:
    rows = [statistics_row(size, reads) for size in sizes]
    table(
        "Statistics: first read after a change, then repeated reads",
        (
            "times",
            "first mean+stdev+p95 (ms)",
            "`mean` (ns)",
            "`stdev` (ns)",
            "`percentile(95)` (ns)",
            "`statistics.fmean` per read (µs)",
            "sort per read (µs)",
            "fmean / cached mean",
        ),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (a few seconds)")
    args = parser.parse_args()
    n, repeat, reads = (100_000, 3, 2_000) if args.quick else (1_000_000, 7, 20_000)
    sizes = [1_000, 10_000, 100_000]
    print(
        f"suitkaise.sktime benchmark: Python {platform.python_version()} "
        f"({sys.implementation.name}), {platform.machine()}"
        f"{', quick' if args.quick else ''}"
    )
    hot_path(n, repeat)
    decorator_overhead(n, repeat)
    statistics_reads(sizes, reads)


if __name__ == "__main__":
    main()
