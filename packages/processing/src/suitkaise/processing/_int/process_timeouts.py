"""Interrupting a lifecycle section that runs past its timeout.

On Unix the engine arms ``signal.setitimer(ITIMER_REAL, t)`` (sub-second precision) before a
section and disarms it after; the SIGALRM handler raises :class:`SectionTimeout` in the main
thread, which interrupts Python code and most blocking calls (sleep, socket reads). Where SIGALRM
cannot be used (Windows, or the engine running outside the main thread) the section runs to its
end and is then reported as timed out if it took too long; the parent's backstop (kill past
timeout + grace) still applies to started processes.

Non-goal: interrupting C code that blocks or ignores signals; only the parent's backstop can
end that.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["AlarmClock", "SectionTimeout", "alarm_deferred"]


class SectionTimeout(BaseException):
    """Raised inside a section by the alarm (its traceback shows where the section was).

    A ``BaseException`` so that a user's ``except Exception:`` in the section does not swallow it.
    """


class AlarmClock:
    """Arms and disarms SIGALRM around sections. One per engine run.

    Attributes:
        interrupts: True if sections are really interrupted (SIGALRM on the main thread).
    """

    def __init__(self) -> None:
        self.interrupts = (
            hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )
        self._armed = False
        self._previous: Any = None
        self._installed = False

    def install(self) -> None:
        if self.interrupts and not self._installed:
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            self.disarm()
            signal.signal(signal.SIGALRM, self._previous)
            self._installed = False

    def arm(self, seconds: float) -> None:
        if self._installed:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, seconds)

    def disarm(self) -> None:
        if self._installed:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._armed = False
            raise SectionTimeout()


@contextmanager
def alarm_deferred() -> Iterator[None]:
    """Hold SIGALRM back for the duration of the block (it is delivered right after).

    Used around writing or reading one message on a pipe inside a timed section: a timeout
    raised half-way through would leave a truncated message and break the pipe's framing.
    """
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
