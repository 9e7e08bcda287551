"""Statistics over recorded times: the lazy per-version cache and the frozen ``TimerStats``.

A :class:`_Snapshot` holds one immutable copy of a timer's times together with every statistic
computed from it so far. Each statistic is computed on first use and kept, so repeated reads
cost a dict lookup; the sorted copy behind ``median``/``percentile`` is built once per snapshot
(O(n log n)) and each percentile is then O(1). A timer replaces its snapshot only after its
times change. Computing a value twice from two threads is harmless (same input, same result),
so no lock is needed here, and none can be left held across ``fork()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from ._checks import check_percentile
from ._format import format_seconds

__all__ = ["TimerStats"]

_T = TypeVar("_T")


def percentile_of_sorted(ordered: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of sorted data, numpy's default ``linear`` method.

    Mirrors numpy's arithmetic (virtual index ``(n - 1) * p / 100`` and its two-sided lerp), so
    results agree with ``numpy.percentile`` up to floating-point rounding.
    """
    n = len(ordered)
    if n == 0:
        return None
    index = (n - 1) * (p / 100.0)
    lo = int(index)
    if lo >= n - 1:
        return ordered[-1]
    t = index - lo
    a = ordered[lo]
    b = ordered[lo + 1]
    diff = b - a
    if t >= 0.5:
        return b - diff * (1.0 - t)
    return a + diff * t


class _Snapshot:
    """One version of a timer's times and the statistics computed from it so far."""

    __slots__ = ("_memo", "times", "version")

    def __init__(self, version: int, times: list[float]) -> None:
        self.version = version
        self.times = times
        self._memo: dict[str, object] = {}

    def _cached(self, name: str, compute: Callable[[], _T]) -> _T:
        memo = self._memo
        try:
            return cast(_T, memo[name])
        except KeyError:
            value = memo[name] = compute()
            return value

    def total(self) -> float:
        return self._cached("total", lambda: math.fsum(self.times))

    def mean(self) -> float | None:
        n = len(self.times)
        return self._cached("mean", lambda: self.total() / n if n else None)

    def sorted(self) -> list[float]:
        return self._cached("sorted", lambda: sorted(self.times))

    def median(self) -> float | None:
        ordered = self.sorted()
        n = len(ordered)
        if n == 0:
            return None
        middle = n // 2
        # Same definition as statistics.median: the mean of the two middle values when even.
        return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    def min(self) -> float | None:
        return self._cached("min", lambda: min(self.times) if self.times else None)

    def max(self) -> float | None:
        return self._cached("max", lambda: max(self.times) if self.times else None)

    def variance(self) -> float | None:
        def compute() -> float | None:
            n = len(self.times)
            if n < 2:
                return None
            mean = self.total() / n
            # Two-pass with a compensated sum: accurate even when the times are nearly equal.
            return math.fsum((x - mean) ** 2 for x in self.times) / (n - 1)

        return self._cached("variance", compute)

    def stdev(self) -> float | None:
        variance = self.variance()
        return None if variance is None else math.sqrt(variance)

    def fastest_index(self) -> int | None:
        def compute() -> int | None:
            low = self.min()
            return None if low is None else self.times.index(low)

        return self._cached("fastest_index", compute)

    def slowest_index(self) -> int | None:
        def compute() -> int | None:
            high = self.max()
            return None if high is None else self.times.index(high)

        return self._cached("slowest_index", compute)

    def percentile(self, p: float) -> float | None:
        # O(1) once the sorted copy (shared with median) exists for this snapshot.
        return percentile_of_sorted(self.sorted(), p) if self.times else None


