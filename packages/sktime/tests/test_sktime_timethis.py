"""TimeThis and timethis: recording, threshold, errors, async, methods, automatic timers."""

from __future__ import annotations

import asyncio
import functools
import inspect

import pytest

from suitkaise.sktime import Sktimer, TimeThis, timethis


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A look-alike of a shared timer proxy: only add_time, nothing else."""

    def __init__(self) -> None:
        self.recorded: list[float] = []

    def add_time(self, seconds: float) -> None:
        self.recorded.append(seconds)


def test_timethis_returns_the_timer_and_records() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)
    with TimeThis(timer) as got:
        clock.advance(1.5)
    assert got is timer
    assert timer.times == [1.5]


def test_timethis_without_timer_makes_one() -> None:
    with TimeThis() as timer:
        pass
    assert isinstance(timer, Sktimer)
    assert timer.num_times == 1


def test_timethis_records_nothing_when_the_block_raises() -> None:
    timer = Sktimer()
    with pytest.raises(KeyError):
        with TimeThis(timer):
            raise KeyError("x")
    assert timer.num_times == 0


def test_timethis_threshold() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)
    block = TimeThis(timer, threshold=1.0)
    with block:
        clock.advance(0.5)
    with block:
        clock.advance(1.0)
    with block:
        clock.advance(2.0)
    assert timer.times == [1.0, 2.0]


def test_timethis_nested_reuse_of_one_instance() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)
    block = TimeThis(timer)
    with block:
        clock.advance(1.0)
        with block:
            clock.advance(2.0)
        clock.advance(4.0)
    assert timer.times == [2.0, 7.0]


def test_timethis_records_through_add_time_on_any_sink() -> None:
    sink = Recorder()
    with TimeThis(sink) as got:
        pass
    assert got is sink
    assert len(sink.recorded) == 1 and sink.recorded[0] >= 0.0


def test_timethis_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="add_time"):
        TimeThis(42)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="threshold"):
        TimeThis(threshold=-1)
    with pytest.raises(TypeError, match="threshold"):
        TimeThis(threshold="1")  # type: ignore[call-overload]


def test_decorator_bare_and_called_forms() -> None:
    @timethis
    def bare(x: int) -> int:
        """Docstring kept."""
        return x * 2

    @timethis()
    def called(x: int) -> int:
        return x + 1

    assert bare(2) == 4 and called(2) == 3
    assert bare.timer.num_times == 1 and called.timer.num_times == 1
    assert bare.timer is not called.timer
    assert bare.__name__ == "bare" and bare.__doc__ == "Docstring kept."
    assert bare.__wrapped__(3) == 6  # type: ignore[attr-defined]
    assert inspect.signature(bare) == inspect.signature(bare.__wrapped__)  # type: ignore[attr-defined]


def test_decorator_with_own_timer_and_threshold() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)

    @timethis(timer, threshold=1.0)
    def work(seconds: float) -> str:
        clock.advance(seconds)
        return "done"

    assert work(0.5) == "done"
    assert work(3.0) == "done"
    assert work.timer is timer
    assert timer.times == [3.0]


def test_decorator_does_not_record_a_raising_call() -> None:
    @timethis()
    def boom() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        boom()
    assert boom.timer.num_times == 0


def test_decorator_on_async_function_times_the_awaited_call() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)

    @timethis(timer)
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        clock.advance(2.0)
        return x

    assert inspect.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(7)) == 7
    assert timer.times == [2.0]


def test_decorator_on_methods_static_and_class_methods() -> None:
    class Service:
        factor = 3

        @timethis
        def method(self, x: int) -> int:
            return x * self.factor

        @timethis
        @staticmethod
        def static_above(x: int) -> int:
            return x + 1

        @staticmethod
        @timethis
        def static_below(x: int) -> int:
            return x + 2

        @timethis
        @classmethod
        def klass(cls, x: int) -> int:
            return x * cls.factor

    svc = Service()
    assert svc.method(2) == 6
    assert Service.static_above(1) == 2 and svc.static_above(1) == 2
    assert Service.static_below(1) == 3
    assert Service.klass(2) == 6 and svc.klass(1) == 3
    assert svc.method.timer.num_times == 1
    assert Service.static_above.timer.num_times == 2
    assert Service.static_below.timer.num_times == 1
    assert Service.klass.timer.num_times == 2


def test_automatic_timers_are_keyed_by_module_and_qualname() -> None:
    def make(module: str) -> object:
        def run() -> None:
            pass

        run.__module__ = module
        return timethis(run)

    a = make("package_a.jobs")
    b = make("package_b.jobs")
    again = make("package_a.jobs")
    assert a.timer is not b.timer  # type: ignore[attr-defined]
    assert a.timer is again.timer  # type: ignore[attr-defined]


def test_decorator_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="timer"):
        timethis(42)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="threshold"):
        timethis(threshold=-0.5)
    with pytest.raises(ValueError, match="max_times"):
        timethis(max_times=0)
    with pytest.raises(ValueError, match="set_max_times"):
        timethis(Sktimer(), max_times=5)
    with pytest.raises(TypeError, match="decorates"):
        timethis()(42)


def test_decorator_max_times_sets_the_automatic_window() -> None:
    @timethis(max_times=2)
    def tick() -> None:
        pass

    for _ in range(5):
        tick()
    assert tick.timer.num_times == 2
    assert tick.timer.max_times == 2


def test_functools_partial_like_callables_are_timed() -> None:
    timer = Sktimer()
    timed = timethis(timer)(functools.partial(pow, 2))
    assert timed(10) == 1024
    assert timer.num_times == 1


def test_timethis_block_can_pause_its_timer() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)
    with TimeThis(timer) as t:
        clock.advance(1.0)
        t.pause()
        clock.advance(50.0)
        t.resume()
        clock.advance(2.0)
    assert timer.times == [3.0]
    assert timer.total_time_paused == 50.0


def test_timethis_threshold_with_a_sink_and_errors() -> None:
    sink = Recorder()
    block = TimeThis(sink, threshold=3600.0)
    with block:
        pass
    assert sink.recorded == []
    with pytest.raises(OSError):
        with TimeThis(sink):
            raise OSError("disk")
    assert sink.recorded == []


def test_timethis_sink_shared_between_threads_and_nested() -> None:
    import threading

    sink = Recorder()
    block = TimeThis(sink)

    def work() -> None:
        for _ in range(200):
            with block:
                with block:
                    pass

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(sink.recorded) == 4 * 200 * 2
    assert all(x >= 0 for x in sink.recorded)
    assert block._starts == {}  # every thread's start was consumed


def test_timethis_threshold_counts_paused_time_only_for_recorded_blocks() -> None:
    clock = FakeClock()
    timer = Sktimer(clock=clock)
    block = TimeThis(timer, threshold=1.0)
    with block as t:  # 0.5 s running, 10 s paused: below the threshold, leaves no trace
        clock.advance(0.5)
        t.pause()
        clock.advance(10.0)
        t.resume()
    assert timer.num_times == 0 and timer.total_time_paused == 0.0
    with block as t:  # 2 s running, 3 s paused: recorded with its pause
        clock.advance(2.0)
        t.pause()
        clock.advance(3.0)
        t.resume()
    assert timer.times == [2.0] and timer.total_time_paused == 3.0


def test_a_decorated_module_function_pickles_by_reference() -> None:
    import pickle

    restored = pickle.loads(pickle.dumps(_module_level_job))
    assert restored is _module_level_job
    assert restored(4) == 8


@timethis
def _module_level_job(x: int) -> int:
    return x * 2


def test_redecorating_with_another_max_times_resizes_the_automatic_timer() -> None:
    def make(**options: int) -> object:
        def run() -> None:
            pass

        run.__module__ = "redecorated_jobs"
        return timethis(**options)(run)

    first = make(max_times=5)
    for _ in range(4):
        first()  # type: ignore[operator]
    timer = first.timer  # type: ignore[attr-defined]
    assert timer.max_times == 5 and timer.num_times == 4

    again = make(max_times=2)  # a reloaded module with a new window: the latest applies
    assert again.timer is timer  # type: ignore[attr-defined]
    assert timer.max_times == 2 and timer.num_times == 2  # the most recent times are kept

    bare = make()  # no max_times: the window is left as it is
    assert bare.timer is timer and timer.max_times == 2  # type: ignore[attr-defined]


def test_pause_inside_a_decorated_call_does_not_pause_it() -> None:
    from suitkaise.sktime import TimerStateError

    clock = FakeClock()
    timer = Sktimer(clock=clock)

    @timethis(timer)
    def work() -> None:
        clock.advance(1.0)
        timer.pause()  # the decorator opened no frame on the timer

    with pytest.raises(TimerStateError, match=r"start\(\) first") as info:
        work()
    assert info.value.operation == "pause" and info.value.state == "idle"
    assert timer.num_times == 0  # the call raised, so nothing was recorded
