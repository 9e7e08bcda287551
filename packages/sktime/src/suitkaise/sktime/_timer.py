"""Sktimer: a thread- and fork-safe stopwatch that keeps every time and its statistics.

Guarantees:
    * Each thread has its own stack of open frames (a ``threading.local``), so ``start()``
      nested inside another ``start()`` times the inner region, and threads sharing one timer
      never see each other's frames. Every finished measurement lands in one shared deque.
    * The hot path takes no lock. ``deque.append`` is atomic under the GIL, so concurrent
      ``stop()`` calls never lose or corrupt a measurement. The statistics cache is keyed by a
      version number drawn from ``itertools.count`` (whose ``__next__`` is atomic too); see
      ``_snapshot`` for why a stale cache can never be served.
    * Fork-safe without any check on the hot path: the only lock (guarding the rarely touched
      paused-time total) is renewed in the child by ``os.register_at_fork``; the forking
      thread's open frames stay usable in the child, other threads' frames vanish with them.
    * Statistics are computed on first read after a change and cached until the next change.
    * Pickle (and so cerial) carries the measurements, the window size and a custom clock, but
      no open frames and no lock.

Non-goals: timing across processes live (send the timer, or ``merge`` the timers back).
``set_max_times()`` and ``reset()`` are meant for moments when no other thread is recording:
a ``stop()`` racing ``set_max_times()`` in another thread may be dropped.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ._checks import check_max_times, check_percentile, check_seconds
from ._errors import TimerStateError
from ._stats import TimerStats, _Snapshot, format_line, format_summary

__all__ = ["Sktimer"]

Clock = Callable[[], float]

# Guards the paused-time totals only (pause/resume are rare, so the hot path never takes it).
_pause_lock = threading.Lock()


def _renew_lock_in_child() -> None:
    # A fork while another thread held the lock would leave the child's copy held forever.
    global _pause_lock
    _pause_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_renew_lock_in_child)


class _PausedFrame:
    """An open frame that has been paused at least once (a running frame is a bare float)."""

    __slots__ = ("paused", "paused_at", "start")

    def __init__(self, start: float, paused_at: float) -> None:
        self.start = start
        self.paused = 0.0
        self.paused_at: float | None = paused_at

    def close(self, now: float) -> tuple[float, float]:
        """Return (elapsed without pauses, time paused) if the frame ended at ``now``."""
        if self.paused_at is None:
            return now - self.start - self.paused, self.paused
        return self.paused_at - self.start - self.paused, self.paused + (now - self.paused_at)


class _Frames(threading.local):
    """This thread's open frames of one timer, innermost last."""

    def __init__(self) -> None:
        self.stack: list[float | _PausedFrame] = []


def _state_of(stack: list[float | _PausedFrame]) -> str:
    if not stack:
        return "idle"
    top = stack[-1]
    if isinstance(top, _PausedFrame) and top.paused_at is not None:
        return "paused"
    return "running"


