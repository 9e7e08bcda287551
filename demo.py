"""suitkaise in one minute: cerial, sktime and processing working together on real work.

Run it with ``hatch run demo`` (or ``python demo.py`` where suitkaise is installed).

What it shows:
  1. a ``Pool`` with a progress bar counting primes (real CPU-bound work), against a sequential run;
  2. a ``Share`` aggregating counts and an ``Sktimer`` from every worker, with no lost update;
  3. a class defined right here in ``__main__``, holding a lock and a logger, crossing into workers;
  4. an ``Skprocess`` with lives and a timeout surviving a flaky step.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import threading
from pathlib import Path

from suitkaise import Pool, Share, Skprocess, Sktimer, TimeThis, cerial
from suitkaise.processing import ProcessTimeoutError


def count_primes(bounds: tuple[int, int]) -> int:
    """Count primes in [lo, hi) by trial division: honest CPU work, no shortcuts."""
    lo, hi = bounds
    found = 0
    for n in range(max(lo, 2), hi):
        if n % 2 == 0 and n != 2:
            continue
        for d in range(3, math.isqrt(n) + 1, 2):
            if n % d == 0:
                break
        else:
            found += 1
    return found


class Reporter:
    """A plain class from __main__ with a lock and a logger: pickle refuses both, cerial carries them."""

    def __init__(self, name: str) -> None:
        self.lock = threading.Lock()
        self.log = logging.getLogger(name)

    def report(self, chunk: tuple[int, int], primes: int) -> str:
        with self.lock:
            return (
                f"{self.log.name}: [{chunk[0]}, {chunk[1]}) has {primes} primes (pid {os.getpid()})"
            )


def counted_job(share: Share, reporter: Reporter, chunk: tuple[int, int]) -> str:
    with TimeThis(share.timer):
        primes = count_primes(chunk)
    share.primes += primes  # atomic in the Share's coordinator: no lock needed
    share.chunks += 1
    return reporter.report(chunk, primes)


class FlakyDownload(Skprocess):
    """Hangs on its first attempt (the timeout fires, a life is spent), then succeeds."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.attempt_log: list[str] = []
        self.process_config.runs = 3
        self.process_config.lives = 2
        self.process_config.timeouts.run = 0.5

    def __run__(self) -> None:
        first_attempt = not Path(self.marker).exists()
        if first_attempt and self.current_run == 1:
            Path(self.marker).write_text("tried once")
            threading.Event().wait(5)  # a stuck step: the 0.5 s timeout interrupts it
        self.attempt_log.append(f"run {self.current_run} ok")

    def __result__(self) -> list[str]:
        return self.attempt_log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32, help="number of work chunks (default 32)")
    parser.add_argument(
        "--chunk", type=int, default=40_000, help="numbers per chunk (default 40000)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="pool workers (default: all cores)"
    )
    args = parser.parse_args(argv)
    if args.items < 1 or args.chunk < 1:
        parser.error("--items and --chunk must be positive")
    workers = args.workers or os.cpu_count() or 1
    chunks = [(i * args.chunk, (i + 1) * args.chunk) for i in range(args.items)]

    print(f"suitkaise demo: {args.items} chunks of {args.chunk} numbers, {workers} workers\n")

    # 1. Sequential baseline, timed with an Sktimer.
    sequential = Sktimer()
    with TimeThis(sequential):
        expected = sum(count_primes(c) for c in chunks)

    # 2-3. The same work on a Pool, with a Share and a __main__ class travelling with each item.
    reporter = Reporter("demo.reporter")
    assert cerial.deserialize(cerial.serialize(reporter)).log is reporter.log
    wall = Sktimer()
    with Share() as share, Pool(workers=workers) as pool:
        share.primes = 0
        share.chunks = 0
        share.timer = Sktimer()
        items = [(share, reporter, c) for c in chunks]
        with TimeThis(wall):
            lines = pool.star().map.progress(desc="counting primes")(counted_job, items)
        primes, done, per_chunk = share.primes, share.chunks, share.snapshot()["timer"]
    print("\n".join([*lines[:3], "..."]))

    # 4. An Skprocess that survives a stuck step thanks to its timeout and a second life.
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "marker"
        flaky = FlakyDownload(str(marker))
        flaky_timer = Sktimer()
        with TimeThis(flaky_timer):
            outcome = flaky.run()
        got_stuck = marker.exists()

    ok = primes == expected and done == len(chunks)
    speedup = sequential.most_recent / wall.most_recent
    print("\nSummary")
    print(
        f"  primes below {args.items * args.chunk:,}: {primes:,} (sequential says {expected:,}) "
        f"{'OK' if ok else 'MISMATCH'}"
    )
    print(f"  chunks counted by the Share: {done} of {len(chunks)}, none lost")
    print(f"  per-chunk time across workers: {per_chunk}")
    print(
        f"  sequential {sequential.most_recent:.2f} s, pool {wall.most_recent:.2f} s: "
        f"speed-up {speedup:.2f}x on {workers} workers"
    )
    # The stuck step waits 5 s: finishing well before that means the 0.5 s timeout cut it short.
    survived = got_stuck and flaky_timer.most_recent < 5.0
    print(
        f"  flaky Skprocess: {outcome} in {flaky_timer.most_recent:.2f} s; first life "
        + (f"stuck, cut by a {ProcessTimeoutError.__name__}" if survived else "NOT interrupted")
    )
    return 0 if ok and survived else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(main())
