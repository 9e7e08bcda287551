"""Section deadlines of ``Skprocess`` items run by Pool workers: the parent's backstop.

Inside a worker a section with a timeout is interrupted by SIGALRM. Code that blocks the signal,
or C code that never returns to the interpreter, is not: for that case the worker publishes the
deadline of each timed section in its control array, and the scheduler kills a worker that is
``BACKSTOP_GRACE`` past it. The item then gets a ``ProcessTimeoutError`` that costs it a life
exactly as a hard crash does (the rule of a started ``Skprocess``, whose parent does the same).

The scheduler looks at the deadlines at least every ``DEADLINE_POLL`` seconds while a worker
runs an ``Skprocess`` item (a section may start while it waits), and never for plain functions.
"""

from __future__ import annotations

import time
from typing import Any

from suitkaise.processing._errors import ProcessTimeoutError
from suitkaise.processing._int.engine import Host
from suitkaise.processing._int.ipc import SECTION_INDEX, SECTION_NAMES
from suitkaise.processing._int.pool_worker import CURRENT_RUN, DEADLINE, SECTION, TIMEOUT_US
from suitkaise.processing._int.process_supervisor import BACKSTOP_GRACE, backstop_error

__all__ = ["DEADLINE_POLL", "DeadlineHost", "overdue_error", "seconds_to_deadline"]

DEADLINE_POLL = 0.1


class DeadlineHost(Host):
    """The engine's host in a Pool worker: mirrors timed sections into the control array."""

    def __init__(self, slots: Any) -> None:
        self._slots = slots

    def section_started(self, section: str, timeout: float) -> None:
        slots = self._slots
        slots[SECTION] = SECTION_INDEX[section]
        slots[TIMEOUT_US] = round(timeout * 1e6)
        slots[DEADLINE] = time.monotonic_ns() + round((timeout + BACKSTOP_GRACE) * 1e9)

    def section_ended(self) -> None:
        self._slots[DEADLINE] = 0

    def run_counted(self, current_run: int) -> None:
        self._slots[CURRENT_RUN] = current_run


def seconds_to_deadline(ctrl: Any) -> float | None:
    """Seconds until the worker's timed section is overdue (``None``: no timed section)."""
    deadline = int(ctrl[DEADLINE])
    if not deadline:
        return None
    return max(0.0, (deadline - time.monotonic_ns()) / 1e9)


def overdue_error(ctrl: Any) -> ProcessTimeoutError | None:
    """The error to report if the worker is past its section's deadline, else ``None``."""
    deadline = int(ctrl[DEADLINE])
    if not deadline or time.monotonic_ns() <= deadline:
        return None
    section = SECTION_NAMES[int(ctrl[SECTION])]
    return backstop_error(
        section, int(ctrl[TIMEOUT_US]) / 1e6, int(ctrl[CURRENT_RUN]), "the Pool worker"
    )
