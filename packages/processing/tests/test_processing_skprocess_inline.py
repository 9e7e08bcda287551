"""run_inline: the full Skprocess lifecycle in the current process (what Pool workers use)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from suitkaise.processing import ProcessTimeoutError, RunError, Skprocess
from suitkaise.processing._int.engine import run_inline


class Flaky(Skprocess):
    def __init__(self, marker: str, failures: int, lives: int) -> None:
        self.marker = marker
        self.failures = failures
        self.seen: list[int] = []
        self.process_config.runs = 3
        self.process_config.lives = lives

    def __run__(self) -> None:
        self.seen.append(self.current_run)
        if self.current_run == 1:
            path = Path(self.marker)
            tries = len(path.read_text()) if path.exists() else 0
            path.write_text("x" * (tries + 1))
            if tries < self.failures:
                raise ValueError(f"try {tries}")

    def __onfinish__(self) -> None:
        self.seen.append(-1)

    def __result__(self) -> Any:
        return self.seen


class Slow(Skprocess):
    def __init__(self, seconds: float = 0.4) -> None:
        self.seconds = seconds
        self.process_config.runs = 1
        self.process_config.timeouts.run = 0.1

    def __run__(self) -> None:
        time.sleep(self.seconds)

    def __error__(self) -> Any:
        return ("handled", type(self.error).__name__, self.error.section)


class Stops(Skprocess):
    def __init__(self) -> None:
        self.count = 0

    def __run__(self) -> None:
        self.count += 1
        if self.count == 3:
            self.stop()

    def __result__(self) -> int:
        return self.count


class Talks(Skprocess):
    def __run__(self) -> None:
        self.tell("hi")


def test_lives_restart_from_the_state_before_the_first_attempt(tmp_path: Path) -> None:
    assert run_inline(Flaky(str(tmp_path / "m"), failures=2, lives=3)) == [0, 1, 2, -1]


def test_lives_exhausted_raises(tmp_path: Path) -> None:
    with pytest.raises(RunError) as info:
        run_inline(Flaky(str(tmp_path / "m"), failures=5, lives=2))
    assert str(info.value.original_error) == "try 1"
    assert info.value.current_run == 1


def test_timeout_on_the_main_thread_interrupts() -> None:
    start = time.monotonic()
    assert run_inline(Slow(3.0)) == ("handled", "ProcessTimeoutError", "run")
    assert time.monotonic() - start < 2.0  # interrupted: the sleep alone takes 3 s


def test_timeout_off_the_main_thread_is_detected_afterwards() -> None:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(run_inline(Slow())))
    thread.start()
    thread.join(10)
    assert out == [("handled", "ProcessTimeoutError", "run")]


def test_stop_from_inside_and_bad_use() -> None:
    assert run_inline(Stops()) == 3
    with pytest.raises(RunError) as info:
        run_inline(Talks())
    assert isinstance(info.value.original_error, RuntimeError)
    with pytest.raises(TypeError):
        run_inline("not a process")  # type: ignore[arg-type]
    with pytest.raises(ProcessTimeoutError):
        bad = Slow()
        bad.__class__ = type("NoHandler", (Slow,), {"__error__": lambda self: self.error})
        run_inline(bad)


class _Counted(Skprocess):
    def __init__(self, handled: bool) -> None:
        self.handled = handled
        self.attempts = 0
        self.process_config.runs = 1
        self.process_config.lives = 3

    def __run__(self) -> None:
        self.attempts += 1

    def __result__(self) -> int:
        return self.attempts

    def __error__(self) -> Any:
        if self.handled:
            return f"after crash: {self.error.exitcode}"  # type: ignore[union-attr]
        return self.error


def test_run_inline_after_crashes_uses_the_lives_left_then_error_handler() -> None:
    from suitkaise.processing import ProcessCrashError

    crash = ProcessCrashError("worker died", exitcode=9, signal_name=None)
    assert run_inline(_Counted(True), lives_used=2, crash=crash) == 1  # one life left: runs
    assert run_inline(_Counted(True), lives_used=3, crash=crash) == "after crash: 9"
    with pytest.raises(ProcessCrashError) as info:
        run_inline(_Counted(False), lives_used=3, crash=crash)
    assert info.value is crash
    with pytest.raises(ProcessCrashError):  # __error__ crashed too: nothing runs again
        run_inline(_Counted(True), lives_used=4, crash=crash)
