"""The ControlBlock: a small shared mapping per started process, unmapped when the run ends."""

from __future__ import annotations

import os
import pickle

import pytest

from suitkaise.processing import Skprocess
from suitkaise.processing._int.ipc import ControlBlock

WAIT = 30.0


def _control_fds() -> list[str]:
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if "suitkaise-control" in target:
            found.append(target)
    return found


def test_released_block_keeps_its_last_values_and_frees_its_descriptor() -> None:
    block = ControlBlock()
    block.current_run = 7
    block.request_stop()
    assert len(_control_fds()) >= 1
    block.release()
    block.release()  # idempotent
    assert block.current_run == 7
    assert block.stop_requested()
    block.reset_progress()  # still writable (privately) after release
    assert block.current_run == 0
    assert _control_fds() == []


def test_a_block_made_for_fork_cannot_be_pickled() -> None:
    block = ControlBlock(inherited=True)
    with pytest.raises(TypeError, match="cannot be sent"):
        pickle.dumps(block)
    block.release()


class Counts(Skprocess):
    def __init__(self) -> None:
        self.process_config.runs = 3

    def __run__(self) -> None:
        pass

    def __result__(self) -> int:
        return self.current_run


def test_finished_processes_kept_alive_hold_no_descriptor(start_method: str) -> None:
    kept = []
    for _ in range(3):
        p = Counts()
        p.process_config.start_method = start_method
        assert p.run.timeout(WAIT)() == 3
        kept.append(p)
    assert _control_fds() == []
    assert [p.current_run for p in kept] == [3, 3, 3]
