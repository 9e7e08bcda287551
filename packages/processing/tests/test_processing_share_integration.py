"""Share travelling inside Skprocess attributes and Pool items, under every start method."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from suitkaise.processing import Pool, Share, Skprocess
from suitkaise.sktime import Sktimer, TimeThis


class Worker(Skprocess):
    """Holds a Share as an attribute; every run adds to it."""

    def __init__(self, share: Share, runs: int) -> None:
        self.share = share
        self.process_config.runs = runs

    def __run__(self) -> None:
        self.share.counter += 1
        self.share.log.append(os.getpid())

    def __result__(self) -> int:
        return int(self.share.counter)


def pool_item(item: tuple[Share, int]) -> tuple[int, int]:
    share, x = item
    with TimeThis(share.timer):
        share.total += x
    share.seen.append(x)
    # which process, and how many connections it has opened to this Share so far
    return os.getpid(), share._sk_client.connects


def pool_args(share: Share, x: int) -> int:
    share.total += x
    return x


def test_share_in_skprocess_attributes(start_method: str) -> None:
    with Share(start_method=start_method) as share:
        share.counter = 0
        share.log = []
        workers = [Worker(share, 20) for _ in range(2)]
        for w in workers:
            w.process_config.start_method = start_method
            w.start()
        results = [w.result() for w in workers]
        assert share.counter == 40
        assert max(results) == 40
        assert len(share.log) == 40 and os.getpid() not in share.log


def test_share_in_pool_items_connects_once_per_worker(start_method: str) -> None:
    with Share(start_method=start_method) as share, Pool(2, start_method=start_method) as pool:
        share.total = 0
        share.seen = []
        share.timer = Sktimer()
        results = pool.map(pool_item, [(share, x) for x in range(60)])
        assert share.total == sum(range(60))
        assert sorted(share.seen) == list(range(60))
        assert share.timer.num_times == 60
        connects: dict[int, set[int]] = {}
        for pid, count in results:
            connects.setdefault(pid, set()).add(count)
        assert os.getpid() not in connects
        # repeated items reuse the worker's connection instead of reconnecting per item
        # (under fork the counter starts from the creator's count, inherited)
        assert all(len(counts) == 1 for counts in connects.values()), connects


def test_share_as_star_arguments(start_method: str) -> None:
    with Share(start_method=start_method) as share, Pool(2, start_method=start_method) as pool:
        share.total = 0
        assert pool.star().map(pool_args, [(share, x) for x in range(30)]) == list(range(30))
        assert share.total == sum(range(30))


MAIN_SCRIPT = """
import sys
from suitkaise.processing import Pool, Share, Skprocess


class Tally:  # defined in __main__: carried by value to the coordinator and the workers
    def __init__(self):
        self.seen = []

    def add(self, who):
        self.seen.append(who)


def work(item):
    share, x = item
    share.tally.add(x)
    share.count += 1
    return x * 2


class Bump(Skprocess):
    def __init__(self, share):
        self.share = share
        self.process_config.runs = 3

    def __run__(self):
        self.share.count += 10


if __name__ == "__main__":
    method = sys.argv[1]
    with Share(start_method=method) as share, Pool(2, start_method=method) as pool:
        share.tally = Tally()
        share.count = 0
        doubled = pool.map(work, [(share, x) for x in range(8)])
        bump = Bump(share)
        bump.process_config.start_method = method
        bump.run()
        print(doubled == [x * 2 for x in range(8)], sorted(share.tally.seen), share.count)
"""


def test_main_defined_classes_with_pool_and_skprocess(tmp_path: Path, start_method: str) -> None:
    script = tmp_path / "share_main.py"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), start_method],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True [0, 1, 2, 3, 4, 5, 6, 7] 38"
    assert "Traceback" not in done.stderr and "resource_tracker" not in done.stderr
