"""Statistics against reference implementations (statistics, numpy), caching, rolling window."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suitkaise.sktime import Sktimer, TimerStats

try:  # numpy is the reference for arbitrary percentiles where installed (not in every env)
    import numpy as np
except ImportError:  # pragma: no cover - depends on the environment
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="numpy (the percentile reference) is absent")

# Durations as a timer sees them: non-negative, finite, from nanoseconds to hours.
durations = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
samples = st.lists(durations, min_size=1, max_size=200)


def timer_with(times: list[float], max_times: int | None = None) -> Sktimer:
    timer = Sktimer(max_times)
    for t in times:
        timer.add_time(t)
    return timer


def close(a: float | None, b: float, *, scale: float) -> bool:
    assert a is not None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * max(scale, 1.0))


@settings(max_examples=150, deadline=None)
@given(samples)
def test_statistics_match_the_statistics_module(times: list[float]) -> None:
    timer = timer_with(times)
    scale = max(times)
    assert timer.num_times == len(times)
    assert timer.times == times
    assert close(timer.total_time, math.fsum(times), scale=scale * len(times))
    assert close(timer.mean, statistics.fmean(times), scale=scale)
    assert timer.median == statistics.median(times)
    assert timer.min == min(times) and timer.max == max(times)
    assert timer.fastest_index == times.index(min(times))
    assert timer.slowest_index == times.index(max(times))
    assert timer.most_recent == times[-1]
    if len(times) >= 2:
        assert close(timer.variance, statistics.variance(times), scale=scale * scale)
        assert close(timer.stdev, statistics.stdev(times), scale=scale)
    else:
        assert timer.variance is None and timer.stdev is None


@settings(max_examples=150, deadline=None)
@given(st.lists(durations, min_size=2, max_size=200))
def test_integer_percentiles_match_statistics_inclusive_quantiles(times: list[float]) -> None:
    # statistics.quantiles(method="inclusive") cuts at numpy's linear percentiles 1..99.
    timer = timer_with(times)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    for p, expected in zip(range(1, 100), cuts, strict=True):
        assert close(timer.percentile(p), expected, scale=max(times))
    assert timer.percentile(0) == min(times) and timer.percentile(100) == max(times)


@needs_numpy
@settings(max_examples=150, deadline=None)
@given(samples, st.floats(min_value=0.0, max_value=100.0))
def test_percentile_matches_numpy_linear(times: list[float], p: float) -> None:
    timer = timer_with(times)
    expected = float(np.percentile(np.array(times), p))
    assert close(timer.percentile(p), expected, scale=max(times))
    assert close(timer.get_statistics().percentile(p), expected, scale=max(times))


# numpy.percentile(times, p) for these six times, written out so every env checks them.
@pytest.mark.parametrize(
    ("p", "expected"),
    [(0, 1.0), (10, 1.5), (25, 2.25), (50, 4.0), (62.5, 5.25), (75, 6.5), (95, 8.5), (100, 9.0)],
)
def test_percentile_exact_values(p: float, expected: float) -> None:
    times = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    assert timer_with(times).percentile(p) == pytest.approx(expected)
    if np is not None:
        assert float(np.percentile(times, p)) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(samples, st.integers(min_value=1, max_value=50))
def test_rolling_window_is_exact_over_the_last_n(times: list[float], window: int) -> None:
    timer = timer_with(times, max_times=window)
    kept = times[-window:]
    assert timer.times == kept
    assert timer.num_times == len(kept)
    assert close(timer.mean, statistics.fmean(kept), scale=max(kept))
    assert timer.median == statistics.median(kept)
    assert timer.min == min(kept) and timer.max == max(kept)
    if len(kept) >= 2:
        assert close(timer.stdev, statistics.stdev(kept), scale=max(kept))


def test_set_max_times_trims_and_grows() -> None:
    timer = timer_with([1.0, 2.0, 3.0, 4.0])
    timer.set_max_times(2)
    assert timer.max_times == 2 and timer.times == [3.0, 4.0] and timer.mean == 3.5
    timer.add_time(5.0)
    assert timer.times == [4.0, 5.0]
    timer.set_max_times(None)
    timer.add_time(6.0)
    assert timer.times == [4.0, 5.0, 6.0]


def test_statistics_follow_every_change() -> None:
    timer = timer_with([1.0, 3.0])
    assert timer.mean == 2.0
    assert timer.percentile(100) == 3.0
    timer.add_time(8.0)
    assert timer.mean == 4.0
    assert timer.percentile(100) == 8.0
    timer.reset()
    assert timer.mean is None and timer.percentile(50) is None
    timer.add_time(2.0)
    assert timer.mean == 2.0


def test_statistics_are_cached_until_the_next_change() -> None:
    # White-box on purpose: "repeated reads are O(1)" means the snapshot (and the sorted copy
    # behind percentile) is reused, not rebuilt, until the times change.
    timer = timer_with([float(i) for i in range(1000)])
    first = timer._snapshot()
    assert timer.mean == 499.5
    assert timer.percentile(95) == pytest.approx(949.05)
    ordered = first.sorted()
    for _ in range(3):
        assert timer.mean == 499.5
        assert timer.stdev is not None
        assert timer.percentile(95) == pytest.approx(949.05)
        assert timer._snapshot() is first
        assert first.sorted() is ordered
    timer.add_time(1.0)
    assert timer._snapshot() is not first


def test_get_statistics_is_a_frozen_independent_snapshot() -> None:
    timer = timer_with([1.0, 2.0, 3.0], max_times=10)
    stats = timer.get_statistics()
    assert isinstance(stats, TimerStats)
    assert stats.times == (1.0, 2.0, 3.0)
    assert (stats.num_times, stats.mean, stats.median, stats.max_times) == (3, 2.0, 2.0, 10)
    assert stats.stdev == pytest.approx(1.0) and stats.variance == pytest.approx(1.0)
    timer.add_time(100.0)
    assert stats.num_times == 3 and stats.max == 3.0
    with pytest.raises(AttributeError):
        stats.mean = 5.0  # type: ignore[misc]
    empty = Sktimer().get_statistics()
    assert empty.num_times == 0 and empty.mean is None and empty.percentile(50) is None


@pytest.mark.parametrize(
    ("p", "error"),
    [
        (101, ValueError),
        (-0.1, ValueError),
        (float("nan"), ValueError),
        ("50", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_percentile_rejects_bad_input(p: object, error: type[Exception]) -> None:
    timer = timer_with([1.0])
    with pytest.raises(error, match="percentile"):
        timer.percentile(p)  # type: ignore[arg-type]


def test_get_time_indices() -> None:
    timer = timer_with([1.0, 2.0, 3.0])
    assert [timer.get_time(i) for i in (0, 1, 2, -1, -2, -3)] == [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]
    with pytest.raises(IndexError, match=r"-3\.\.2"):
        timer.get_time(3)
    with pytest.raises(IndexError):
        timer.get_time(-4)
    with pytest.raises(TypeError, match="int"):
        timer.get_time(1.0)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="empty"):
        Sktimer().get_time(0)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1.0", TypeError),
        (True, TypeError),
        (None, TypeError),
        ([1.0], TypeError),
    ],
)
def test_add_time_rejects_bad_input(value: object, error: type[Exception]) -> None:
    timer = Sktimer()
    with pytest.raises(error, match="add_time"):
        timer.add_time(value)  # type: ignore[arg-type]
    assert timer.num_times == 0


class Seconds(float):
    """A float subclass, like numpy.float64."""


def test_add_time_accepts_float_subclasses_as_plain_floats() -> None:
    timer = Sktimer()
    timer.add_time(Seconds(0.5))
    assert timer.times == [0.5] and type(timer.times[0]) is float


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("3", TypeError)]
)
def test_max_times_rejects_bad_input(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_times"):
        Sktimer(value)  # type: ignore[arg-type]
    with pytest.raises(error, match="max_times"):
        Sktimer().set_max_times(value)  # type: ignore[arg-type]


def test_clock_must_be_callable() -> None:
    with pytest.raises(TypeError, match="clock"):
        Sktimer(clock=1.0)  # type: ignore[arg-type]


def test_merge_combines_in_order() -> None:
    a = timer_with([1.0, 2.0])
    b = timer_with([3.0], max_times=5)
    stats = timer_with([4.0, 5.0]).get_statistics()
    merged = Sktimer.merge(a, b, stats)
    assert merged.times == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert merged.max_times is None
    assert merged.mean == 3.0
    assert a.times == [1.0, 2.0]  # inputs untouched
    assert Sktimer.merge().num_times == 0
    with pytest.raises(TypeError, match="argument 1"):
        Sktimer.merge(a, 42)  # type: ignore[arg-type]


def test_summary_and_str_use_readable_units() -> None:
    timer = timer_with([0.0015, 0.0025])
    line = str(timer)
    assert line == "Sktimer: 2 times, mean 2.00 ms, min 1.50 ms, max 2.50 ms"
    assert "Sktimer" in repr(timer) and "max_times=None" in repr(timer)
    table = timer.summary()
    assert table.splitlines()[0] == "Sktimer: 2 times"
    assert "  mean    2.00 ms" in table.splitlines()
    assert str(Sktimer()) == "Sktimer: no times recorded"
    assert "no times recorded" in Sktimer(3).summary()
    assert "rolling window of 3" in Sktimer(3).summary()
    micro = timer_with([0.000012, 75.5])
    assert "12.00 µs" in micro.summary() and "1 min 15.50 s" in micro.summary()


def test_merge_sums_paused_time() -> None:
    ticks = iter([0.0, 1.0, 3.0, 4.0])
    paused = Sktimer(clock=lambda: next(ticks))
    paused.start()
    paused.pause()
    paused.resume()
    paused.stop()
    assert paused.total_time_paused == 2.0
    merged = Sktimer.merge(paused, paused)
    assert merged.total_time_paused == 4.0
    assert merged.times == [2.0, 2.0]


def test_bulk_extend_refreshes_cached_statistics() -> None:
    # Sktimer._extend is what merge() and processing's ProcessTimers use to record many times.
    timer = timer_with([1.0, 2.0], max_times=3)
    assert timer.mean == 1.5  # cached now
    timer._extend([3.0, 4.0])
    assert timer.times == [2.0, 3.0, 4.0]  # the rolling window still applies
    assert timer.mean == 3.0 and timer.max == 4.0 and timer.num_times == 3