class Sktimer:
    """A stopwatch that records every measurement and keeps statistics over them.

    ``start()``/``stop()`` pairs (or ``lap()``, ``add_time()``, ``TimeThis``, ``timethis``)
    record times in seconds. Statistics (``mean``, ``median``, ``stdev``, ``percentile(p)``, ...)
    are computed when first read after a change and cached until the next one. One timer may
    be shared by many threads: each thread has its own stack of open frames, so nested
    ``start()`` calls time nested regions and threads time independently, while every
    measurement lands in the same list.

    Args:
        max_times: Keep only the most recent ``max_times`` measurements (a rolling window);
            ``None`` keeps them all. Statistics are always exact over the window.
        clock: A function returning seconds as a float; defaults to ``time.perf_counter``.
            Pass a fake clock in tests.

    Raises:
        TypeError: If ``max_times`` is not an int or ``None``, or ``clock`` is not callable.
        ValueError: If ``max_times`` is less than 1.

    Examples:
        >>> from suitkaise.sktime import Sktimer
        >>> ticks = iter([0.0, 0.5, 1.0, 1.25])
        >>> timer = Sktimer(clock=lambda: next(ticks))
        >>> timer.start()
        >>> timer.stop()
        0.5
        >>> timer.start()
        >>> timer.stop()
        0.25
        >>> timer.num_times, timer.mean, timer.max
        (2, 0.375, 0.5)
    """

    __slots__ = (
        "__weakref__",
        "_cache",
        "_clock",
        "_frames",
        "_max_times",
        "_next_version",
        "_paused_total",
        "_times",
        "_version",
    )

    def __init__(self, max_times: int | None = None, *, clock: Clock | None = None) -> None:
        self._setup(check_max_times(max_times), [], 0.0, clock)

    def _setup(
        self,
        max_times: int | None,
        times: list[float],
        paused_total: float,
        clock: Clock | None,
    ) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(
                f"clock must be a function returning seconds (like time.perf_counter), got "
                f"{type(clock).__name__}: {clock!r}"
            )
        self._clock: Clock = clock if clock is not None else time.perf_counter
        self._max_times = max_times
        self._times: deque[float] = deque(times, maxlen=max_times)
        self._frames = _Frames()
        self._paused_total = paused_total
        self._next_version = itertools.count(1).__next__
        self._version = 0
        self._cache: _Snapshot | None = None

    # ----------------------------------------------------------------- measuring (hot path)

    def start(self) -> None:
        """Open a new frame in this thread: the clock starts for it now.

        Calling ``start()`` again before ``stop()`` opens a nested frame; ``stop()`` closes
        the innermost one first.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.start()
            >>> elapsed = timer.stop()
            >>> timer.num_times
            1
        """
        self._frames.stack.append(self._clock())

    def stop(self) -> float:
        """Close this thread's innermost frame and record its time.

        Time spent paused is left out. Stopping a paused frame records the time up to the
        pause.

        Returns:
            The recorded time in seconds.

        Raises:
            TimerStateError: If this thread has no open frame (call ``start()`` first).

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> ticks = iter([10.0, 12.5])
            >>> timer = Sktimer(clock=lambda: next(ticks))
            >>> timer.start()
            >>> timer.stop()
            2.5
        """
        now = self._clock()
        try:
            start = self._frames.stack.pop()
            # A running frame is a bare float, so the common case is one subtraction; a
            # paused frame is an object and takes the slower path below.
            elapsed = now - start  # type: ignore[operator]
        except IndexError:
            raise _not_started("stop") from None
        except TypeError:
            elapsed = self._close_paused(start, now, count_pause=True)
        self._times.append(elapsed)
        self._version = self._next_version()
        return elapsed

    def lap(self) -> float:
        """Record the time since ``start()`` (or the previous lap) and keep the clock running.

        Equivalent to ``stop()`` followed by ``start()`` with a single clock reading, so
        consecutive laps add up exactly to the total. A lap taken while paused records the
        time up to the pause and starts the next lap running.

        Returns:
            The recorded lap time in seconds.

        Raises:
            TimerStateError: If this thread has no open frame (call ``start()`` first).

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> ticks = iter([0.0, 1.0, 3.0])
            >>> timer = Sktimer(clock=lambda: next(ticks))
            >>> timer.start()
            >>> timer.lap(), timer.lap()
            (1.0, 2.0)
        """
        now = self._clock()
        stack = self._frames.stack
        try:
            start = stack[-1]
            elapsed = now - start  # type: ignore[operator]
        except IndexError:
            raise _not_started("lap") from None
        except TypeError:
            elapsed = self._close_paused(start, now, count_pause=True)
        stack[-1] = now
        self._times.append(elapsed)
        self._version = self._next_version()
        return elapsed

    def discard(self) -> float:
        """Close this thread's innermost frame without recording it.

        Returns:
            The time the frame ran (seconds, pauses left out), for your information only.

        Raises:
            TimerStateError: If this thread has no open frame (call ``start()`` first).

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.start()
            >>> _ = timer.discard()
            >>> timer.num_times
            0
        """
        now = self._clock()
        try:
            start = self._frames.stack.pop()
            return now - start  # type: ignore[operator]
        except IndexError:
            raise _not_started("discard") from None
        except TypeError:
            return self._close_paused(start, now, count_pause=False)

    def pause(self) -> None:
        """Pause this thread's innermost frame: time until ``resume()`` is not counted.

        Raises:
            TimerStateError: If this thread has no open frame, or it is already paused.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> ticks = iter([0.0, 1.0, 5.0, 6.0])
            >>> timer = Sktimer(clock=lambda: next(ticks))
            >>> timer.start(); timer.pause(); timer.resume()
            >>> timer.stop()
            2.0
            >>> timer.total_time_paused
            4.0
        """
        now = self._clock()
        stack = self._frames.stack
        if not stack:
            raise _not_started("pause")
        top = stack[-1]
        if isinstance(top, _PausedFrame):
            if top.paused_at is not None:
                raise TimerStateError(
                    "pause() called but the timer is already paused; call resume() to "
                    "continue timing",
                    operation="pause",
                    state="paused",
                )
            top.paused_at = now
        else:
            stack[-1] = _PausedFrame(top, now)

    def resume(self) -> None:
        """Resume this thread's paused innermost frame.

        Raises:
            TimerStateError: If this thread has no open frame, or it is not paused.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.start()
            >>> timer.pause()
            >>> timer.resume()
            >>> _ = timer.stop()
        """
        now = self._clock()
        stack = self._frames.stack
        top = stack[-1] if stack else None
        if not isinstance(top, _PausedFrame) or top.paused_at is None:
            state = _state_of(stack)
            hint = "call start() first" if state == "idle" else "call pause() first"
            raise TimerStateError(
                f"resume() called but the timer is not paused ({state}); {hint}",
                operation="resume",
                state=state,
            )
        top.paused += now - top.paused_at
        top.paused_at = None

    def add_time(self, seconds: float) -> None:
        """Record a time measured elsewhere.

        Args:
            seconds: The time in seconds (an int or float, finite and not negative).

        Raises:
            TypeError: If ``seconds`` is not a number.
            ValueError: If ``seconds`` is negative, NaN or infinite.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(1.5)
            >>> timer.most_recent
            1.5
        """
        if type(seconds) is not float or not 0.0 <= seconds < math.inf:
            seconds = check_seconds(seconds, "add_time() seconds")
        self._times.append(seconds)
        self._version = self._next_version()

    def _extend(self, times: Iterable[float]) -> None:
        """Record many times at once, with one version bump (no per-time call).

        The caller vouches for ``times``: finite, non-negative floats (as ``add_time`` would
        store them). ``merge`` and processing's ``ProcessTimers`` use it.
        """
        self._times.extend(times)
        self._version = self._next_version()

    def _close_paused(self, frame: float | _PausedFrame, now: float, *, count_pause: bool) -> float:
        elapsed, paused = _split_paused(frame, now)
        if count_pause:
            self._add_paused(paused)
        return elapsed

    def _add_paused(self, paused: float) -> None:
        with _pause_lock:
            self._paused_total += paused

    def _stop_if_at_least(self, threshold: float) -> float:
        """``stop()`` that records only when the time is at least ``threshold``.

        ``TimeThis(timer, threshold=...)`` uses it, so a block below the threshold leaves no
        trace, while a recorded one counts its paused time like ``stop()`` does.
        """
        now = self._clock()
        try:
            start = self._frames.stack.pop()
            elapsed = now - start  # type: ignore[operator]
            paused = 0.0
        except IndexError:
            raise _not_started("stop") from None
        except TypeError:
            elapsed, paused = _split_paused(start, now)
        if elapsed >= threshold:
            if paused:
                self._add_paused(paused)
            self._times.append(elapsed)
            self._version = self._next_version()
        return elapsed

    # ----------------------------------------------------------------------- configuration

    def reset(self) -> None:
        """Forget every measurement, the paused total, and every thread's open frames.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(1.0)
            >>> timer.reset()
            >>> timer.num_times, timer.mean
            (0, None)
        """
        self._frames = _Frames()
        self._times.clear()
        with _pause_lock:
            self._paused_total = 0.0
        self._version = self._next_version()

    def set_max_times(self, max_times: int | None) -> None:
        """Change the rolling-window size, keeping the most recent measurements.

        Args:
            max_times: Keep at most this many measurements; ``None`` keeps them all.

        Raises:
            TypeError: If ``max_times`` is not an int or ``None``.
            ValueError: If ``max_times`` is less than 1.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> for seconds in (1, 2, 3):
            ...     timer.add_time(seconds)
            >>> timer.set_max_times(2)
            >>> timer.times
            [2.0, 3.0]
        """
        max_times = check_max_times(max_times)
        self._times = deque(self._copy_times(), maxlen=max_times)
        self._max_times = max_times
        self._version = self._next_version()

    @property
    def max_times(self) -> int | None:
        """The rolling-window size (``None``: every measurement is kept)."""
        return self._max_times

    # ------------------------------------------------------------------------- statistics

    def _copy_times(self) -> list[float]:
        while True:
            try:
                return list(self._times)
            except RuntimeError:  # pragma: no cover - needs a thread switch inside the copy
                continue  # another thread appended during the copy; take it again

    def _snapshot(self) -> _Snapshot:
        # Read the version BEFORE copying: a copy can then only be newer than its version,
        # and since every writer stores a fresh, never-repeated number after its append, a
        # snapshot that misses a write never matches the version again.
        version = self._version
        cache = self._cache
        if cache is None or cache.version != version:
            cache = _Snapshot(version, self._copy_times())
            self._cache = cache
        return cache

    @property
    def num_times(self) -> int:
        """How many measurements the timer holds."""
        return len(self._times)

    @property
    def most_recent(self) -> float | None:
        """The last recorded time in seconds, or ``None`` if there is none."""
        try:
            return self._times[-1]
        except IndexError:
            return None

    @property
    def result(self) -> float | None:
        """Alias of :attr:`most_recent`."""
        return self.most_recent

    @property
    def total_time(self) -> float:
        """Sum of the recorded times in seconds (``0.0`` when empty)."""
        return self._snapshot().total()

    @property
    def total_time_paused(self) -> float:
        """Time spent paused inside the recorded measurements, in seconds."""
        return self._paused_total

    @property
    def mean(self) -> float | None:
        """Arithmetic mean of the times in seconds, or ``None`` when empty."""
        return self._snapshot().mean()

    @property
    def median(self) -> float | None:
        """Median of the times in seconds, or ``None`` when empty."""
        return self._snapshot().median()

    @property
    def min(self) -> float | None:
        """Fastest time in seconds, or ``None`` when empty."""
        return self._snapshot().min()

    @property
    def max(self) -> float | None:
        """Slowest time in seconds, or ``None`` when empty."""
        return self._snapshot().max()

    @property
    def stdev(self) -> float | None:
        """Sample standard deviation in seconds; ``None`` with fewer than two times."""
        return self._snapshot().stdev()

    @property
    def variance(self) -> float | None:
        """Sample variance in seconds squared; ``None`` with fewer than two times."""
        return self._snapshot().variance()

    @property
    def fastest_index(self) -> int | None:
        """Index (into :attr:`times`) of the first fastest time, or ``None`` when empty."""
        return self._snapshot().fastest_index()

    @property
    def slowest_index(self) -> int | None:
        """Index (into :attr:`times`) of the first slowest time, or ``None`` when empty."""
        return self._snapshot().slowest_index()

    @property
    def times(self) -> list[float]:
        """A copy of the recorded times in seconds, oldest first."""
        return self._copy_times()

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile of the times, interpolated like numpy's default (linear).

        The sorted copy is built once per change, so repeated calls are O(1).

        Args:
            p: Percentile between 0 and 100 inclusive.

        Returns:
            The value in seconds, or ``None`` when the timer is empty.

        Raises:
            TypeError: If ``p`` is not a number.
            ValueError: If ``p`` is outside [0, 100].

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> for seconds in (1, 2, 3, 4, 5):
            ...     timer.add_time(seconds)
            >>> timer.percentile(90)
            4.6
        """
        return self._snapshot().percentile(check_percentile(p))

    def get_time(self, index: int) -> float:
        """The time recorded at ``index`` (negative indices count from the most recent).

        Args:
            index: Position in :attr:`times`; ``-1`` is the most recent.

        Returns:
            The time in seconds.

        Raises:
            TypeError: If ``index`` is not an int.
            IndexError: If there is no time at ``index``.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(1.0)
            >>> timer.add_time(2.0)
            >>> timer.get_time(0), timer.get_time(-1)
            (1.0, 2.0)
        """
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"get_time() index must be an int, got {type(index).__name__}")
        times = self._times
        try:
            return times[index]
        except IndexError:
            count = len(times)
            valid = f"valid indices are {-count}..{count - 1}" if count else "it is empty"
            raise IndexError(f"get_time({index}): the timer holds {count} times; {valid}") from None

    def get_statistics(self) -> TimerStats:
        """An immutable snapshot of the measurements and every statistic.

        Returns:
            A :class:`TimerStats` that later changes to the timer do not affect.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(2.0)
            >>> timer.add_time(4.0)
            >>> stats = timer.get_statistics()
            >>> stats.mean, stats.variance, stats.num_times
            (3.0, 2.0, 2)
        """
        snap = self._snapshot()
        times = tuple(snap.times)
        return TimerStats(
            num_times=len(times),
            most_recent=times[-1] if times else None,
            total_time=snap.total(),
            total_time_paused=self._paused_total,
            mean=snap.mean(),
            median=snap.median(),
            min=snap.min(),
            max=snap.max(),
            stdev=snap.stdev(),
            variance=snap.variance(),
            fastest_index=snap.fastest_index(),
            slowest_index=snap.slowest_index(),
            times=times,
            max_times=self._max_times,
        )

    @classmethod
    def merge(cls, *timers: Sktimer | TimerStats) -> Sktimer:
        """A new timer holding every measurement of ``timers``, in the order given.

        Useful to combine the timers of many workers. The inputs are not changed. The new
        timer keeps every time (no rolling window) and sums the paused totals.

        Args:
            *timers: Timers or :class:`TimerStats` snapshots (anything with ``times`` and
                ``total_time_paused`` attributes, such as a shared timer proxy, works too).

        Returns:
            A new :class:`Sktimer`.

        Raises:
            TypeError: If an argument has no ``times``.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> a, b = Sktimer(), Sktimer()
            >>> a.add_time(1.0)
            >>> b.add_time(3.0)
            >>> Sktimer.merge(a, b).times
            [1.0, 3.0]
        """
        merged = cls()
        times: list[float] = []
        paused = 0.0
        for position, timer in enumerate(timers):
            try:
                their_times = timer.times
                their_paused = timer.total_time_paused
            except AttributeError:
                raise TypeError(
                    f"Sktimer.merge() takes timers or TimerStats; argument {position} is "
                    f"{type(timer).__name__}"
                ) from None
            if isinstance(timer, Sktimer | TimerStats):
                times.extend(their_times)
            else:  # a proxy or look-alike: check what it hands over
                times.extend(check_seconds(t, "a merged time") for t in their_times)
            paused += check_seconds(their_paused, "a merged total_time_paused")
        merged._paused_total = paused
        merged._extend(times)
        return merged

    # --------------------------------------------------------------------- presentation

    def summary(self) -> str:
        """A multi-line table of the statistics with readable units.

        Returns:
            The table as a string.

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(0.0015)
            >>> print(timer.summary().splitlines()[2])
              mean    1.50 ms
        """
        return format_summary(self.get_statistics())

    def __str__(self) -> str:
        snap = self._snapshot()
        return format_line(len(snap.times), snap.mean(), snap.min(), snap.max())

    def __repr__(self) -> str:
        return f"<{self!s} (max_times={self._max_times})>"

    # ------------------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        # Measurements only: open frames and locks belong to the process that made them.
        return {
            "max_times": self._max_times,
            "times": self._copy_times(),
            "total_time_paused": self._paused_total,
            "clock": None if self._clock is time.perf_counter else self._clock,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(
            state["max_times"], list(state["times"]), state["total_time_paused"], state["clock"]
        )


def _split_paused(frame: float | _PausedFrame, now: float) -> tuple[float, float]:
    """(elapsed, paused) of a frame that failed the fast float subtraction."""
    if not isinstance(frame, _PausedFrame):
        raise TypeError(
            f"the timer's clock returned {now!r} after {frame!r}; a clock must return a "
            f"number of seconds"
        )
    return frame.close(now)


def _not_started(operation: str) -> TimerStateError:
    return TimerStateError(
        f"{operation}() called but this thread has no running timer; call start() first "
        f"(each thread needs its own start())",
        operation=operation,
        state="idle",
    )


Sktimer.__module__ = "suitkaise.sktime"
