"""The Skprocess engine: runs one object's lifecycle where it lives.

It runs in the child of a started Skprocess (``_int/child.py``) and, through :func:`run_inline`,
inside Pool workers. It knows nothing about pipes: it talks to its :class:`Host`.

::

    attempt (fresh object from the original state, lives_left of them):
        @autoreconnect -> reconnect_all(self, **auth)     (a failure is a PreRunError)
        while runs not reached and not stopped and join_in not passed:
            __prerun__ | stop? | __run__ | stop? | __postrun__ ; current_run += 1
        __onfinish__ ; value = __result__()              -> Outcome(failed=False, value)
    error in prerun/run/postrun (or a timeout there): one life lost ->
        lives left: reload the original state, next attempt
        none left:  self.error = err; value = __error__() -> Outcome(failed=True, value)
    error in onfinish/result: no retry, straight to __error__.

Every section that completes is timed into ``self.timers``; a section that fails is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from suitkaise.processing._config import any_timeout_set
from suitkaise.processing._errors import (
    ErrorHandlerError,
    OnFinishError,
    PostRunError,
    PreRunError,
    ProcessError,
    ProcessTimeoutError,
    ResultError,
    RunError,
)
from suitkaise.processing._int.process_timeouts import AlarmClock, SectionTimeout

if TYPE_CHECKING:
    from suitkaise.processing._process import Skprocess

__all__ = ["Host", "Outcome", "handle_error", "run_inline", "run_lifecycle"]

_ERROR_CLASSES: dict[str, type[ProcessError]] = {
    "prerun": PreRunError,
    "autoreconnect": PreRunError,
    "run": RunError,
    "postrun": PostRunError,
    "onfinish": OnFinishError,
    "result": ResultError,
    "error": ErrorHandlerError,
}


class Host:
    """What the engine reports to, and asks about stop requests. The base does nothing.

    The child's host mirrors these into the shared ControlBlock and the pipe to the parent.
    """

    def stop_requested(self) -> bool:
        return False

    def section_started(self, section: str, timeout: float) -> None:
        pass

    def section_ended(self) -> None:
        pass

    def run_counted(self, current_run: int) -> None:
        pass

    def life_lost(self, lives_left: int, error: ProcessError) -> None:
        pass


class Outcome(NamedTuple):
    """How a lifecycle ended: ``failed`` (lives ran out) and the value to deliver."""

    process: Skprocess
    failed: bool
    value: Any


class _Failed(Exception):
    def __init__(self, error: ProcessError, costs_life: bool) -> None:
        super().__init__(error)
        self.error = error
        self.costs_life = costs_life


def _wrap(
    section: str, exc: BaseException, current_run: int, timeout: float | None
) -> ProcessError:
    label = "@autoreconnect" if section == "autoreconnect" else f"__{section}__"
    error: ProcessError
    if isinstance(exc, SectionTimeout):
        error = ProcessTimeoutError(
            f"{label} timed out after {timeout} s (run {current_run})",
            section="prerun" if section == "autoreconnect" else section,
            timeout=timeout,
            current_run=current_run,
        )
        if exc.__traceback__ is not None:  # shows where the section was when interrupted
            error.__cause__ = exc
        return error
    error = _ERROR_CLASSES[section](
        f"{label} raised {type(exc).__name__}: {exc} (run {current_run})",
        current_run=current_run,
        original_error=exc,
    )
    error.__cause__ = exc
    return error


class _Sections:
    """The bound lifecycle methods a class really defines (``None`` for the base no-ops)."""

    __slots__ = ("error", "onfinish", "postrun", "prerun", "result", "run")

    prerun: Callable[[], Any] | None
    run: Callable[[], Any] | None
    postrun: Callable[[], Any] | None
    onfinish: Callable[[], Any] | None
    result: Callable[[], Any] | None
    error: Callable[[], Any] | None

    def __init__(self, process: Skprocess) -> None:
        from suitkaise.processing._process import lifecycle_function

        cls = type(process)
        for section in self.__slots__:
            func = lifecycle_function(cls, section)
            setattr(self, section, None if func is None else func.__get__(process, cls))


def _call(
    process: Skprocess,
    section: str,
    func: Callable[[], Any],
    timeout: float | None,
    host: Host,
    alarm: AlarmClock,
) -> tuple[Any, float]:
    """Run one section; return (its value, seconds). Raise _Failed on error or timeout."""
    state = process._sk
    try:
        if timeout is None:
            start = time.perf_counter()
            value = func()
            elapsed = time.perf_counter() - start
        else:
            host.section_started(section, timeout)
            start = time.perf_counter()
            try:
                alarm.arm(timeout)
                try:
                    value = func()
                finally:
                    alarm.disarm()
                elapsed = time.perf_counter() - start
            finally:
                host.section_ended()
            if elapsed > timeout:  # no SIGALRM here (thread, Windows), or a swallowed alarm
                raise SectionTimeout()
    except (Exception, SectionTimeout) as exc:
        costs_life = section in ("prerun", "run", "postrun", "autoreconnect")
        raise _Failed(_wrap(section, exc, state.current_run, timeout), costs_life) from None
    if section != "autoreconnect":
        process.timers.record(section, elapsed)
    return value, elapsed


def _attempt(process: Skprocess, host: Host, alarm: AlarmClock) -> Any:
    from suitkaise.processing._autoreconnect import reconnect_process

    state = process._sk
    config = process.process_config
    timeouts = config.timeouts
    sections = _Sections(process)
    if sections.run is None:
        raise TypeError(f"{type(process).__qualname__} does not define __run__()")
    runs = config.runs
    join_at = None if config.join_in is None else time.monotonic() + config.join_in
    timers = process.timers
    prerun, run, postrun = sections.prerun, sections.run, sections.postrun

    def should_stop() -> bool:
        return (
            state.stop_local
            or host.stop_requested()
            or (join_at is not None and time.monotonic() >= join_at)
        )

    if getattr(type(process), "_sk_autoreconnect", None) is not None:
        _call(
            process,
            "autoreconnect",
            lambda: reconnect_process(process),
            timeouts.prerun,
            host,
            alarm,
        )

    while (runs is None or state.current_run < runs) and not should_stop():
        total = 0.0
        if prerun is not None:
            total += _call(process, "prerun", prerun, timeouts.prerun, host, alarm)[1]
            if should_stop():
                break
        total += _call(process, "run", run, timeouts.run, host, alarm)[1]
        if postrun is not None:
            if should_stop():
                break
            total += _call(process, "postrun", postrun, timeouts.postrun, host, alarm)[1]
        timers.record("full_run", total)
        state.current_run += 1
        host.run_counted(state.current_run)

    if sections.onfinish is not None:
        _call(process, "onfinish", sections.onfinish, timeouts.onfinish, host, alarm)
    if sections.result is None:
        return None
    return _call(process, "result", sections.result, timeouts.result, host, alarm)[0]


def _needs_alarm(process: Skprocess) -> bool:
    return any_timeout_set(process.process_config.timeouts)


def run_lifecycle(
    process: Skprocess,
    *,
    lives: int,
    reload: Callable[[], Skprocess],
    host: Host,
) -> Outcome:
    """Run ``process`` to its end, retrying from ``reload()`` while lives are left.

    Args:
        process: The object for the first attempt (already prepared with ``attach``).
        lives: Attempts left, including this one.
        reload: Returns a fresh object in the original state for the next attempt.
        host: Receives progress reports and answers stop requests.

    Returns:
        The final :class:`Outcome`.
    """
    alarm = AlarmClock()
    if _needs_alarm(process):
        alarm.install()
    try:
        while True:
            try:
                return Outcome(process, False, _attempt(process, host, alarm))
            except _Failed as failure:
                if failure.costs_life and lives > 1:
                    lives -= 1
                    host.life_lost(lives, failure.error)
                    process = reload()
                    continue
                return _handle_error(process, failure.error, host, alarm)
    finally:
        alarm.uninstall()


def handle_error(process: Skprocess, error: ProcessError, host: Host) -> Outcome:
    """Deliver ``error`` the way exhausted lives do: set ``self.error`` and run ``__error__``."""
    alarm = AlarmClock()
    if process.process_config.timeouts.error is not None:
        alarm.install()
    try:
        return _handle_error(process, error, host, alarm)
    finally:
        alarm.uninstall()


def _handle_error(
    process: Skprocess, error: ProcessError, host: Host, alarm: AlarmClock
) -> Outcome:
    process._sk.error = error
    handler = _Sections(process).error
    if handler is None:
        return Outcome(process, True, error)
    try:
        value = _call(
            process, "error", handler, process.process_config.timeouts.error, host, alarm
        )[0]
    except _Failed as failure:
        value = failure.error
    return Outcome(process, True, value)


def run_inline(
    process: Skprocess,
    *,
    lives_used: int = 0,
    crash: ProcessError | None = None,
    host: Host | None = None,
    rebuild: Callable[[], Skprocess] | None = None,
) -> Any:
    """Run the whole lifecycle of ``process`` in the current process and return its result.

    Used by Pool workers for ``pool.map(WorkerClass, items)``. Runs, ``join_in``, lives (each
    retry starts from a copy of the object taken before the first attempt), section timeouts
    (SIGALRM when called on the main thread; otherwise checked after the section),
    ``@autoreconnect``, ``__onfinish__``, ``__result__`` and ``__error__`` behave as in a
    started process. ``tell()``/``listen()`` are not available.

    A Pool whose worker died (a hard crash) while running an item calls this again in a
    fresh worker with ``lives_used`` (attempts already spent) and ``crash`` (the
    ``ProcessCrashError``): while lives are left the lifecycle runs with the remaining lives;
    once they are spent, ``self.error`` is set to ``crash`` and ``__error__`` decides what is
    delivered; if even that pass crashed (``lives_used`` beyond ``lives``), ``crash`` is
    raised without running anything.

    Args:
        process: A constructed, not started Skprocess.
        lives_used: Lives already spent on earlier attempts that crashed.
        crash: The crash that cost the last of those lives (required with ``lives_used``).
        host: Told of timed sections and runs (a Pool worker publishes them for its
            parent's backstop); default: nobody.
        rebuild: Builds the object afresh for each retry (a Pool passes its class and item);
            default: each retry starts from a copy taken before the first attempt.

    Returns:
        What ``process.result()`` would return.

    Raises:
        ProcessError: What ``process.result()`` would raise (or the exception ``__error__``
            returned).
        TypeError: ``process`` is not an Skprocess, defines no ``__run__``, or has an invalid
            ``process_config``.
    """
    from suitkaise import cerial
    from suitkaise.processing._process import Skprocess, attach, check_startable

    if not isinstance(process, Skprocess):
        raise TypeError(f"run_inline() needs an Skprocess, got {type(process).__name__}")
    check_startable(process)
    lives = process.process_config.lives - lives_used
    if crash is not None and lives <= 0:
        if lives < 0:  # __error__ itself crashed last time: nothing more to try
            raise crash
        attach(process, role="inline", host=None)
        outcome = handle_error(process, crash, host or Host())
        if isinstance(outcome.value, BaseException):
            raise outcome.value
        return outcome.value
    lives = max(lives, 1)
    snapshot = cerial.serialize(process) if lives > 1 and rebuild is None else b""

    def reload() -> Skprocess:
        fresh: Skprocess = rebuild() if rebuild is not None else cerial.deserialize(snapshot)
        attach(fresh, role="inline", host=None)
        return fresh

    attach(process, role="inline", host=None)
    outcome = run_lifecycle(process, lives=lives, reload=reload, host=host or Host())
    if outcome.failed and isinstance(outcome.value, BaseException):
        raise outcome.value
    return outcome.value
