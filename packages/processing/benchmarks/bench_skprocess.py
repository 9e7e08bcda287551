"""Skprocess costs against plain multiprocessing, in one run.

1. Latency of a trivial ``Skprocess.run()`` vs ``multiprocessing.Process`` + ``Queue`` (start,
   get the result, join) with the same start method (fork, spawn). Target: <= 1.2x.
2. Engine overhead per iteration of a 10,000-run no-op process (measured inside the child),
   vs a bare Python loop calling the same no-op method; also with a run timeout set.
3. tell/listen round trip vs a raw ``multiprocessing.Pipe`` and a pair of ``Queue``s.

Usage: ``python packages/processing/benchmarks/bench_skprocess.py [--quick]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from typing import Any

from suitkaise.processing import Skprocess

# --------------------------------------------------------------------------- workloads


class Trivial(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        pass

    def __result__(self) -> int:
        return 42


def _mp_trivial(queue: Any) -> None:
    queue.put(42)


class NoOp(Skprocess):
    """Measures its own loop from inside the child."""

    def __init__(self, runs: int, timeout: float | None) -> None:
        self.process_config.runs = runs
        self.process_config.timeouts.run = timeout
        self.started = 0.0

    def __run__(self) -> None:
        if self.current_run == 0:
            self.started = time.perf_counter()

    def __onfinish__(self) -> None:
        self.elapsed = time.perf_counter() - self.started

    def __result__(self) -> float:
        return self.elapsed / max(1, self.process_config.runs - 1)  # type: ignore[operator]


class Echo(Skprocess):
    def __run__(self) -> None:
        message = self.listen()
        if message is None:
            self.stop()
            return
        self.tell(message)


def _pipe_echo(conn: Any) -> None:
    while (message := conn.recv()) is not None:
        conn.send(message)


def _queue_echo(inbox: Any, outbox: Any) -> None:
    while (message := inbox.get()) is not None:
        outbox.put(message)


# --------------------------------------------------------------------------- measurements


def _interleaved_medians(funcs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median time of each function, alternating them so that load changes hit all alike."""
    for func in funcs.values():
        func()  # warm-up (forkserver start, imports, page cache)
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def latency(method: str, repeat: int) -> dict[str, float]:
    ctx = multiprocessing.get_context(method)

    def raw() -> None:
        queue = ctx.Queue()
        proc = ctx.Process(target=_mp_trivial, args=(queue,))
        proc.start()
        assert queue.get() == 42
        proc.join()
        queue.close()
        queue.join_thread()

    def sk() -> None:
        p = Trivial()
        p.process_config.start_method = method
        assert p.run() == 42

    return _interleaved_medians(
        {"multiprocessing.Process + Queue": raw, "Skprocess.run()": sk}, repeat
    )


def engine_overhead(runs: int) -> dict[str, float]:
    class Plain:
        def __run__(self) -> None:
            pass

    plain = Plain()
    start = time.perf_counter()
    for _ in range(runs):
        plain.__run__()
    bare = (time.perf_counter() - start) / runs

    results = {"bare loop calling a no-op method": bare}
    for label, timeout in (
        ("Skprocess engine", None),
        ("Skprocess engine, timeouts.run set", 60.0),
    ):
        p = NoOp(runs, timeout)
        p.process_config.start_method = "fork"
        results[label] = p.run()
    return results


def _per_round_trip(send: Callable[[Any], Any], receive: Callable[[], Any], count: int) -> float:
    """Seconds per send + receive, after one warm-up exchange."""
    payload = {"id": 1, "values": [1.5, 2.5], "name": "item"}
    send(payload)
    receive()
    start = time.perf_counter()
    for _ in range(count):
        send(payload)
        receive()
    return (time.perf_counter() - start) / count


def round_trip(count: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("fork")
    results: dict[str, float] = {}

    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_pipe_echo, args=(child,))
    proc.start()
    results["multiprocessing.Pipe"] = _per_round_trip(parent.send, parent.recv, count)
    parent.send(None)
    proc.join()

    inbox, outbox = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_queue_echo, args=(inbox, outbox))
    proc.start()
    results["multiprocessing.Queue pair"] = _per_round_trip(inbox.put, outbox.get, count)
    inbox.put(None)
    proc.join()

    echo = Echo()
    echo.process_config.start_method = "fork"
    echo.start()
    label = "Skprocess tell/listen (signed cerial)"
    results[label] = _per_round_trip(echo.tell, echo.listen, count)
    echo.tell(None)
    echo.wait()
    return results


# --------------------------------------------------------------------------- report


def _table(title: str, rows: dict[str, float], unit: str, scale: float) -> str:
    first = next(iter(rows.values()))
    lines = [f"### {title}", "", f"| implementation | {unit} | ratio |", "|---|---:|---:|"]
    for name, seconds in rows.items():
        lines.append(f"| {name} | {seconds * scale:,.2f} | {seconds / first:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = parser.parse_args()
    repeat = 3 if args.quick else 20
    runs = 2_000 if args.quick else 10_000
    messages = 200 if args.quick else 2_000

    print(f"# Skprocess benchmark ({'quick' if args.quick else 'full'})\n")
    for method in ("fork", "spawn"):
        print(
            _table(
                f"Trivial process latency, start method {method} (median of {repeat})",
                latency(method, repeat),
                "ms",
                1e3,
            )
        )
    print(
        _table(
            f"Per-iteration engine overhead ({runs:,} no-op runs, measured in the child)",
            engine_overhead(runs),
            "us/run",
            1e6,
        )
    )
    print(
        _table(
            f"Message round trip parent -> child -> parent ({messages:,} messages, fork)",
            round_trip(messages),
            "us",
            1e6,
        )
    )


if __name__ == "__main__":
    main()
