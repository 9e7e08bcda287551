"""``ProcessTimers``: one ``Sktimer`` per lifecycle section, filled by the engine.

The engine times every section that completes; a section that raises or times out is not
recorded. ``full_run`` gets one measurement per completed iteration: the sum of that iteration's
prerun, run and postrun times (sections the class does not define count as zero).
"""

from __future__ import annotations

from suitkaise.sktime import Sktimer

__all__ = ["ProcessTimers"]

TIMED_SECTIONS = ("prerun", "run", "postrun", "onfinish", "result", "error", "full_run")


class ProcessTimers:
    """The automatic timers of an Skprocess (``p.timers``).

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

    __slots__ = TIMED_SECTIONS

    prerun: Sktimer
    run: Sktimer
    postrun: Sktimer
    onfinish: Sktimer
    result: Sktimer
    error: Sktimer
    full_run: Sktimer

    def __init__(self) -> None:
        for name in TIMED_SECTIONS:
            setattr(self, name, Sktimer())

    def export(self) -> dict[str, list[float]]:
        """Every measurement, by section (what the child sends back to the parent)."""
        return {name: getattr(self, name).times for name in TIMED_SECTIONS}

    def load(self, times: dict[str, list[float]]) -> None:
        """Replace the measurements with ``times`` (as produced by :meth:`export`)."""
        for name in TIMED_SECTIONS:
            timer: Sktimer = getattr(self, name)
            timer.reset()
            for seconds in times.get(name, ()):
                timer.add_time(seconds)

    def __getstate__(self) -> dict[str, list[float]]:
        return self.export()

    def __setstate__(self, state: dict[str, list[float]]) -> None:
        self.__init__()  # type: ignore[misc]
        self.load(state)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={getattr(self, name).num_times}" for name in TIMED_SECTIONS)
        return f"ProcessTimers({counts})"


ProcessTimers.__module__ = "suitkaise.processing"
