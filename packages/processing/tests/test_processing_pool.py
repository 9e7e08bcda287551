"""Pool: methods, ordering, laziness, modifiers, errors, crashes, timeouts, Skprocess items.

Every test that starts workers takes the ``start_method`` fixture, so the suite runs under fork,
forkserver and spawn. Each test uses 2 workers and small inputs: the suite runs three times.
Helper functions live at module level (under spawn/forkserver a worker imports this module to
find them); the ``__main__`` case is covered by a script test.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from packages.processing.tests.pool_items import (
    Adder,
    AlwaysFails,
    CustomError,
    Doubler,
    Flaky,
    crash_on_three,
    fail_on_five,
    square,
)
from suitkaise.processing import (
    Pool,
    ProcessCrashError,
    ProcessError,
    RemoteTraceback,
    ResultTimeoutError,
    RunError,
    Skprocess,
    autoreconnect,
)

WAIT = 30.0  # upper bound for any wait on a healthy pool (a loaded 2-core machine is slow)


# --------------------------------------------------------------------------- helpers (module level)


def add(a: int, b: int) -> int:
    return a + b


def sleepy_square(x: int) -> int:
    # Later items finish first: completion order differs from input order.
    time.sleep(0.002 * (10 - x % 10))
    return x * x


def nap(x: int) -> int:
    time.sleep(0.001)
    return x


def pid_of(_: object) -> int:
    return os.getpid()


def kill_self_on_two(x: int) -> int:
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def segfault_on_four(x: int) -> int:
    if x == 4:
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return x


def crash_once_on_five(marker: str, x: int) -> int:
    if x == 5 and not os.path.exists(marker):
        Path(marker).write_text("crashed")
        os._exit(3)
    return x


def slow_on_one(x: int) -> int:
    if x == 1:
        time.sleep(60)
    return x


def fail_while_one_sleeps(marker: str, role: str) -> str:
    # "sleep" says (with its pid) that it is running, then sleeps; "fail" waits for that and
    # raises, so the error arrives while another worker is busy with the same call. "warm"
    # takes 10 ms: the scheduler then knows the item cost and sends the others one by one.
    if role == "warm":
        time.sleep(0.01)
    elif role == "sleep":
        Path(marker + ".tmp").write_text(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
        time.sleep(3)
    else:
        deadline = time.monotonic() + 10
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.005)  # bounded poll on a file written by another process
        raise CustomError("item fails while another sleeps", code=1)
    return role


def meet(folder: str, _: int) -> int:
    # Returns once two workers run it at the same time: both workers are started and idle.
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 10
    while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)  # bounded poll on files written by another process
    return os.getpid()


def returns_lock(_: object) -> object:
    return threading.Lock()


def _explode_in(pid: int) -> str:
    if os.getpid() == pid:
        raise ValueError("this object cannot be loaded in the caller")
    return "loaded"


class LoadsOnlyElsewhere:
    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __reduce__(self) -> tuple[Any, ...]:
        return (_explode_in, (self.pid,))


def returns_unloadable(pid: int) -> LoadsOnlyElsewhere:
    return LoadsOnlyElsewhere(pid)


def unpicklable_result(_: object) -> object:
    return (i for i in range(3))  # generators cannot be serialized


class ErrorAsValue(Skprocess):
    def __init__(self, value: int) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        raise ValueError("handled")

    def __error__(self) -> str:
        return f"handled: {type(self.error).__name__}"


@autoreconnect()
class DbReader(Skprocess):
    """Gets a live sqlite3 connection from the parent; @autoreconnect revives it."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.value = None
        self.process_config.runs = 1

    def __run__(self) -> None:
        self.value = self.db.execute("select v from t").fetchone()[0]

    def __result__(self) -> Any:
        return self.value


def bump_shared(share: Any, n: int) -> int:
    share.counter += n
    return n


