"""Pool(cluster=...) and Share(listen=...) on a real dask.distributed LocalCluster.

One LocalCluster (2 worker processes, 1 thread each, everything on 127.0.0.1, no fixed port)
is started per module by a fixture and closed in its teardown: starting one costs seconds. The
Pool's core cases run against it: ordering, star, every modifier, errors, crashes, Skprocess
items, ``__main__`` objects (through a script with its own cluster), and a Share incremented
from cluster workers. The cluster backend starts no local worker processes, so these tests do
not take the ``start_method`` fixture; the Share's coordinator does, and its test does.

The shared scheduler runs with ``allowed-failures = 0`` so that a failure is reported at once
instead of being retried (dask's default, 3 retries, is documented in
docs/processing/cluster.md). Tests that kill workers get a cluster of their own
(``crash_client``), so a slow worker restart on a loaded machine cannot break the shared one.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import psutil
import pytest

distributed = pytest.importorskip(
    "distributed",
    reason='dask.distributed is not installed (pip install "suitkaise-processing[dask]")',
)
import dask  # noqa: E402

from packages.processing.tests.pool_items import (  # noqa: E402
    Adder,
    AlwaysFails,
    CustomError,
    Doubler,
    Flaky,
    crash_on_three,
    fail_on_five,
    square,
)
from suitkaise.processing import (  # noqa: E402
    Pool,
    ProcessCrashError,
    RemoteTraceback,
    ResultTimeoutError,
    RunError,
    Share,
    Skprocess,
)

WAIT = 30.0

# A cluster that stops answering must fail its test, not stall the whole suite.
pytestmark = pytest.mark.timeout(120)


# --------------------------------------------------------------------------- fixtures


def _local_cluster(allowed_failures: int) -> Any:
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        return distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP (health/metrics) server otherwise tries port 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    local = _local_cluster(allowed_failures=0)
    try:
        yield local
    finally:
        local.close(timeout=30)


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture
def crash_client() -> Iterator[Any]:
    """A cluster of its own for a test that kills workers, so the shared one stays healthy.

    One retry (``allowed-failures: 1``): a task that merely sat on a worker another item
    killed (which happens on a loaded machine while the nanny restarts it) runs again
    elsewhere, while the item that kills every worker it runs on is still given up on.
    """
    local = _local_cluster(allowed_failures=1)
    try:
        with distributed.Client(local, set_as_default=False) as dask_client:
            yield dask_client
    finally:
        local.close(timeout=30)


def _cluster_pids(cluster: Any) -> set[int]:
    """The worker processes of the cluster now, and their children (all belong to it)."""
    pids: set[int] = set()
    for nanny in list(cluster.workers.values()):
        process = getattr(nanny, "process", None)
        pid = getattr(getattr(process, "process", None), "pid", None)
        if pid is None:
            continue
        pids.add(pid)
        try:
            pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return pids


def _children() -> set[int]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if "forkserver" in cmdline or "resource_tracker" in cmdline:
            continue
        found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def no_leaked_children(cluster: Any) -> Iterator[None]:
    """Overrides conftest's leak check for this module: the same check, except that the
    module-scoped cluster's worker processes (which its nannies restart after a crash test,
    under new pids) belong to the cluster fixture, which closes them in its teardown."""
    before = _children()
    yield
    deadline = time.monotonic() + 10.0
    leaked = _children() - before - _cluster_pids(cluster)
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)  # bounded poll: processes told to exit get a moment to go
        leaked = _children() - before - _cluster_pids(cluster)
    for pid in leaked:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    assert not leaked, f"test left child processes running: {sorted(leaked)}"


# --------------------------------------------------------------------------- helpers


def sleepy_square(x: int) -> int:
    time.sleep(0.002 * (10 - x % 10))  # later items finish first
    return x * x


def crash_on_thirty(x: int) -> int:
    if x == 30:
        os._exit(7)
    return x


LOADS = 0


class CountsLoads:
    """A callable that counts, in each process, how many times it was deserialized."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        global LOADS
        LOADS += 1
        self.__dict__.update(state)

    def __call__(self, x: int) -> tuple[int, int]:
        return os.getpid(), LOADS


def interval(x: int) -> tuple[float, float]:
    start = time.time()
    time.sleep(0.05)
    return start, time.time()


def bump(share: Any, n: int) -> int:
    for _ in range(n):
        share.counter += 1
    share.log.append(n)
    return n


