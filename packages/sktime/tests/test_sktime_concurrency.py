"""One timer hammered by many threads, used across os.fork(), and carried by pickle/cerial."""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from suitkaise.sktime import Sktimer, TimerStats, TimeThis, timethis
from suitkaise.sktime import _timer as timer_module


class ThreadClock:
    """A fake clock with one independent reading per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def set(self, now: float) -> None:
        self._local.now = now

    def __call__(self) -> float:
        return float(self._local.now)


@pytest.fixture
def fast_switching() -> Iterator[None]:
    # Switch threads every microsecond so the hammering really interleaves.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(target: object, count: int) -> None:
    threads = [threading.Thread(target=target, args=(k,)) for k in range(count)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)


def test_threads_nest_independently_and_lose_nothing(fast_switching: None) -> None:
    clock = ThreadClock()
    timer = Sktimer(clock=clock)
    threads, rounds = 8, 2000
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                clock.set(0.0)
                timer.start()  # outer frame of this thread
                clock.set(float(k))
                timer.start()  # inner frame of this thread
                clock.set(k + 0.5)
                assert timer.stop() == 0.5
                clock.set(k + 1.0)
                assert timer.stop() == k + 1.0
                timer.add_time(100.0 + k)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    run_threads(work, threads)
    assert not errors
    expected: Counter[float] = Counter()
    for k in range(threads):
        expected[0.5] += rounds
        expected[k + 1.0] += rounds
        expected[100.0 + k] += rounds
    assert Counter(timer.times) == expected
    assert timer.num_times == 3 * threads * rounds


def test_statistics_read_while_threads_write_stay_consistent(fast_switching: None) -> None:
    timer = Sktimer()
    stop = threading.Event()
    writers, per_writer = 4, 5000
    seen: list[int] = []

    def write(_: int) -> None:
        for _ in range(per_writer):
            timer.add_time(1.0)

    def read() -> None:
        while not stop.is_set():
            count = timer.num_times
            mean = timer.mean
            assert mean is None or mean == 1.0
            seen.append(count)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        run_threads(write, writers)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert timer.num_times == writers * per_writer
    # The cache must never serve a stale answer once the writers are done.
    assert timer.total_time == writers * per_writer
    assert timer.percentile(50) == 1.0
    assert seen  # the reader really ran


def test_decorator_and_timethis_from_many_threads(fast_switching: None) -> None:
    timer = Sktimer()
    block = TimeThis(timer)

    @timethis(timer)
    def job() -> int:
        return 1

    def work(_: int) -> None:
        for _ in range(500):
            job()
            with block:
                pass

    run_threads(work, 6)
    assert timer.num_times == 6 * 500 * 2


def _wait_child(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung (a lock was inherited held?)")


def _read_all(fd: int, timeout: float) -> bytes:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists only on POSIX")
def test_timer_works_in_a_forked_child_and_parent_is_unaffected() -> None:
    timer = Sktimer()
    timer.add_time(1.0)
    timer.start()  # an open frame in the forking thread
    # Hold the pause lock across the fork, as another thread might: the child must not hang.
    timer_module._pause_lock.acquire()
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # child: never returns into pytest
            code = 1
            try:
                os.close(read_fd)
                inherited = timer.stop()  # the frame opened before the fork
                timer.start()
                timer.pause()
                timer.resume()
                timer.stop()
                with TimeThis(timer):
                    pass
                timer.add_time(2.0)
                result = (timer.num_times, inherited >= 0, timer.max, timer.total_time_paused >= 0)
                os.write(write_fd, pickle.dumps((result, pickle.dumps(timer))))
                code = 0
            finally:
                os._exit(code)
    finally:
        timer_module._pause_lock.release()
    os.close(write_fd)
    try:
        payload = _read_all(read_fd, timeout=15)
    finally:
        os.close(read_fd)
    assert _wait_child(pid, timeout=15) == 0
    (count, inherited_ok, largest, paused_ok), child_timer = pickle.loads(payload)
    assert (count, inherited_ok, largest, paused_ok) == (5, True, 2.0, True)
    assert pickle.loads(child_timer).num_times == 5
    # The parent is untouched by what the child did, and its own frame is still open.
    assert timer.times == [1.0]
    assert timer.stop() >= 0
    assert timer.num_times == 2


def test_pickle_round_trip_keeps_measurements_not_frames() -> None:
    timer = Sktimer(max_times=4)
    for t in (0.1, 0.2, 0.3):
        timer.add_time(t)
    timer.start()
    timer.pause()
    timer.stop()
    timer.start()  # open frame: must not travel
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(timer, protocol=protocol))
        assert back.times == timer.times
        assert back.max_times == 4
        assert back.total_time_paused == timer.total_time_paused
        assert back.mean == timer.mean
        with pytest.raises(RuntimeError, match="start"):
            back.stop()
        back.start()
        back.stop()  # fully working after the trip
        back.add_time(1.0)
        assert back.num_times == 4
    stats = timer.get_statistics()
    assert pickle.loads(pickle.dumps(stats)) == stats
    assert isinstance(pickle.loads(pickle.dumps(stats)), TimerStats)


class StepClock:
    """A picklable fake clock (module level): each reading is one second later."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_pickle_carries_a_custom_clock() -> None:
    timer = Sktimer(clock=StepClock())
    back = pickle.loads(pickle.dumps(timer))
    back.start()
    assert back.stop() == 1.0


def test_pickle_round_trip_through_a_fresh_process() -> None:
    timer = Sktimer()
    timer.add_time(1.0)
    script = (
        "import pickle, sys\n"
        "timer = pickle.loads(sys.stdin.buffer.read())\n"
        "timer.start(); timer.stop(); timer.add_time(3.0)\n"
        "sys.stdout.buffer.write(pickle.dumps(timer))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(timer),
        capture_output=True,
        timeout=60,
        check=True,
    )
    back = pickle.loads(out.stdout)
    assert isinstance(back, Sktimer)
    assert back.num_times == 3
    assert back.get_time(0) == 1.0 and back.get_time(-1) == 3.0


def test_cerial_round_trip() -> None:
    cerial = pytest.importorskip("suitkaise.cerial")
    if not hasattr(cerial, "serialize"):
        pytest.skip("suitkaise.cerial.serialize does not exist yet")
    timer = Sktimer(max_times=10)
    timer.add_time(0.5)
    timer.start()
    timer.pause()
    timer.stop()
    back = cerial.deserialize(cerial.serialize(timer))
    assert isinstance(back, Sktimer)
    assert back.times == timer.times
    assert back.max_times == 10
    assert back.total_time_paused == timer.total_time_paused
    back.start()
    back.stop()
    assert back.num_times == 3
