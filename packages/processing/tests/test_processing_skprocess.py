"""Skprocess: lifecycle, lives, crashes, timeouts, control, messages, inheritance.

Every test that starts a process takes the ``start_method`` fixture, so the suite runs under
fork, forkserver and spawn. Worker classes live at module level: under spawn/forkserver the child
imports this module to get them (the ``__main__`` case is covered by a script test).
"""

from __future__ import annotations

import asyncio
import ctypes
import faulthandler
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import psutil
import pytest

from suitkaise.processing import (
    OnFinishError,
    ProcessCrashError,
    ProcessError,
    ProcessTimeoutError,
    RemoteTraceback,
    ResultError,
    ResultTimeoutError,
    RunError,
    Skprocess,
)

WAIT = 30.0  # upper bound for any wait on a healthy process (a loaded 2-core machine is slow)


def _open_fds() -> set[tuple[int, str]]:
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            found.add((int(name), os.readlink(f"/proc/self/fd/{name}")))
        except OSError:  # closed meanwhile (the listing's own fd)
            pass
    return found


@pytest.fixture(scope="module")
def _multiprocessing_warmed_up() -> None:
    # The forkserver, the resource tracker and multiprocessing's shared heap open file
    # descriptors once per interpreter; start them before any test counts descriptors.
    for method in ("fork", "forkserver", "spawn"):
        configured(Trivial(), method).run.timeout(WAIT)()


@pytest.fixture(autouse=True)
def no_leaked_fds(_multiprocessing_warmed_up: None) -> Any:
    """Every pipe a test's processes used is closed once they are over (or collected)."""
    before = _open_fds()
    yield
    deadline = time.monotonic() + 5.0
    while True:
        gc.collect()
        leaked = _open_fds() - before
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # bounded poll: a just-killed process's pipes close on collection
    assert not leaked, f"test left file descriptors open: {sorted(leaked)}"


def configured(process: Skprocess, start_method: str) -> Skprocess:
    process.process_config.start_method = start_method
    return process


# --------------------------------------------------------------------------- worker classes


class Counter(Skprocess):
    """The seed's counter: prerun/run/postrun each add one."""

    def __init__(self, runs: int) -> None:
        self.counter = 0
        self.finished = False
        self.process_config.runs = runs

    def __prerun__(self) -> None:
        self.counter += 1

    def __run__(self) -> None:
        self.counter += 1

    def __postrun__(self) -> None:
        self.counter += 1

    def __onfinish__(self) -> None:
        self.finished = True

    def __result__(self) -> tuple[int, bool]:
        return self.counter, self.finished


class Base(Skprocess):
    greeting = "hello"  # class attribute

    def __init__(self, name: str) -> None:
        self.name = name
        self.process_config.runs = 2

    def _shout(self, text: str) -> str:  # private helper
        return text.upper()

    @property
    def label(self) -> str:
        return f"{self.greeting} {self.name}"

    def __run__(self) -> None:
        self.seen = self._shout(self.label)

    def __result__(self) -> Any:
        return (type(self).__name__, self.seen, self.current_run)


class NoInit(Base):
    """Runs its parent's __init__."""

    greeting = "hi"


class CallsSuper(NoInit):
    def __init__(self, name: str, extra: int) -> None:
        super().__init__(name)  # harmless, setup runs once
        self.extra = extra
        self.process_config.runs = extra

    def __result__(self) -> Any:
        return (*super().__result__(), self.extra)


class Mixin:
    def mixed(self) -> str:
        return "mixed"


class WithMixin(Mixin, NoInit):
    def __result__(self) -> Any:
        return (self.mixed(), self.seen)