class SlowSection(Skprocess):
    """Its run section times out on the first attempt only (lives=2)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.process_config.runs = 1
        self.process_config.lives = 2
        self.process_config.timeouts.run = 0.3

    def __run__(self) -> None:
        path = Path(self.marker)
        if not path.exists():
            path.write_text("slow")
            time.sleep(30)

    def __result__(self) -> str:
        return "in time"


def counting(limit: int | None, counter: list[int]) -> Iterator[int]:
    for i in itertools.count():
        if limit is not None and i >= limit:
            return
        counter[0] += 1
        yield i


# --------------------------------------------------------------------------- construction and input


def test_bad_construction_arguments() -> None:
    with pytest.raises(ValueError, match="workers"):
        Pool(0)
    with pytest.raises(ValueError, match="workers"):
        Pool(-2)
    with pytest.raises(TypeError, match="workers"):
        Pool(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start_method"):
        Pool(2, start_method="teleport")


def test_default_workers_is_cpu_count() -> None:
    pool = Pool()
    assert pool.workers == (os.cpu_count() or 1)
    assert pool.pids == []  # nothing started before first use
    pool.close()


def test_bad_call_arguments_do_not_start_workers() -> None:
    pool = Pool(2)
    with pytest.raises(TypeError, match="function or Skprocess class"):
        pool.map(42, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable"):
        pool.map(square, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout"):
        pool.map.timeout("soon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        pool.map.timeout(0)
    assert pool.pids == []
    pool.close()


def test_empty_input(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(square, []) == []
        assert list(pool.imap(square, [])) == []
        assert pool.map(square, iter([])) == []
        assert list(pool.unordered_imap(square, iter([]))) == []


def test_calling_after_close_raises(start_method: str) -> None:
    pool = Pool(2, start_method=start_method)
    assert pool.map(square, [1, 2]) == [1, 4]
    pool.close()
    assert pool.closed
    with pytest.raises(RuntimeError, match="closed"):
        pool.map(square, [1])
    with pytest.raises(RuntimeError, match="closed"):
        pool.imap(square, [1])
    pool.close()  # idempotent
    pool.terminate()


# --------------------------------------------------------------------------- methods and ordering


def test_four_methods_and_ordering(start_method: str) -> None:
    data = list(range(40))
    expected = [x * x for x in data]
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(sleepy_square, data) == expected
        assert pool.map(square, (x for x in data)) == expected  # a generator works too
        assert list(pool.imap(sleepy_square, data)) == expected
        unordered = pool.unordered_map(sleepy_square, data)
        assert sorted(unordered) == expected
        assert sorted(pool.unordered_imap(sleepy_square, data)) == expected


def test_workers_are_persistent_and_reused(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        first = set(pool.map(pid_of, range(20)))
        pids = set(pool.pids)
        assert first <= pids and len(pids) == 2
        assert set(pool.map(pid_of, range(20))) <= pids
        assert set(pool.pids) == pids
    assert pool.pids == []


def test_concurrent_calls_share_the_workers(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        first = pool.map.background()(sleepy_square, range(30))
        second = pool.unordered_map.background()(square, range(50))
        a = pool.imap(square, range(20))
        b = pool.imap(square, range(100, 120))
        interleaved = [(next(a), next(b)) for _ in range(20)]
        assert interleaved == [(x * x, (100 + x) ** 2) for x in range(20)]
        assert first.result(WAIT) == [x * x for x in range(30)]
        assert sorted(second.result(WAIT)) == [x * x for x in range(50)]


def test_a_list_call_never_runs_another_calls_input_on_the_callers_thread(
    start_method: str,
) -> None:
    # A list call may send its own first batches from the caller's thread; another call's
    # input generator must still be pulled by the pool's scheduler thread only (a Ctrl-C in
    # the caller would otherwise land in that generator and become the other call's error).
    pulled_on: list[str] = []

    def numbers() -> Iterator[int]:
        for i in itertools.count():
            pulled_on.append(threading.current_thread().name)
            yield i

    with Pool(2, start_method=start_method) as pool:
        pool.map(square, range(2))
        streaming = pool.imap(square, numbers())
        for _ in range(25):
            for _ in range(10):
                next(streaming)  # frees look-ahead: the scheduler wants more input
            assert pool.map(square, [1, 2, 3]) == [1, 4, 9]
        streaming.close()
        assert pulled_on and "MainThread" not in pulled_on
        assert set(pulled_on) == {"suitkaise-pool"}


def test_a_worker_that_cannot_be_replaced_breaks_the_pool_cleanly(start_method: str) -> None:
    # Starting a replacement worker can fail (too many open files or processes); that failure
    # is simulated here, since exhausting the machine's limits in a test is not an option.
    # The pool must say it is broken at once and release its other worker, not hang.
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(square, range(4)) == [0, 1, 4, 9]
        runtime = pool._holder.runtime
        assert runtime is not None

        def cannot_start() -> Any:
            raise OSError(24, "Too many open files (simulated)")

        runtime._start_worker = cannot_start  # type: ignore[method-assign,union-attr]
        with pytest.raises(ProcessError, match="Too many open files"):
            pool.map.timeout(WAIT)(crash_on_three, range(6))
        deadline = time.monotonic() + WAIT
        while runtime.broken is None and time.monotonic() < deadline:
            time.sleep(0.01)  # bounded poll: the scheduler handles the death
        with pytest.raises(RuntimeError, match="broken"):
            pool.map(square, [1])


def test_list_calls_from_many_threads_at_once(start_method: str) -> None:
    # A list call on a sequence is dispatched from the caller's thread when the scheduler is
    # idle, and posted to it otherwise: both paths race here.
    with Pool(2, start_method=start_method) as pool:
        failures: list[BaseException] = []

        def caller(offset: int) -> None:
            try:
                for round_number in range(15):
                    data = list(range(offset, offset + 50 + round_number))
                    assert pool.map(square, data) == [x * x for x in data]
                    assert sorted(pool.unordered_map(square, tuple(data))) == [x * x for x in data]
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=caller, args=(i * 1000,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []


def _use_pool_in_child(pool: Pool, queue: Any) -> None:
    try:
        pool.map(square, [1])
        queue.put("no error")
    except RuntimeError as exc:
        queue.put(str(exc))


def test_pool_refuses_to_run_in_a_forked_child() -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with Pool(2, start_method="fork") as pool:
        assert pool.map(square, [2]) == [4]
        queue = ctx.SimpleQueue()
        child = ctx.Process(target=_use_pool_in_child, args=(pool, queue))
        child.start()
        child.join(WAIT)
        assert child.exitcode == 0
        assert "forked child" in queue.get()
        assert pool.map(square, [3]) == [9]  # the parent's pool is unaffected
        queue.close()


def test_garbage_collected_pool_releases_its_workers(start_method: str) -> None:
    import gc

    import psutil

    pool = Pool(2, start_method=start_method)
    pool.map(square, range(4))
    procs = [psutil.Process(pid) for pid in pool.pids]
    del pool
    gc.collect()
    _, alive = psutil.wait_procs(procs, timeout=WAIT)
    assert not alive


def test_star_unpacks_tuples_with_every_method(start_method: str) -> None:
    pairs = [(i, 10 * i) for i in range(12)]
    expected = [a + b for a, b in pairs]
    with Pool(2, start_method=start_method) as pool:
        star = pool.star()
        assert star.map(add, pairs) == expected
        assert sorted(star.unordered_map(add, pairs)) == expected
        assert list(star.imap(add, pairs)) == expected
        assert sorted(star.unordered_imap(add, pairs)) == expected
        assert star.map.timeout(WAIT).progress()(add, pairs) == expected


def test_lambdas_and_closures(start_method: str) -> None:
    offset = 7

    def closure(x: int) -> int:
        return x + offset

    with Pool(2, start_method=start_method) as pool:
        assert pool.map(lambda x: x * 3, range(5)) == [0, 3, 6, 9, 12]
        assert pool.map(closure, range(3)) == [7, 8, 9]


def test_imap_with_infinite_generator_is_lazy(start_method: str) -> None:
    produced = [0]
    with Pool(2, start_method=start_method) as pool:
        results = pool.imap(square, counting(None, produced))
        assert [next(results) for _ in range(50)] == [x * x for x in range(50)]
        # Stop consuming: the pool stops pulling once its bounded look-ahead is full.
        deadline = time.monotonic() + WAIT
        last = -1
        while produced[0] != last and time.monotonic() < deadline:
            last = produced[0]
            time.sleep(0.2)  # bounded poll: wait until the producer count settles
        assert produced[0] == last, "the pool kept pulling from the generator"
        assert produced[0] < 200_000
        results.close()
        # With ~1 ms items, batches hold at most ~250 items, so the look-ahead window is a few
        # thousand items: far below what an unbounded producer would have reached.
        produced = [0]
        with pool.imap(nap, counting(None, produced)) as napping:
            assert [next(napping) for _ in range(20)] == list(range(20))
            last = -1
            while produced[0] != last and time.monotonic() < deadline + WAIT:
                last = produced[0]
                time.sleep(0.5)  # bounded poll: wait until the producer count settles
            assert produced[0] == last
            assert produced[0] < 5_000
        # unordered_imap as well, and the pool is still usable afterwards
        with pool.unordered_imap(square, counting(None, [0])) as unordered:
            assert len([next(unordered) for _ in range(20)]) == 20
        assert pool.map(square, [3]) == [9]


def test_function_is_shipped_once_per_call_not_per_item(start_method: str) -> None:
    # A function whose payload is large: sending it per item would move ~100 MB.
    blob = b"x" * 1_000_000

    def uses_blob(x: int) -> int:
        return x + len(blob)

    with Pool(2, start_method=start_method) as pool:
        started = time.monotonic()
        assert pool.map(uses_blob, range(100)) == [x + 1_000_000 for x in range(100)]
        assert time.monotonic() - started < WAIT


# --------------------------------------------------------------------------- modifiers


def test_background_returns_future(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        future = pool.map.background()(square, range(10))
        assert isinstance(future, Future)
        assert future.result(WAIT) == [x * x for x in range(10)]
        future = pool.imap.background()(square, range(5))
        assert list(future.result(WAIT)) == [x * x for x in range(5)]
        failing = pool.map.background().timeout(WAIT)(fail_on_five, range(10))
        with pytest.raises(CustomError):
            failing.result(WAIT)


def test_asynced_inside_a_running_event_loop(start_method: str) -> None:
    async def main(pool: Pool) -> tuple[list[int], list[int], list[int]]:
        listed = await pool.map.asynced()(square, range(8))
        star = await pool.star().unordered_map.asynced().timeout(WAIT)(add, [(1, 2), (3, 4)])
        streamed = [r async for r in pool.imap.asynced()(square, range(6))]
        return listed, sorted(star), streamed

    with Pool(2, start_method=start_method) as pool:
        listed, star, streamed = asyncio.run(main(pool))
    assert listed == [x * x for x in range(8)]
    assert star == [3, 7]
    assert streamed == [x * x for x in range(6)]


def test_progress_bar_on_stderr(start_method: str, capfd: pytest.CaptureFixture[str]) -> None:
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(square, range(30)) == [x * x for x in range(30)]
        assert "it/s" not in capfd.readouterr().err  # no bar unless asked
        assert pool.map.progress("squaring")(square, range(30)) == [x * x for x in range(30)]
        err = capfd.readouterr().err
        assert "squaring" in err and "30/30" in err
        assert list(pool.imap.progress()(square, range(12))) == [x * x for x in range(12)]
        assert "12/12" in capfd.readouterr().err


def test_every_modifier_combination(start_method: str, capfd: pytest.CaptureFixture[str]) -> None:
    data = list(range(6))
    expected = [x * x for x in data]
    modifiers = ["timeout", "background", "asynced", "progress"]

    def apply(method: Any, names: tuple[str, ...]) -> Any:
        for name in names:
            method = method.timeout(WAIT) if name == "timeout" else getattr(method, name)()
        return method

    async def collect(value: Any) -> Any:
        if hasattr(value, "__aiter__"):
            return [r async for r in value]
        return await value

    pairs = [(x, x) for x in data]  # star(): mul(x, x) == square(x)
    with Pool(2, start_method=start_method) as pool:
        for size in range(1, len(modifiers) + 1):
            for names in itertools.permutations(modifiers, size):
                if size > 2 and names != tuple(sorted(names)):
                    continue  # every subset once, and every order of pairs
                for method_name in ("map", "unordered_map", "imap", "unordered_imap"):
                    star = size % 2 == 0  # star() with half of the combinations
                    source = pool.star() if star else pool
                    method = apply(getattr(source, method_name), names)
                    value = method(operator.mul, pairs) if star else method(square, data)
                    if "asynced" in names:
                        value = asyncio.run(collect(value))
                    elif "background" in names:
                        value = value.result(WAIT)
                    result = list(value)
                    if method_name.startswith("unordered"):
                        result = sorted(result)
                    assert result == expected, (method_name, names, star)
    capfd.readouterr()


# --------------------------------------------------------------------------- errors


def test_error_keeps_type_message_traceback_and_index(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(CustomError, match="item 5 is bad") as info:
            pool.map(fail_on_five, range(20))
        error = info.value
        assert error.code == 42
        assert error.item_index == 5  # type: ignore[attr-defined]
        assert any("item 5" in note for note in error.__notes__)
        assert isinstance(error.__cause__, RemoteTraceback)
        assert "fail_on_five" in str(error.__cause__)
        # the pool is still usable (a worker still running the call's items is replaced)
        assert pool.map(square, range(10)) == [x * x for x in range(10)]
        assert len(pool.pids) == 2
        with pytest.raises(CustomError):
            pool.unordered_map(fail_on_five, range(20))


def test_imap_yields_results_before_the_error(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        seen = []
        with pytest.raises(CustomError) as info:
            for value in pool.imap(fail_on_five, range(20)):
                seen.append(value)
        assert seen == [0, 1, 2, 3, 4]
        assert info.value.item_index == 5  # type: ignore[attr-defined]
        seen = []
        with pytest.raises(CustomError):
            for value in pool.unordered_imap(fail_on_five, range(20)):
                seen.append(value)
        assert 5 not in seen
        assert pool.map(square, [4]) == [16]


def both_workers_meet(pool: Pool, folder: Path) -> set[int]:
    """Run one item on each worker at the same time; their pids (both workers ready)."""
    folder.mkdir()
    return set(pool.star().unordered_imap(meet, [(str(folder), 0), (str(folder), 1)]))


def test_error_kills_only_the_workers_still_running_the_call(
    start_method: str, tmp_path: Path
) -> None:
    # SPEC 4.2: after an error the rest of the call is cancelled and the pool is usable at
    # once: the next call does not wait for the failed call's items still running elsewhere.
    with Pool(2, start_method=start_method) as pool:
        assert len(both_workers_meet(pool, tmp_path / "meet")) == 2
        for name in ("map", "unordered_map", "imap", "unordered_imap"):
            marker = str(tmp_path / name)
            method = getattr(pool.star(), name)
            items = [(marker, "warm"), (marker, "fail"), (marker, "sleep")]
            with pytest.raises(CustomError, match="another sleeps"):
                result = method(fail_while_one_sleeps, items)
                if name.endswith("imap"):
                    list(result)
            sleeper = int(Path(marker).read_text())
            # The next call needs both workers: the sleeping item's worker has been replaced
            # (waiting for the rest of its 3 s would take over 2.5 s; a spawn start is ~0.3 s,
            # more on a loaded machine).
            started = time.monotonic()
            pids = both_workers_meet(pool, tmp_path / f"meet-{name}")
            elapsed = time.monotonic() - started
            assert elapsed < 2.5, (name, elapsed)
            assert len(pids) == 2 and sleeper not in pids, name
            assert sleeper not in pool.pids and len(pool.pids) == 2, name
            assert pool.map(square, range(4)) == [0, 1, 4, 9]


def test_unpicklable_result_and_item_are_reported(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(Exception, match="could not be sent back") as info:
            pool.map(unpicklable_result, range(3))
        assert info.value.item_index in (0, 1, 2)  # type: ignore[attr-defined]
        with pytest.raises(Exception) as info2:
            pool.map(square, [1, 2, (i for i in range(3)), 4])
        assert info2.value.item_index == 2  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="could not be loaded") as info3:
            pool.map(returns_unloadable, [os.getpid()])
        assert info3.value.item_index == 0  # type: ignore[attr-defined]
        assert pool.map(square, [5]) == [25]


def test_error_in_input_iterable(start_method: str) -> None:
    def bad_input() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(OSError, match="disk gone") as info:
            pool.map(square, bad_input())
        assert info.value.item_index == 2  # type: ignore[attr-defined]
        assert pool.map(square, [2]) == [4]


# --------------------------------------------------------------------------- crashes and timeouts


def test_worker_crash_raises_and_pool_recovers(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        pids = set(pool.map(pid_of, range(4)))
        with pytest.raises(ProcessCrashError) as info:
            pool.map(crash_on_three, range(8))
        assert info.value.item_index == 3  # type: ignore[attr-defined]
        assert info.value.exitcode == 7
        with pytest.raises(ProcessCrashError) as info:
            pool.map(kill_self_on_two, range(8))
        assert info.value.signal_name == "SIGKILL"
        with pytest.raises(ProcessCrashError) as info:
            pool.unordered_map(segfault_on_four, range(8))
        assert info.value.signal_name == "SIGSEGV"
        assert info.value.item_index == 4  # type: ignore[attr-defined]
        assert pool.map(square, range(10)) == [x * x for x in range(10)]
        assert len(pool.pids) == 2 and set(pool.pids) != pids


def test_crash_that_does_not_recur_is_still_reported(start_method: str, tmp_path: Path) -> None:
    # Cheap items run in slices; a crash inside a slice re-runs the slice's items one at a
    # time to find the culprit. Here the crash does not happen again: it is reported anyway.
    marker = str(tmp_path / "crashed")
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(ProcessCrashError) as info:
            pool.star().map(crash_once_on_five, [(marker, x) for x in range(40)])
        assert info.value.exitcode == 3
        assert info.value.item_index <= 5  # type: ignore[attr-defined]
        assert pool.map(square, [6]) == [36]


def test_imap_crash_keeps_earlier_results(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        seen = []
        with pytest.raises(ProcessCrashError) as info:
            for value in pool.imap(crash_on_three, range(8)):
                seen.append(value)
        assert seen == [0, 1, 2]
        assert info.value.item_index == 3  # type: ignore[attr-defined]


def test_timeout_cancels_replaces_workers_and_pool_stays_usable(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        pool.map(square, range(4))
        before = set(pool.pids)
        started = time.monotonic()
        with pytest.raises(ResultTimeoutError) as info:
            pool.map.timeout(0.5)(slow_on_one, range(4))
        assert isinstance(info.value, TimeoutError)
        assert info.value.timeout == 0.5
        assert time.monotonic() - started < 10
        after = set(pool.pids)
        assert len(after) == 2 and len(after & before) == 1  # only the stuck worker replaced
        assert pool.map(square, range(6)) == [x * x for x in range(6)]


def test_iterator_timeout_is_per_result(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        pool.map(square, range(4))  # workers started: the timeout measures the work only
        # 2 s: item 0 must come within it even on a loaded machine; item 1 sleeps 60 s.
        results = pool.imap.timeout(2.0)(slow_on_one, range(4))
        assert next(results) == 0
        with pytest.raises(ResultTimeoutError):
            next(results)
        with pytest.raises(StopIteration):
            next(results)
        assert pool.map.timeout(WAIT)(square, range(3)) == [0, 1, 4]


def test_terminate_while_running(start_method: str) -> None:
    pool = Pool(2, start_method=start_method)
    future = pool.map.background()(slow_on_one, range(4))
    deadline = time.monotonic() + WAIT
    while len(pool.pids) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # bounded poll: workers are starting
    pool.terminate()
    with pytest.raises(RuntimeError, match="closed"):
        future.result(WAIT)


# --------------------------------------------------------------------------- Skprocess items


def test_skprocess_classes_as_items(start_method: str, tmp_path: Path) -> None:
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(Doubler, [1, 2, 3]) == [3, 6, 9]
        assert pool.star().map(Adder, [(1, 2), (3, 4)]) == [3, 7]
        assert pool.map(Flaky, [str(tmp_path / "a"), str(tmp_path / "b")]) == ["recovered"] * 2
        assert pool.map(ErrorAsValue, [1, 2]) == ["handled: RunError"] * 2
        with pytest.raises(RunError) as info:
            pool.map(AlwaysFails, [0, 1])
        assert isinstance(info.value.original_error, KeyError) or "no " in str(info.value)


def test_skprocess_section_timeout_and_lives_inside_a_worker(
    start_method: str, tmp_path: Path
) -> None:
    with Pool(2, start_method=start_method) as pool:
        started = time.monotonic()
        assert pool.map(SlowSection, [str(tmp_path / "m")]) == ["in time"]
        assert time.monotonic() - started < WAIT


def test_skprocess_items_autoreconnect_a_live_connection(start_method: str, tmp_path: Path) -> None:
    import sqlite3

    # Items are serialized in the pool's scheduler thread: a connection checked against its
    # creating thread cannot be inspected there, hence check_same_thread=False (documented).
    db = sqlite3.connect(tmp_path / "data.db", check_same_thread=False)
    db.execute("create table t(v)")
    db.execute("insert into t values (42)")
    db.commit()
    try:
        with Pool(2, start_method=start_method) as pool:
            assert pool.map(DbReader, [db, db]) == [42, 42]
    finally:
        db.close()


# --------------------------------------------------------------------------- Share in items


def test_share_travels_inside_items(start_method: str) -> None:
    from suitkaise.processing import Share

    with Share() as share, Pool(2, start_method=start_method) as pool:
        share.counter = 0
        assert pool.star().map(bump_shared, [(share, i) for i in range(10)]) == list(range(10))
        assert share.counter == 45


# --------------------------------------------------------------------------- __main__ scripts


def test_main_module_functions_and_classes_under_every_start_method(tmp_path: Path) -> None:
    script = tmp_path / "pool_main.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from suitkaise.processing import Pool, Skprocess

            class Scale:
                def __init__(self, k):
                    self.k = k
                def __call__(self, x):
                    return self.k * x

            def twice(x):
                return 2 * x

            class Work(Skprocess):
                def __init__(self, x):
                    self.x = x
                    self.process_config.runs = 2
                def __run__(self):
                    self.x += 1
                def __result__(self):
                    return self.x

            if __name__ == "__main__":
                k = 5
                for method in ("fork", "forkserver", "spawn"):
                    with Pool(2, start_method=method) as pool:
                        assert pool.map(twice, range(5)) == [0, 2, 4, 6, 8]
                        assert pool.map(Scale(3), [1, 2]) == [3, 6]
                        assert pool.map(lambda x: x + k, [1]) == [6]
                        assert pool.map(Work, [1, 10]) == [3, 12]
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


def test_unclosed_pool_is_released_at_interpreter_exit(tmp_path: Path) -> None:
    script = tmp_path / "pool_exit.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from suitkaise.processing import Pool

            def square(x):
                return x * x

            if __name__ == "__main__":
                pool = Pool(2, start_method="spawn")
                assert pool.map(square, range(10))[-1] == 81
                it = pool.imap(square, iter(int, 1))   # an iterator left running
                next(it)
                print(" ".join(str(p) for p in pool.pids))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr and "leaked" not in done.stderr
    assert "Traceback" not in done.stderr
    for pid in map(int, done.stdout.split()):
        assert not _pid_running(pid)


def test_ctrl_c_during_map_replaces_busy_workers(tmp_path: Path) -> None:
    script = tmp_path / "pool_sigint.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, threading, time
            from suitkaise.processing import Pool

            def slow(x):
                time.sleep(60)
                return x

            if __name__ == "__main__":
                with Pool(2, start_method="fork") as pool:
                    assert pool.map(abs, [-1, -2]) == [1, 2]
                    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
                    started = time.monotonic()
                    try:
                        pool.map(slow, range(4))
                    except KeyboardInterrupt:
                        print("interrupted")
                    print(pool.map(abs, [-3]))      # not stuck behind the 60 s items
                    print(time.monotonic() - started < 20)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "[3]", "True"]


def _pid_running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
