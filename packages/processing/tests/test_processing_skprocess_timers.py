"""ProcessTimers: measurements kept as plain lists until a section's Sktimer is asked for."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from suitkaise.processing import ProcessTimers, Skprocess
from suitkaise.sktime import Sktimer

WAIT = 30.0


def test_measurements_recorded_before_the_first_read_are_in_the_timer() -> None:
    timers = ProcessTimers()
    timers.record("run", 0.5)
    timers.record("run", 0.25)
    timer = timers.run
    assert isinstance(timer, Sktimer)
    assert timer.times == [0.5, 0.25]
    assert timers.run is timer  # the same object every time
    timers.record("run", 1.0)  # once built, records go straight into it
    assert timer.times == [0.5, 0.25, 1.0]
    assert timers.prerun.num_times == 0


def test_export_leaves_out_empty_sections_and_load_replaces_everything() -> None:
    timers = ProcessTimers()
    timers.record("run", 0.5)
    built = timers.result
    built.add_time(2.0)
    assert timers.export() == {"run": [0.5], "result": [2.0]}
    timers.load({"full_run": [1.0, 3.0]})
    assert timers.export() == {"full_run": [1.0, 3.0]}
    assert built.num_times == 0  # a timer someone holds is emptied, not replaced
    assert timers.result is built
    assert timers.full_run.mean == pytest.approx(2.0)
    assert repr(timers) == (
        "ProcessTimers(prerun=0, run=0, postrun=0, onfinish=0, result=0, error=0, full_run=2)"
    )


def test_pickle_round_trip_keeps_every_measurement() -> None:
    timers = ProcessTimers()
    timers.record("prerun", 0.1)
    timers.run.add_time(0.2)
    copy = pickle.loads(pickle.dumps(timers))
    assert copy.export() == {"prerun": [0.1], "run": [0.2]}


class ReadsItsTimers(Skprocess):
    """Reads its own run timer inside the child half-way through."""

    def __init__(self) -> None:
        self.process_config.runs = 4
        self.seen: list[int] = []

    def __run__(self) -> None:
        self.seen.append(self.timers.run.num_times)

    def __result__(self) -> Any:
        return self.seen, self.__run__.timer is self.timers.run


def test_timers_read_inside_the_child_and_reported_back(start_method: str) -> None:
    p = ReadsItsTimers()
    p.process_config.start_method = start_method
    assert p.run.timeout(WAIT)() == ([0, 1, 2, 3], True)
    assert p.timers.run.num_times == 4
    assert p.timers.full_run.num_times == 4
    assert p.timers.result.num_times == 1
    assert p.timers.error.num_times == 0