class KillsItsWorker(Skprocess):
    """Kills the cluster worker it runs on, every time; ``__error__`` gets the crash."""

    def __init__(self, log: str) -> None:
        self.log = log
        self.process_config.runs = 1
        self.process_config.lives = 2

    def __run__(self) -> None:
        with open(self.log, "a") as file:
            file.write("attempt\n")
        os._exit(7)

    def __error__(self) -> str:
        assert isinstance(self.error, ProcessCrashError)
        return f"handled: {type(self.error.__cause__).__name__}"


# --------------------------------------------------------------------------- construction


def test_bad_cluster_arguments(client: Any) -> None:
    with pytest.raises(TypeError, match="cluster"):
        Pool(cluster=42)
    with pytest.raises(ValueError, match="start_method"):
        Pool(cluster=client, start_method="spawn")
    with pytest.raises(ValueError, match="empty"):
        Pool(cluster="  ")


def test_workers_default_to_the_cluster_threads(client: Any) -> None:
    with Pool(cluster=client) as pool:
        assert pool.workers == 2
        assert pool.cluster == client.scheduler.address
        assert pool.pids == []
        assert "cluster=" in repr(pool)


def test_address_and_cluster_object_get_their_own_client(cluster: Any, client: Any) -> None:
    for target in (cluster.scheduler_address, cluster):
        pool = Pool(cluster=target)
        assert pool.map(square, [1, 2, 3]) == [1, 4, 9]
        own = pool._holder.cluster
        assert own is not None and own.owned and own.client is not client
        pool.close()
        assert own.client.status == "closed"
    # A Client the caller passed stays open.
    with Pool(cluster=client) as pool:
        pool.map(square, [1])
    assert client.status == "running"


def test_without_dask_the_error_says_what_to_install(tmp_path: Path) -> None:
    script = tmp_path / "no_dask.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            sys.modules["distributed"] = None  # as if dask.distributed were not installed
            import suitkaise.processing
            assert "dask" not in sys.modules  # importing processing never imports dask
            from suitkaise.processing import Pool
            try:
                Pool(cluster="tcp://127.0.0.1:1")
            except ImportError as exc:
                print(exc)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "suitkaise-processing[dask]"' in done.stdout


# --------------------------------------------------------------------------- methods


def test_four_methods_and_ordering(client: Any) -> None:
    with Pool(cluster=client) as pool:
        expected = [x * x for x in range(40)]
        assert pool.map(sleepy_square, range(40)) == expected
        assert sorted(pool.unordered_map(sleepy_square, range(40))) == expected
        assert list(pool.imap(sleepy_square, range(40))) == expected
        assert sorted(pool.unordered_imap(sleepy_square, range(40))) == expected
        assert pool.map(square, []) == []
        assert pool.map(square, range(2000)) == [x * x for x in range(2000)]


def test_star_with_every_method(client: Any) -> None:
    pairs = [(i, 2) for i in range(10)]
    expected = [i**2 for i in range(10)]
    with Pool(cluster=client) as pool:
        assert pool.star().map(pow, pairs) == expected
        assert sorted(pool.star().unordered_map(pow, pairs)) == expected
        assert list(pool.star().imap(pow, pairs)) == expected
        assert sorted(pool.star().unordered_imap(pow, pairs)) == expected


def test_lambdas_closures_locks_and_big_functions(client: Any) -> None:
    lock = threading.Lock()
    blob = os.urandom(200_000)  # a function payload this big is scattered once, not inlined

    def uses_lock(x: int) -> int:
        with lock:
            return x + len(blob)

    with Pool(cluster=client) as pool:
        k = 10
        assert pool.map(lambda x: x + k, [1, 2]) == [11, 12]
        assert pool.map(uses_lock, [0, 1]) == [200_000, 200_001]


def test_imap_with_infinite_generator_is_lazy(client: Any) -> None:
    pulled = [0]

    def endless() -> Iterator[int]:
        i = 0
        while True:
            pulled[0] += 1
            yield i
            i += 1

    with Pool(cluster=client) as pool:
        results = pool.imap(square, endless())
        assert [next(results) for _ in range(5)] == [0, 1, 4, 9, 16]
        # Stop consuming: the pool stops pulling once its bounded look-ahead is full. How far
        # ahead it got depends on the scheduler's latency (batches grow while results are slow
        # to come back), so check that pulling stops, and the same generous bound as locally.
        deadline = time.monotonic() + WAIT
        last = -1
        while pulled[0] != last and time.monotonic() < deadline:
            last = pulled[0]
            time.sleep(0.5)  # bounded poll: wait until the producer count settles
        assert pulled[0] == last, "the pool kept pulling from the generator"
        assert pulled[0] < 200_000
        results.close()