@dataclass(frozen=True, slots=True)
class TimerStats:
    """An immutable snapshot of a timer's measurements and statistics.

    Returned by :meth:`Sktimer.get_statistics`. Later changes to the timer do not affect it,
    so it is safe to keep, compare, pickle or send to another process. Statistics of an empty
    timer are ``None``; ``stdev`` and ``variance`` are sample statistics and need two times.

    Attributes:
        num_times: How many times were recorded.
        most_recent: The last recorded time (seconds), or ``None``.
        total_time: Sum of the times (seconds); ``0.0`` when empty.
        total_time_paused: Time spent paused inside the recorded measurements (seconds).
        mean: Arithmetic mean (seconds).
        median: Median (seconds); the mean of the two middle values for an even count.
        min: Fastest time (seconds).
        max: Slowest time (seconds).
        stdev: Sample standard deviation (seconds); ``None`` with fewer than two times.
        variance: Sample variance (seconds squared); ``None`` with fewer than two times.
        fastest_index: Index of the first fastest time in ``times``.
        slowest_index: Index of the first slowest time in ``times``.
        times: Every recorded time, oldest first.
        max_times: The timer's rolling-window size (``None``: unbounded).

    Examples:
        >>> from suitkaise.sktime import Sktimer
        >>> timer = Sktimer()
        >>> for seconds in (0.1, 0.2, 0.3):
        ...     timer.add_time(seconds)
        >>> stats = timer.get_statistics()
        >>> stats.num_times, round(stats.mean, 3), stats.fastest_index
        (3, 0.2, 0)
    """

    num_times: int
    most_recent: float | None
    total_time: float
    total_time_paused: float
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    stdev: float | None
    variance: float | None
    fastest_index: int | None
    slowest_index: int | None
    times: tuple[float, ...]
    max_times: int | None = None

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile of the times (numpy's default linear interpolation).

        Args:
            p: Percentile between 0 and 100 inclusive.

        Returns:
            The interpolated value in seconds, or ``None`` when there are no times.

        Raises:
            TypeError: If ``p`` is not a number.
            ValueError: If ``p`` is outside [0, 100].

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> for seconds in (1, 2, 3, 4):
            ...     timer.add_time(seconds)
            >>> timer.get_statistics().percentile(50)
            2.5
        """
        return percentile_of_sorted(tuple(sorted(self.times)), check_percentile(p))

    def summary(self) -> str:
        """A multi-line table of the statistics, each with a readable unit.

        Returns:
            The table as a string (no trailing newline).

        Examples:
            >>> from suitkaise.sktime import Sktimer
            >>> timer = Sktimer()
            >>> timer.add_time(0.002)
            >>> print(timer.get_statistics().summary().splitlines()[0])
            Sktimer: 1 time
        """
        return format_summary(self)


def format_summary(stats: TimerStats) -> str:
    """The multi-line summary shared by ``Sktimer.summary()`` and ``TimerStats.summary()``."""
    count = stats.num_times
    title = f"Sktimer: {count} time{'' if count == 1 else 's'}"
    if stats.max_times is not None:
        title += f" (rolling window of {stats.max_times})"
    if count == 0:
        return title + "\n  no times recorded yet"
    ordered = tuple(sorted(stats.times))
    rows: list[tuple[str, str]] = [
        ("total", format_seconds(stats.total_time)),
        ("mean", format_seconds(stats.mean)),
        ("median", format_seconds(stats.median)),
        ("min", format_seconds(stats.min)),
        ("max", format_seconds(stats.max)),
        ("stdev", format_seconds(stats.stdev)),
        ("p95", format_seconds(percentile_of_sorted(ordered, 95.0))),
        ("paused", format_seconds(stats.total_time_paused)),
        ("last", format_seconds(stats.most_recent)),
    ]
    return "\n".join([title, *(f"  {name:<7} {value}" for name, value in rows)])


def format_line(count: int, mean: float | None, low: float | None, high: float | None) -> str:
    """The one-line form used by ``str(timer)``."""
    if count == 0:
        return "Sktimer: no times recorded"
    return (
        f"Sktimer: {count} time{'' if count == 1 else 's'}, mean {format_seconds(mean)}, "
        f"min {format_seconds(low)}, max {format_seconds(high)}"
    )


TimerStats.__module__ = "suitkaise.sktime"
