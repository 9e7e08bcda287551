"""Share travelling inside Skprocess attributes and Pool items, under every start method."""

from __future__ import annotations

import os

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
