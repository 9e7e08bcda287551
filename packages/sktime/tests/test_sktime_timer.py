"""Sktimer basics with a fake clock: start/stop/lap/pause/resume/discard arithmetic."""

from __future__ import annotations

import pytest

from suitkaise.sktime import Sktimer, TimerStateError


class FakeClock:
    """A clock that only moves when told to, for exact timing arithmetic."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_start_stop_records_elapsed(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(2.5)
    assert timer.stop() == 2.5
    assert timer.times == [2.5]
    assert timer.num_times == 1
    assert timer.most_recent == timer.result == 2.5


def test_nested_start_times_nested_regions(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(1.0)
    timer.start()
    clock.advance(2.0)
    assert timer.stop() == 2.0
    clock.advance(4.0)
    assert timer.stop() == 7.0
    assert timer.times == [2.0, 7.0]


def test_lap_records_and_keeps_running(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(1.0)
    assert timer.lap() == 1.0
    clock.advance(3.0)
    assert timer.lap() == 3.0
    clock.advance(0.5)
    assert timer.stop() == 0.5
    assert timer.times == [1.0, 3.0, 0.5]
    assert timer.total_time == 4.5


def test_pause_resume_excludes_paused_time(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(1.0)
    timer.pause()
    clock.advance(10.0)
    timer.resume()
    clock.advance(2.0)
    timer.pause()
    clock.advance(5.0)
    timer.resume()
    clock.advance(0.25)
    assert timer.stop() == 3.25
    assert timer.total_time_paused == 15.0


def test_stop_while_paused_records_up_to_the_pause(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(2.0)
    timer.pause()
    clock.advance(7.0)
    assert timer.stop() == 2.0
    assert timer.total_time_paused == 7.0


def test_lap_while_paused_records_up_to_pause_and_runs_on(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(2.0)
    timer.pause()
    clock.advance(3.0)
    assert timer.lap() == 2.0
    clock.advance(1.0)
    assert timer.stop() == 1.0
    assert timer.total_time_paused == 3.0


def test_discard_records_nothing(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.start()
    clock.advance(4.0)
    assert timer.discard() == 4.0
    assert timer.num_times == 0
    timer.start()
    clock.advance(1.0)
    timer.pause()
    clock.advance(1.0)
    assert timer.discard() == 1.0
    assert timer.total_time_paused == 0.0
    with pytest.raises(TimerStateError):
        timer.discard()


def test_add_time_and_reset(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    timer.add_time(1)
    timer.add_time(2.5)
    assert timer.times == [1.0, 2.5]
    assert isinstance(timer.times[0], float)
    timer.start()
    timer.reset()
    assert timer.num_times == 0
    assert timer.mean is None
    with pytest.raises(TimerStateError):
        timer.stop()  # reset also forgot the open frame


def test_empty_timer_statistics_are_none() -> None:
    timer = Sktimer()
    assert timer.num_times == 0
    assert timer.total_time == 0.0
    for name in (
        "most_recent",
        "result",
        "mean",
        "median",
        "min",
        "max",
        "stdev",
        "variance",
        "fastest_index",
        "slowest_index",
    ):
        assert getattr(timer, name) is None, name
    assert timer.percentile(50) is None


def test_one_time_has_no_sample_stdev() -> None:
    timer = Sktimer()
    timer.add_time(3.0)
    assert timer.mean == timer.median == timer.min == timer.max == 3.0
    assert timer.stdev is None and timer.variance is None


def test_basic_statistics() -> None:
    timer = Sktimer()
    for seconds in (3.0, 1.0, 4.0, 1.0, 5.0):
        timer.add_time(seconds)
    assert timer.mean == 2.8
    assert timer.median == 3.0
    assert timer.min == 1.0 and timer.max == 5.0
    assert timer.fastest_index == 1 and timer.slowest_index == 4
    assert timer.variance == pytest.approx(3.2)
    assert timer.stdev == pytest.approx(3.2**0.5)
    assert timer.get_time(-1) == 5.0 and timer.get_time(0) == 3.0


def test_misuse_raises_with_guidance(clock: FakeClock) -> None:
    timer = Sktimer(clock=clock)
    with pytest.raises(TimerStateError, match=r"call start\(\) first") as info:
        timer.stop()
    assert info.value.operation == "stop" and info.value.state == "idle"
    with pytest.raises(RuntimeError, match=r"start\(\) first"):
        timer.lap()
    with pytest.raises(TimerStateError, match=r"start\(\) first") as info:
        timer.pause()
    assert info.value.operation == "pause" and info.value.state == "idle"
    assert "each thread needs its own start()" in str(info.value)  # the shared message
    with pytest.raises(TimerStateError, match=r"start\(\) first"):
        timer.resume()
    timer.start()
    with pytest.raises(TimerStateError, match=r"pause\(\) first") as info:
        timer.resume()
    assert info.value.state == "running"
    timer.pause()
    with pytest.raises(TimerStateError, match=r"resume\(\)") as info:
        timer.pause()
    assert info.value.state == "paused"
