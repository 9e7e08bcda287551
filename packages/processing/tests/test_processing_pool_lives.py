"""Pool: a hard crash of a worker running an Skprocess item costs that item a life (SPEC 4.1),
and so does a section that ignores its timeout (the parent kills the worker)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from suitkaise.processing import Pool, ProcessCrashError, ProcessTimeoutError, Skprocess


def _count_attempt(log: str) -> int:
    """Append one line to ``log`` and return how many attempts it records now."""
    with open(log, "a") as file:
        file.write("attempt\n")
    return len(Path(log).read_text().splitlines())


class CrashesOnce(Skprocess):
    """Kills its worker on the first attempt; the second returns normally."""

    def __init__(self, log: str, value: int) -> None:
        self.log = log
        self.value = value
        self.process_config.runs = 1
        self.process_config.lives = 2

    def __run__(self) -> None:
        if _count_attempt(self.log) == 1:
            os._exit(9)

    def __result__(self) -> int:
        return self.value * 10


class AlwaysCrashes(Skprocess):
    def __init__(self, log: str) -> None:
        self.log = log
        self.process_config.runs = 1
        self.process_config.lives = 2

    def __run__(self) -> None:
        _count_attempt(self.log)
        os._exit(5)


class CrashHandled(AlwaysCrashes):
    def __error__(self) -> str:
        assert isinstance(self.error, ProcessCrashError)
        return f"handled exit {self.error.exitcode}"


class HandlerCrashesToo(AlwaysCrashes):
    def __error__(self) -> str:
        _count_attempt(self.log + ".error")
        os._exit(6)


class Plain(Skprocess):
    def __init__(self, value: int) -> None:
        self.value = value
        self.process_config.runs = 1

    def __run__(self) -> None:
        pass

    def __result__(self) -> int:
        return self.value


def crash_always(x: int) -> int:
    if x == 1:
        os._exit(4)
    return x


def test_crash_once_costs_a_life_and_the_retry_returns(start_method: str, tmp_path: Path) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        assert pool.star().map(CrashesOnce, [(log, 4)]) == [40]
        assert len(Path(log).read_text().splitlines()) == 2
        # Among other items, in one call: only the crashed one runs again.
        log2 = str(tmp_path / "attempts2")
        items = [(str(tmp_path / f"ok{i}"), i) for i in range(6)]
        for path, _ in items:
            Path(path).write_text("attempt\n")  # these never crash
        items.insert(3, (log2, 7))
        assert pool.star().map(CrashesOnce, items) == [0, 10, 20, 70, 30, 40, 50]
        assert len(Path(log2).read_text().splitlines()) == 2
        # imap keeps input order across the retry.
        log3 = str(tmp_path / "attempts3")
        items[3] = (log3, 8)
        assert list(pool.star().imap(CrashesOnce, items)) == [0, 10, 20, 80, 30, 40, 50]
        assert len(Path(log3).read_text().splitlines()) == 2


def test_crash_every_time_runs_error_handler_after_lives(start_method: str, tmp_path: Path) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        assert pool.map(CrashHandled, [log]) == ["handled exit 5"]
        assert len(Path(log).read_text().splitlines()) == 2  # lives=2: two attempts, no more
        assert pool.map(Plain, [3]) == [3]


def test_crash_every_time_without_handler_raises_crash(start_method: str, tmp_path: Path) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(ProcessCrashError) as info:
            pool.map(AlwaysCrashes, [log])
        assert info.value.item_index == 0  # type: ignore[attr-defined]
        assert info.value.exitcode == 5
        assert len(Path(log).read_text().splitlines()) == 2


def test_error_handler_that_crashes_ends(start_method: str, tmp_path: Path) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(ProcessCrashError) as info:
            pool.map(HandlerCrashesToo, [log])
        assert info.value.exitcode == 6
        assert len(Path(log).read_text().splitlines()) == 2
        assert len(Path(log + ".error").read_text().splitlines()) == 1
        assert pool.map(Plain, [5]) == [5]


def test_plain_function_crash_is_not_retried(start_method: str) -> None:
    with Pool(2, start_method=start_method) as pool:
        with pytest.raises(ProcessCrashError) as info:
            pool.map(crash_always, [0, 1, 2])
        assert info.value.item_index == 1  # type: ignore[attr-defined]
        assert info.value.exitcode == 4


class DeafToAlarm(Skprocess):
    """A __run__ that blocks SIGALRM, so only the parent's backstop can end its timeout."""

    def __init__(self, log: str) -> None:
        self.log = log
        self.process_config.runs = 1
        self.process_config.lives = 2
        self.process_config.timeouts.run = 0.2

    def __run__(self) -> None:
        _count_attempt(self.log)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)


class DeafHandled(DeafToAlarm):
    def __error__(self) -> str:
        assert isinstance(self.error, ProcessTimeoutError)
        return f"handled {self.error.section} after {self.error.timeout} s"


needs_sigmask = pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask"), reason="needs signal.pthread_sigmask (Unix)"
)


@needs_sigmask
def test_section_deaf_to_its_timeout_is_ended_by_the_parent(
    start_method: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        started = time.monotonic()
        with pytest.raises(ProcessTimeoutError) as info:
            pool.map.timeout(30)(DeafToAlarm, [log])
        # two lives of 0.2 s + 1 s grace each, far from the 60 s the section would take
        assert time.monotonic() - started < 20
        assert info.value.section == "run"
        assert info.value.timeout == pytest.approx(0.2)
        assert info.value.item_index == 0  # type: ignore[attr-defined]
        assert "did not respond to the interrupt" in str(info.value)
        assert len(Path(log).read_text().splitlines()) == 2  # each life ran once
        assert pool.map(Plain, [1, 2]) == [1, 2]  # replaced workers: usable at once


@needs_sigmask
def test_section_deaf_to_its_timeout_goes_to_error_handler(
    start_method: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "attempts")
    with Pool(2, start_method=start_method) as pool:
        out = pool.map.timeout(30)(DeafHandled, [log])
        assert out == ["handled run after 0.2 s"]
        assert len(Path(log).read_text().splitlines()) == 2