def _released(client: Any) -> bool:
    """Whether the Client holds no Pool task any more, within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if not any(str(key).startswith("suitkaise-pool") for key in list(client.futures)):
            return True
        time.sleep(0.05)
    return False


def test_function_is_loaded_once_per_call_and_tasks_are_released(client: Any) -> None:
    with Pool(cluster=client) as pool:
        for _ in range(2):
            loads: dict[int, set[int]] = {}
            for pid, count in pool.map(CountsLoads(), range(300)):
                loads.setdefault(pid, set()).add(count)
            assert all(len(counts) == 1 for counts in loads.values()), loads
        # Finished tasks hold no result on the cluster (released asynchronously: bounded poll).
        assert _released(client)
        results = pool.imap(time.sleep, [0.01] * 1000)
        next(results)
        results.close()  # cancels the outstanding tasks
        assert _released(client)


def test_workers_limits_concurrency_on_the_cluster(client: Any) -> None:
    with Pool(1, cluster=client) as pool:
        spans = sorted(pool.map(interval, range(6)))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.005  # one batch at a time: no two items overlap


# --------------------------------------------------------------------------- modifiers


def test_modifiers(client: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with Pool(cluster=client) as pool:
        future = pool.map.background()(square, range(5))
        assert isinstance(future, Future)
        assert future.result(WAIT) == [0, 1, 4, 9, 16]
        assert asyncio.run(pool.map.asynced()(square, range(3))) == [0, 1, 4]

        async def collect() -> list[int]:
            return [x async for x in pool.star().imap.asynced()(pow, [(2, 1), (2, 2)])]

        assert asyncio.run(collect()) == [2, 4]
        assert pool.map.progress(desc="squares")(square, range(4)) == [0, 1, 4, 9]
        assert "squares" in capfd.readouterr().err
        chained = pool.star().unordered_map.timeout(WAIT).progress().background()
        assert sorted(chained(pow, [(3, 2), (2, 2)]).result(WAIT)) == [4, 9]


def test_timeout_cancels_and_the_pool_stays_usable(client: Any) -> None:
    with Pool(cluster=client) as pool:
        started = time.monotonic()
        with pytest.raises(ResultTimeoutError) as info:
            pool.map.timeout(0.3)(time.sleep, [1.0, 1.0, 1.0, 1.0])
        assert time.monotonic() - started < 5.0
        assert isinstance(info.value, TimeoutError) and info.value.timeout == 0.3
        with pytest.raises(ResultTimeoutError):
            next(pool.imap.timeout(0.3)(time.sleep, [1.0]))
        assert pool.map(square, range(5)) == [0, 1, 4, 9, 16]


# --------------------------------------------------------------------------- errors and crashes


def test_error_keeps_type_message_traceback_and_index(client: Any) -> None:
    with Pool(cluster=client) as pool:
        for method in (pool.map, pool.unordered_map):
            with pytest.raises(CustomError, match="item 5 is bad") as info:
                method(fail_on_five, range(20))
            error = info.value
            assert error.code == 42
            assert error.item_index == 5  # type: ignore[attr-defined]
            assert isinstance(error.__cause__, RemoteTraceback)
            assert "fail_on_five" in str(error.__cause__)
        results = pool.imap(fail_on_five, range(20))
        assert [next(results) for _ in range(5)] == [0, 1, 2, 3, 4]
        with pytest.raises(CustomError):
            next(results)
        assert pool.map(square, [3]) == [9]


def test_worker_lost_raises_process_crash_error(crash_client: Any) -> None:
    with Pool(cluster=crash_client) as pool:
        with pytest.raises(ProcessCrashError) as info:
            pool.map(crash_on_three, range(8))
        assert info.value.item_index == 3  # type: ignore[attr-defined]
        assert "KilledWorker" in repr(info.value.__cause__)
        assert pool.map(square, range(4)) == [0, 1, 4, 9]  # the nanny restarted the worker


def test_worker_lost_by_an_skprocess_item_costs_lives_then_error_handler(
    crash_client: Any, tmp_path: Path
) -> None:
    log = tmp_path / "attempts"
    with Pool(cluster=crash_client) as pool:
        assert pool.map(KillsItsWorker, [str(log)]) == ["handled: KilledWorker"]
        # Each KilledWorker (after dask's own retry) that is surely this item's costs a life:
        # lives=2 means two such rounds at least, and __error__ ran without __run__.
        assert len(log.read_text().splitlines()) >= 4
        assert pool.map(square, range(4)) == [0, 1, 4, 9]


def test_worker_lost_in_a_batch_names_the_item_that_killed_it(crash_client: Any) -> None:
    with Pool(cluster=crash_client) as pool:
        # Cheap items: item 30 is in a batch of several, which is run again one item per
        # task to find the culprit.
        with pytest.raises(ProcessCrashError) as info:
            pool.map(crash_on_thirty, range(200))
        assert info.value.item_index == 30  # type: ignore[attr-defined]
        assert pool.map(square, range(4)) == [0, 1, 4, 9]


def test_runner_examples() -> None:
    import doctest

    from suitkaise.processing import run_cluster_batch

    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(run_cluster_batch, globs={})
    assert sum(len(t.examples) for t in tests) > 0
    runner = doctest.DocTestRunner()
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_skprocess_classes_as_items(client: Any, tmp_path: Path) -> None:
    with Pool(cluster=client) as pool:
        assert pool.map(Doubler, [1, 2, 3]) == [3, 6, 9]
        assert pool.star().map(Adder, [(1, 2), (3, 4)]) == [3, 7]
        markers = [str(tmp_path / "a"), str(tmp_path / "b")]
        assert pool.map(Flaky, markers) == ["recovered"] * 2
        with pytest.raises(RunError):
            pool.map(AlwaysFails, [0, 1])


# --------------------------------------------------------------------------- Share on the cluster


def test_share_counters_from_cluster_workers(client: Any, start_method: str) -> None:
    with Share(listen=("127.0.0.1", 0), start_method=start_method) as share:
        share.counter = 0
        share.log = []
        with Pool(cluster=client) as pool:
            assert pool.star().map(bump, [(share, 25)] * 8) == [25] * 8
        assert share.counter == 200
        assert sorted(share.log) == [25] * 8


def test_share_tcp_refuses_wrong_authkey_and_bad_addresses() -> None:
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    with Share(listen=("127.0.0.1", 0)) as share:
        share.x = 1
        address = share._sk_client.address
        assert isinstance(address, tuple) and address[1] > 0
        with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
            Client(address, family="AF_INET", authkey=b"wrong" * 8)
        share.x += 1
        assert share.x == 2  # the coordinator survived the intruder
    with pytest.raises(ValueError, match="wildcard"):
        Share(listen=("0.0.0.0", 0))
    with pytest.raises(TypeError, match="host, port"):
        Share(listen="127.0.0.1:0")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- __main__ script


def test_main_module_objects_on_a_cluster(tmp_path: Path) -> None:
    script = tmp_path / "cluster_main.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, threading
            from distributed import LocalCluster
            from suitkaise.processing import Pool, Share, Skprocess

            class Scale:
                def __init__(self, k):
                    self.k = k
                    self.lock = threading.Lock()
                    self.log = logging.getLogger("scale")
                def __call__(self, x):
                    with self.lock:
                        self.log.debug("scaling %s", x)
                        return self.k * x

            class Work(Skprocess):
                def __init__(self, x):
                    self.x = x
                    self.process_config.runs = 2
                def __run__(self):
                    self.x += 1
                def __result__(self):
                    return self.x

            def bump(share, n):
                share.total += n
                return n

            if __name__ == "__main__":
                with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}
                                  ) as cluster:
                    with Pool(cluster=cluster) as pool, Share(listen=("127.0.0.1", 0)) as share:
                        k = 5
                        share.total = 0
                        assert pool.map(Scale(3), [1, 2]) == [3, 6]
                        assert pool.map(lambda x: x + k, [1]) == [6]
                        assert pool.map(Work, [1, 10]) == [3, 12]
                        assert pool.star().map(bump, [(share, i) for i in range(10)]) == list(range(10))
                        assert share.total == 45
                print("ok")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "resource_tracker" not in done.stderr and "leaked" not in done.stderr
