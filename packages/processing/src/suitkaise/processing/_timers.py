"""``ProcessTimers``: one ``Sktimer`` per lifecycle section, filled by the engine.

The engine times every section that completes; a section that raises or times out is not
recorded. ``full_run`` gets one measurement per completed iteration: the sum of that iteration's
prerun, run and postrun times (sections the class does not define count as zero).

Measurements are kept in plain lists, and a section's ``Sktimer`` is built (with every
measurement so far) the first time someone asks for it. Most processes never look at their
timers inside the child, so a start builds no timer at all there: that keeps a trivial start
cheap (an ``Sktimer`` is not free to create, least of all in a freshly forked child, where every
object touched costs a copied page), and importing this module does not import sktime.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from suitkaise.sktime import Sktimer

__all__ = ["ProcessTimers"]

TIMED_SECTIONS = ("prerun", "run", "postrun", "onfinish", "result", "error", "full_run")


class ProcessTimers:
    """The automatic timers of an Skprocess (``p.timers``).

    Each attribute is an ``Sktimer`` (the same object every time it is read).

    Attributes:
        prerun: Times of ``__prerun__`` calls.
        run: Times of ``__run__`` calls (also ``p.__run__.timer``).
        postrun: Times of ``__postrun__`` calls.
        onfinish: Time of ``__onfinish__``.
        result: Time of ``__result__``.
        error: Time of ``__error__``.
        full_run: One entry per completed iteration: prerun + run + postrun.

    Examples:
        >>> timers = ProcessTimers()
        >>> timers.run.add_time(0.5)
        >>> timers.run.num_times
        1
    """

    __slots__ = ("_lock", "_pending", "_timers")

    def __init__(self) -> None:
        # Until a section's Sktimer exists its measurements are appended to a list (no lock
        # on the engine's hot path); the first read builds the timer and moves the list into
        # it under the lock. A record() racing with that first read moves its own measurement
        # over, so nothing is lost.
        self._pending: dict[str, list[float]] = {name: [] for name in TIMED_SECTIONS}
        self._timers: dict[str, Sktimer] = {}
        self._lock = threading.Lock()

    def _timer(self, section: str) -> Sktimer:
        timer = self._timers.get(section)
        if timer is not None:
            return timer
        from suitkaise.sktime import Sktimer

        with self._lock:
            timer = self._timers.get(section)
            if timer is None:
                timer = Sktimer()
                self._timers[section] = timer
                self._move_pending(section, timer)
        return timer

    def _move_pending(self, section: str, timer: Sktimer) -> None:
        # Lock held. Only appends can happen meanwhile, and they land after ``count``.
        pending = self._pending[section]
        count = len(pending)
        timer._extend(pending[:count])  # engine-measured floats: no per-time checks needed
        del pending[:count]

    @property
    def prerun(self) -> Sktimer:
        """Times of ``__prerun__`` calls."""
        return self._timer("prerun")

    @property
    def run(self) -> Sktimer:
        """Times of ``__run__`` calls (also ``p.__run__.timer``)."""
        return self._timer("run")

    @property
    def postrun(self) -> Sktimer:
        """Times of ``__postrun__`` calls."""
        return self._timer("postrun")

    @property
    def onfinish(self) -> Sktimer:
        """Time of ``__onfinish__``."""
        return self._timer("onfinish")

    @property
    def result(self) -> Sktimer:
        """Time of ``__result__``."""
        return self._timer("result")

    @property
    def error(self) -> Sktimer:
        """Time of ``__error__``."""
        return self._timer("error")

    @property
    def full_run(self) -> Sktimer:
        """One entry per completed iteration: prerun + run + postrun."""
        return self._timer("full_run")

    def record(self, section: str, seconds: float) -> None:
        """Add one measurement of ``section`` (the engine's hot path: no timer is built)."""
        timer = self._timers.get(section)
        if timer is not None:
            timer.add_time(seconds)
            return
        self._pending[section].append(seconds)
        timer = self._timers.get(section)
        if timer is not None:  # built meanwhile, maybe before our append: move it over
            with self._lock:
                self._move_pending(section, timer)

    def _times_of(self, section: str) -> list[float]:
        # Lock held.
        timer = self._timers.get(section)
        pending = self._pending[section]
        return pending[:] if timer is None else timer.times + pending

    def _count_of(self, section: str) -> int:
        # Lock held.
        timer = self._timers.get(section)
        count = len(self._pending[section])
        return count if timer is None else count + timer.num_times

    def export(self) -> dict[str, list[float]]:
        """Every measurement, by section (what the child sends back to the parent).

        Sections without measurements are left out.
        """
        with self._lock:
            exported = {name: self._times_of(name) for name in TIMED_SECTIONS}
        return {name: times for name, times in exported.items() if times}

    def load(self, times: dict[str, list[float]]) -> None:
        """Replace the measurements with ``times`` (as produced by :meth:`export`)."""
        with self._lock:
            for name in TIMED_SECTIONS:
                pending = self._pending[name]
                pending[:] = times.get(name, ())
                timer = self._timers.get(name)
                if timer is not None:
                    timer.reset()
                    self._move_pending(name, timer)

    def __getstate__(self) -> dict[str, list[float]]:
        return self.export()

    def __setstate__(self, state: dict[str, list[float]]) -> None:
        self.__init__()  # type: ignore[misc]
        self.load(state)

    def __repr__(self) -> str:
        with self._lock:
            counts = ", ".join(f"{name}={self._count_of(name)}" for name in TIMED_SECTIONS)
        return f"ProcessTimers({counts})"


ProcessTimers.__module__ = "suitkaise.processing"