class MarkerFailer(Skprocess):
    """Fails its first ``failures`` attempts; counts attempts in a file (state restarts)."""

    def __init__(self, marker: str, failures: int, lives: int, how: str = "raise") -> None:
        self.marker = marker
        self.failures = failures
        self.how = how
        self.log: list[int] = []
        self.process_config.runs = 3
        self.process_config.lives = lives

    def _attempt(self) -> int:
        path = Path(self.marker)
        return len(path.read_text()) if path.exists() else 0

    def __prerun__(self) -> None:
        if self.current_run == 0:
            with open(self.marker, "a") as f:
                f.write("x")

    def __run__(self) -> None:
        self.log.append(self.current_run)
        if self.current_run == 1 and self._attempt() <= self.failures:
            if self.how == "raise":
                raise ConnectionError(f"attempt {self._attempt()} failed")
            if self.how == "exit":
                os._exit(3)
            if self.how == "segfault":
                faulthandler.disable()  # pytest's handler would print a dump to the log
                ctypes.string_at(0)

    def __result__(self) -> Any:
        return self.log, self._attempt()


class ErrorValue(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 2

    def __run__(self) -> None:
        raise KeyError("missing")

    def __error__(self) -> Any:
        return {"handled": type(self.error).__name__, "run": self.error.current_run}


class CrashThenHandle(Skprocess):
    def __run__(self) -> None:
        os._exit(7)

    def __error__(self) -> Any:
        return ("handled", type(self.error).__name__, self.error.exitcode)


class Sleeper(Skprocess):
    """Sleeps ``seconds`` in __run__ with a ``timeout``; __error__ reports how long it took."""

    def __init__(self, seconds: float, timeout: float, block_alarm: bool = False) -> None:
        self.seconds = seconds
        self.block_alarm = block_alarm
        self.process_config.runs = 1
        self.process_config.timeouts.run = timeout

    def __prerun__(self) -> None:
        self.started = time.monotonic()

    def __run__(self) -> None:
        if self.block_alarm:  # like C code that ignores signals: only the parent can end it
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(self.seconds)

    def __error__(self) -> Any:
        return self.error, time.monotonic() - self.started


class StuckSleeper(Sleeper):
    def __error__(self) -> Any:
        return self.error  # the default: result() raises it


class Forever(Skprocess):
    """Runs until stopped; tells the parent once it is running; optionally starts a grandchild."""

    def __init__(self, grandchild: bool = False) -> None:
        self.grandchild = grandchild
        self.count = 0
        self.onfinish_ran = False

    def __prerun__(self) -> None:
        if self.current_run == 0 and self.grandchild:
            self.sub = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def __run__(self) -> None:
        self.count += 1
        time.sleep(0.005)

    def __postrun__(self) -> None:
        if self.current_run == 0:  # one full iteration done
            self.tell(("running", self.sub.pid if self.grandchild else None))

    def __onfinish__(self) -> None:
        self.onfinish_ran = True

    def __result__(self) -> Any:
        return self.count, self.onfinish_ran


class Echo(Skprocess):
    """Doubles every message it hears until it hears None."""

    def __run__(self) -> None:
        message = self.listen(timeout=WAIT)
        if message is None:
            self.stop()
            return
        self.tell(message * 2)

    def __result__(self) -> Any:
        return self.current_run


class SelfStopper(Skprocess):
    def __init__(self) -> None:
        self.count = 0

    def __run__(self) -> None:
        self.count += 1

    def __postrun__(self) -> None:
        if self.count >= 4:
            self.stop()

    def __result__(self) -> int:
        return self.count


class JoinIn(Skprocess):
    def __init__(self) -> None:
        self.process_config.join_in = 0.3

    def __run__(self) -> None:
        time.sleep(0.02)

    def __result__(self) -> int:
        return self.current_run


class WaitsInside(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        self.wait()


class OnFinishFails(Skprocess):
    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.process_config.runs = 1
        self.process_config.lives = 3

    def __run__(self) -> None:
        with open(self.marker, "a") as f:
            f.write("x")

    def __onfinish__(self) -> None:
        raise OSError("disk full")


class NoRun(Skprocess):
    def __init__(self) -> None:
        self.x = 1


class Trivial(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        pass

    def __result__(self) -> str:
        return "done"


class BreaksInChild(Skprocess):
    """Its state cannot be rebuilt anywhere but in the process that made it."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.process_config.runs = 1

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["owner"] != os.getpid():
            raise RuntimeError("cannot be rebuilt in another process")
        super().__setstate__(state)

    def __run__(self) -> None:
        pass


class LeavesAThread(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        import threading

        threading.Thread(target=time.sleep, args=(60,)).start()  # non-daemon: blocks exit

    def __result__(self) -> str:
        return "delivered"


class SharedCounter(Skprocess):
    def __init__(self, share: Any, runs: int) -> None:
        self.share = share
        self.process_config.runs = runs

    def __run__(self) -> None:
        self.share.counter += 1


class Outer(Skprocess):
    """Starts an Skprocess of its own (children are not daemonic, so this is allowed)."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.process_config.runs = 1

    def __run__(self) -> None:
        self.inner = configured(Trivial(), self.method).run.timeout(WAIT)()

    def __result__(self) -> str:
        return f"outer got {self.inner}"


class BigTellInTimedSection(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1
        self.process_config.timeouts.run = 0.2

    def __run__(self) -> None:
        self.tell(b"x" * 5_000_000)  # far more than a pipe holds: blocks until the parent reads
        time.sleep(5)


class Uncarriable:
    def __reduce__(self) -> Any:
        raise TypeError("this object refuses to be serialized")


class ResultCannotTravel(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 1

    def __run__(self) -> None:
        pass

    def __result__(self) -> Any:
        return Uncarriable()


class FileProcessor(Skprocess):
    """The seed's batch file processor with automatic timers."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.results: list[int] = []
        self.process_config.runs = len(files)

    def __run__(self) -> None:
        self.results.append(len(Path(self.files[self.current_run]).read_text().split()))

    def __result__(self) -> Any:
        return {
            "processed": len(self.results),
            "words": sum(self.results),
            "timed": self.timers.run.num_times,
            "mean_positive": self.timers.run.mean > 0,
        }


class TaskWorker(Skprocess):
    def __init__(self, worker_id: int, n: int) -> None:
        self.worker_id = worker_id
        self.n = n
        self.process_config.runs = 1

    def __run__(self) -> None:
        self.value = sum(i * i for i in range(self.n))

    def __result__(self) -> Any:
        return self.worker_id, self.value, os.getpid()


# --------------------------------------------------------------------------- lifecycle


def test_counter_runs_every_section_and_reports_back(start_method: str) -> None:
    p = configured(Counter(5), start_method)
    assert p.status == "created"
    assert p.run() == (15, True)
    assert p.status == "finished"
    assert p.current_run == 5
    assert p.error is None
    assert p.timers.run.num_times == 5
    assert p.timers.prerun.num_times == 5
    assert p.timers.full_run.num_times == 5
    assert p.timers.onfinish.num_times == 1
    assert p.timers.result.num_times == 1
    assert p.__run__.timer is p.timers.run
    assert p.__postrun__.timer is p.timers.postrun
    full = p.timers.full_run.times
    parts = [
        a + b + c
        for a, b, c in zip(p.timers.prerun.times, p.timers.run.times, p.timers.postrun.times)
    ]
    assert full == pytest.approx(parts)
    assert not p.is_alive


def test_child_gets_the_real_class_through_inheritance(start_method: str) -> None:
    assert configured(Base("ann"), start_method).run() == ("Base", "HELLO ANN", 2)
    assert configured(NoInit("bob"), start_method).run() == ("NoInit", "HI BOB", 2)
    assert configured(CallsSuper("cy", 3), start_method).run() == ("CallsSuper", "HI CY", 3, 3)
    assert configured(WithMixin("di"), start_method).run() == ("mixed", "HI DI")


def test_auto_init_without_super_and_defaults() -> None:
    p = NoInit("x")
    assert p.process_config.runs == 2
    assert p.process_config.lives == 1
    assert p.timers.run.num_times == 0
    assert p.current_run == 0
    assert p.pid is None
    c = CallsSuper("y", 4)
    assert c.process_config.runs == 4 and c.extra == 4


def test_seed_file_processor_with_timers(start_method: str, tmp_path: Path) -> None:
    files = []
    for i in range(3):
        path = tmp_path / f"data{i}.txt"
        path.write_text("word " * (i + 1))
        files.append(str(path))
    p = configured(FileProcessor(files), start_method)
    p.start()
    assert p.wait(WAIT)
    assert p.result() == {"processed": 3, "words": 6, "timed": 3, "mean_positive": True}
    assert p.timers.run.num_times == 3


def test_seed_worker_pool_started_in_a_loop(start_method: str) -> None:
    workers = [configured(TaskWorker(i, 1000 * (i + 1)), start_method) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        assert w.wait(WAIT)
    results = [w.result() for w in workers]
    assert [r[0] for r in results] == [0, 1, 2, 3]
    assert [r[1] for r in results] == [sum(i * i for i in range(1000 * (k + 1))) for k in range(4)]
    assert len({r[2] for r in results}) == 4  # four different processes
    assert os.getpid() not in {r[2] for r in results}


def test_self_stop_and_join_in(start_method: str) -> None:
    assert configured(SelfStopper(), start_method).run() == 4
    p = configured(JoinIn(), start_method)
    runs = p.run()
    assert runs >= 1
    assert p.current_run == runs


# --------------------------------------------------------------------------- lives, errors


def test_retrying_worker_restarts_from_original_state(start_method: str, tmp_path: Path) -> None:
    p = configured(MarkerFailer(str(tmp_path / "m"), failures=2, lives=3), start_method)
    log, attempts = p.run()
    assert attempts == 3
    assert log == [0, 1, 2]  # the failed attempts' appends did not survive
    assert p.status == "finished"


def test_lives_exhausted_raises_section_error_with_remote_traceback(
    start_method: str, tmp_path: Path
) -> None:
    p = configured(MarkerFailer(str(tmp_path / "m"), failures=5, lives=2), start_method)
    with pytest.raises(RunError) as info:
        p.run()
    err = info.value
    assert err.current_run == 1
    assert isinstance(err.original_error, ConnectionError)
    assert "attempt 2 failed" in str(err.original_error)
    assert "ConnectionError: attempt 2 failed" in str(err)
    assert isinstance(err.__cause__, RemoteTraceback)
    assert "_attempt" in str(err.__cause__) or "__run__" in str(err.__cause__)
    assert p.status == "failed"
    assert p.error is err
    assert p.current_run == 1
    assert p.timers.run.num_times == 1  # the failed run was not recorded
    assert (tmp_path / "m").read_text() == "xx"


def test_error_handler_value_is_returned(start_method: str) -> None:
    p = configured(ErrorValue(), start_method)
    assert p.run() == {"handled": "RunError", "run": 0}
    assert isinstance(p.error, RunError)
    assert p.status == "failed"


def test_onfinish_error_costs_no_life(start_method: str, tmp_path: Path) -> None:
    marker = tmp_path / "m"
    p = configured(OnFinishFails(str(marker)), start_method)
    with pytest.raises(OnFinishError) as info:
        p.run()
    assert isinstance(info.value.original_error, OSError)
    assert marker.read_text() == "x"


def test_hard_crash_costs_a_life_and_respawns(start_method: str, tmp_path: Path) -> None:
    p = configured(MarkerFailer(str(tmp_path / "m"), failures=1, lives=2, how="exit"), start_method)
    assert p.run() == ([0, 1, 2], 2)


def test_crash_without_lives_raises_crash_error(start_method: str, tmp_path: Path) -> None:
    p = configured(MarkerFailer(str(tmp_path / "m"), failures=1, lives=1, how="exit"), start_method)
    with pytest.raises(ProcessCrashError) as info:
        p.run()
    assert info.value.exitcode == 3
    assert info.value.signal_name is None
    assert info.value.current_run == 1
    assert p.status == "failed"


def test_segfault_is_a_crash(start_method: str, tmp_path: Path) -> None:
    p = configured(
        MarkerFailer(str(tmp_path / "m"), failures=1, lives=1, how="segfault"), start_method
    )
    with pytest.raises(ProcessCrashError) as info:
        p.run()
    assert info.value.signal_name == "SIGSEGV"
    assert info.value.exitcode == -signal.SIGSEGV


def test_crash_then_error_handler_runs_in_a_fresh_child(start_method: str) -> None:
    p = configured(CrashThenHandle(), start_method)
    p.process_config.runs = 1
    assert p.run() == ("handled", "ProcessCrashError", 7)


def test_sigkill_from_outside_costs_a_life(start_method: str) -> None:
    p = configured(Forever(), start_method)
    p.process_config.lives = 2
    p.start()
    assert p.listen(WAIT) == ("running", None)
    first_pid = p.pid
    os.kill(first_pid, signal.SIGKILL)
    assert p.listen(WAIT) == ("running", None)  # the respawned child says hello again
    assert p.pid != first_pid
    p.stop()
    count, onfinish_ran = p.result(timeout=WAIT)
    assert onfinish_ran and count >= 1


# --------------------------------------------------------------------------- timeouts


def test_fractional_timeout_interrupts_the_section(start_method: str) -> None:
    p = configured(Sleeper(0.6, 0.2), start_method)
    error, elapsed = p.run()
    assert isinstance(error, ProcessTimeoutError)
    assert isinstance(error, TimeoutError)
    assert error.section == "run"
    assert error.timeout == 0.2
    assert 0.15 < elapsed < 0.6  # interrupted: sleeping to the end takes at least 0.6 s
    assert p.timers.run.num_times == 0


def test_parent_kills_a_child_that_ignores_the_timeout(start_method: str) -> None:
    p = configured(StuckSleeper(30, 0.2, block_alarm=True), start_method)
    p.start()
    with pytest.raises(ProcessTimeoutError) as info:
        p.result(timeout=WAIT)
    assert info.value.section == "run"
    assert "killed" in str(info.value)


# --------------------------------------------------------------------------- control


def test_stop_is_graceful(start_method: str) -> None:
    p = configured(Forever(), start_method)
    p.start()
    assert p.is_alive
    assert p.listen(WAIT) == ("running", None)
    p.stop()
    assert p.wait(WAIT)
    count, onfinish_ran = p.result()
    assert onfinish_ran
    assert count >= 1
    assert p.status == "finished"
    assert p.current_run >= 1
    assert not p.is_alive


def test_kill_is_immediate_and_leaves_no_grandchild(start_method: str) -> None:
    p = configured(Forever(grandchild=True), start_method)
    p.start()
    message = p.listen(WAIT)
    assert message[0] == "running"
    grandchild = psutil.Process(message[1])
    p.kill()
    assert p.status == "killed"
    assert p.result() is None
    assert not p.is_alive
    grandchild.wait(timeout=WAIT)  # raises TimeoutExpired if it survived
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE


def test_tell_and_listen_both_ways(start_method: str) -> None:
    p = configured(Echo(), start_method)
    p.start()
    for message in (1, "ab", [3]):
        p.tell(message)
    assert [p.listen(WAIT) for _ in range(3)] == [2, "abab", [3, 3]]
    assert p.listen(0.05) is None  # nothing more: None after the timeout
    p.tell(None)
    # stop() inside __run__ ends the loop after this run, which completes (no __postrun__)
    assert p.result(timeout=WAIT) == 4
    assert p.listen(0) is None  # finished and drained


def test_timeout_never_cuts_a_message_in_half(start_method: str) -> None:
    p = configured(BigTellInTimedSection(), start_method)
    p.start()
    # The scenario, not synchronisation: the parent is busy elsewhere while the child's write
    # is blocked and its 0.2 s timeout passes.
    time.sleep(1.0)
    assert p.listen(WAIT) == b"x" * 5_000_000
    with pytest.raises(ProcessTimeoutError):
        p.result(timeout=WAIT)


def test_result_modifiers(start_method: str) -> None:
    p = configured(Forever(), start_method)
    p.start()
    with pytest.raises(ResultTimeoutError) as info:
        p.result.timeout(0.05)()
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(TimeoutError):
        p.result(timeout=0.01)
    future = p.result.background()()
    assert isinstance(future, Future)
    p.stop()
    _count, onfinish_ran = future.result(timeout=WAIT)
    assert onfinish_ran

    async def main() -> Any:
        return await configured(Trivial(), start_method).run.asynced()()

    assert asyncio.run(main()) == "done"
    assert configured(Trivial(), start_method).run.background()().result(WAIT) == "done"


def test_run_timeout_kills_the_process(start_method: str) -> None:
    p = configured(Forever(), start_method)
    with pytest.raises(ResultTimeoutError):
        p.run.timeout(0.3)()
    assert p.status == "killed"


def test_bad_use_gives_clear_errors(start_method: str) -> None:
    p = configured(Trivial(), start_method)
    with pytest.raises(RuntimeError, match="start"):
        p.tell(1)
    with pytest.raises(RuntimeError, match="start"):
        p.wait(1)
    p.start()
    with pytest.raises(RuntimeError, match="already called"):
        p.start()
    assert p.result(timeout=WAIT) == "done"
    with pytest.raises(RuntimeError, match="finished"):
        p.tell(1)
    with pytest.raises(TypeError, match="__run__"):
        configured(NoRun(), start_method).start()
    with pytest.raises(RunError) as info:
        configured(WaitsInside(), start_method).run()
    assert isinstance(info.value.original_error, RuntimeError)
    assert "inside the process" in str(info.value.original_error)


def test_object_that_cannot_be_rebuilt_in_the_child(start_method: str) -> None:
    p = configured(BreaksInChild(), start_method)
    with pytest.raises(ProcessError, match="could not rebuild"):
        p.run.timeout(WAIT)()


def test_result_that_cannot_travel_is_a_result_error(start_method: str) -> None:
    p = configured(ResultCannotTravel(), start_method)
    with pytest.raises(ResultError, match="could not be sent") as info:
        p.run.timeout(WAIT)()
    assert "refuses" in str(info.value)
    assert p.status == "failed"


def test_child_that_cannot_exit_is_killed_after_delivering(
    start_method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suitkaise.processing._int import process_supervisor

    monkeypatch.setattr(process_supervisor, "EXIT_GRACE", 0.3)
    p = configured(LeavesAThread(), start_method)
    p.start()
    pid = p.pid
    assert p.result(timeout=WAIT) == "delivered"
    assert p.wait(WAIT)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_garbage_collected_process_is_cleaned_up(start_method: str) -> None:
    import gc

    p = configured(Forever(), start_method)
    p.start()
    assert p.listen(WAIT) is not None
    child = psutil.Process(p.pid)
    del p
    gc.collect()
    child.wait(timeout=WAIT)


def test_an_skprocess_can_start_its_own(start_method: str) -> None:
    assert configured(Outer(start_method), start_method).run.timeout(WAIT)() == "outer got done"


def test_share_travels_inside_an_skprocess(start_method: str) -> None:
    from suitkaise.processing import Share

    with Share() as share:
        share.counter = 0
        workers = [configured(SharedCounter(share, 20), start_method) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            assert w.wait(WAIT)
            assert w.status == "finished", w.error
        assert share.counter == 40


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("field", "value", "error", "named"),
    [
        ("runs", -1, ValueError, "runs"),
        ("runs", 1.5, TypeError, "runs"),
        ("lives", 0, ValueError, "lives"),
        ("lives", True, TypeError, "lives"),
        ("join_in", 0, ValueError, "join_in"),
        ("join_in", "1", TypeError, "join_in"),
        ("start_method", "thread", ValueError, "start_method"),
        ("start_method", 3, TypeError, "start_method"),
    ],
)
def test_config_is_validated_at_start(field: str, value: Any, error: type, named: str) -> None:
    p = Trivial()
    setattr(p.process_config, field, value)
    with pytest.raises(error, match=named):
        p.start()
    assert p.status == "created"


@pytest.mark.parametrize("section", ["prerun", "run", "postrun", "onfinish", "result", "error"])
def test_timeout_config_is_validated(section: str) -> None:
    p = Trivial()
    setattr(p.process_config.timeouts, section, -0.5)
    with pytest.raises(ValueError, match=f"timeouts.{section}"):
        p.start()


def test_config_rejects_typos() -> None:
    p = Trivial()
    with pytest.raises(AttributeError):
        p.process_config.run = 3  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        p.process_config.timeouts.loop = 3  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- __main__ script


SCRIPT = """
import multiprocessing, sys
from suitkaise.processing import Skprocess, RunError

LIMIT = 3

class Helper:
    def twice(self, x):
        return 2 * x

class Script(Skprocess):
    kind = "main"

    def __init__(self):
        self.helper = Helper()
        self.values = []
        self.process_config.runs = LIMIT
        self.process_config.start_method = sys.argv[1]

    def _next(self):
        return self.helper.twice(self.current_run)

    @property
    def total(self):
        return sum(self.values)

    def __run__(self):
        self.values.append(self._next())

    def __result__(self):
        return self.kind, self.total, __name__

class Fails(Script):
    def __run__(self):
        raise ValueError("from main")

if __name__ == "__main__":
    print(Script().run())
    try:
        Fails().run()
    except RunError as e:
        print("error", type(e.original_error).__name__, e.original_error)
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_main_module_classes_work_under_spawn(method: str, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script), method],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "('main', 6, '__main__')",  # the class travelled by value with its globals
        "error ValueError from main",
    ]
    assert "resource_tracker" not in done.stderr
    assert "leaked" not in done.stderr


LOADED_ELSEWHERE = """
from suitkaise.processing import Skprocess

class FromAFile(Skprocess):
    def __init__(self):
        self.process_config.runs = 2

    def _twice(self, x):
        return 2 * x

    def __run__(self):
        self.last = self._twice(self.current_run)

    def __result__(self):
        return self.last
"""


def test_class_from_a_module_the_child_cannot_import(start_method: str, tmp_path: Path) -> None:
    import importlib.util

    path = tmp_path / "loaded_elsewhere.py"
    path.write_text(LOADED_ELSEWHERE)
    name = f"sk_loaded_elsewhere_{start_method}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # importable here, but not on the child's sys.path
    try:
        spec.loader.exec_module(module)
        p = configured(module.FromAFile(), start_method)
        assert p.run.timeout(WAIT)() == 2
    finally:
        del sys.modules[name]


UNFINISHED = """
import sys
from suitkaise.processing import Skprocess

class Endless(Skprocess):
    def __init__(self):
        self.process_config.start_method = sys.argv[1]
    def __run__(self):
        import time
        time.sleep(0.01)

if __name__ == "__main__":
    p = Endless()
    p.start()
    print(p.pid, flush=True)
"""


def test_interpreter_exit_kills_unfinished_processes(tmp_path: Path) -> None:
    script = tmp_path / "unfinished.py"
    script.write_text(UNFINISHED)
    done = subprocess.run(
        [sys.executable, str(script), "spawn"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "resource_tracker" not in done.stderr
    assert "leaked" not in done.stderr
