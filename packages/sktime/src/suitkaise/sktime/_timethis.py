"""``TimeThis`` (a context manager) and ``timethis`` (a decorator) record into an Sktimer.

With an ``Sktimer``, ``TimeThis`` makes the block a frame on the timer's per-thread stack
(``start()``, then ``stop()``, ``discard()`` when the block raised, or the private
``_stop_if_at_least()`` when a threshold is set), so ``pause()``/``resume()`` work inside it.
``timethis`` opens no frame: it reads the timer's clock (the private ``_clock``) around the call
and records the result with ``add_time()``. With anything else that has ``add_time`` (for
example a timer living in a ``Share``), both measure in the caller with ``time.perf_counter``
and send only the result, through ``add_time``. Nothing is recorded when the timed code raises,
or when the time is below the threshold.

Automatic timers (``timer=None`` on the decorator) live in a process-wide registry keyed by the
function's full ``module.qualname``, so same-named functions in different modules or classes
never share a timer, while re-decorating the same function (a reloaded module, a redefinition)
keeps adding to the same one.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from ._checks import check_max_times, check_seconds
from ._timer import Sktimer

__all__ = ["TimeThis", "timethis"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class _TimeSink(Protocol):
    """Anything that records a measured time: an Sktimer, or a proxy to one."""

    def add_time(self, seconds: float) -> None: ...


_SinkT = TypeVar("_SinkT", bound=_TimeSink)


class TimedFunction(Protocol[_P, _R_co]):
    """The type of what ``@timethis`` returns: the function, plus the timer it records into.

    Only for type annotations: at run time the wrapper is an ordinary function (made with
    ``functools.wraps``) carrying a ``timer`` attribute. Through an instance (a decorated
    method) it binds like any function.

    Attributes:
        timer: The :class:`Sktimer` every call is recorded in (the object you passed to
            ``timethis``, or the function's automatic timer).

    Examples:
        >>> from suitkaise.sktime import TimedFunction, timethis
        >>> @timethis
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> timed: TimedFunction[[int], int] = double
        >>> timed(4), timed.timer.num_times
        (8, 1)
    """

    timer: Sktimer

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...

    def __get__(self, instance: object, owner: type | None = None) -> TimedFunction[..., _R_co]: ...


def _is_sink(obj: object) -> bool:
    return isinstance(obj, Sktimer) or callable(getattr(obj, "add_time", None))


def _clock_of(timer: object) -> Callable[[], float]:
    # A proxy's clock would live in another process: measure locally with perf_counter.
    return timer._clock if isinstance(timer, Sktimer) else time.perf_counter


class TimeThis(Generic[_SinkT]):
    """Time a ``with`` block and record it in a timer.

    ``__enter__`` returns the timer. The time is recorded only when the block finishes
    without raising and took at least ``threshold`` seconds. One ``TimeThis`` may be reused,
    nested, and shared between threads.

    With an :class:`Sktimer`, the block is a frame on the timer's per-thread stack (entering
    calls ``start()``, leaving calls ``stop()``, or ``discard()`` when the block raised), so
    ``timer.pause()``/``timer.resume()`` inside the block work. With
    any other object that has ``add_time(seconds)`` (such as a timer shared through
    ``Share``), the time is measured here with ``time.perf_counter`` and only the result is
    sent, through ``add_time``.

    Args:
        timer: The timer to record into; a new :class:`Sktimer` when ``None``.
        threshold: Record only blocks that took at least this many seconds.

    Raises:
        TypeError: If ``timer`` has no ``add_time`` method or ``threshold`` is not a number.
        ValueError: If ``threshold`` is negative, NaN or infinite.

    Examples:
        >>> from suitkaise.sktime import TimeThis
        >>> with TimeThis() as timer:
        ...     total = sum(range(1000))
        >>> timer.num_times
        1
    """

    __slots__ = ("_starts", "threshold", "timer")

    @overload
    def __init__(self: TimeThis[Sktimer], timer: None = None, threshold: float = 0.0) -> None: ...

    @overload
    def __init__(self, timer: _SinkT, threshold: float = 0.0) -> None: ...

    def __init__(self, timer: Any = None, threshold: float = 0.0) -> None:
        if timer is None:
            timer = Sktimer()
        if isinstance(timer, Sktimer):
            self._starts: dict[int, list[float]] | None = None  # frames live on the timer
        elif _is_sink(timer):
            # Start times per thread, so one instance can be shared and nested safely.
            self._starts = {}
        else:
            raise TypeError(
                f"TimeThis() timer must be an Sktimer (or have an add_time method), got "
                f"{type(timer).__name__}"
            )
        self.timer: _SinkT = timer
        if type(threshold) is not float or not 0.0 <= threshold < math.inf:
            threshold = check_seconds(threshold, "TimeThis() threshold")
        self.threshold = threshold

    def __enter__(self) -> _SinkT:
        starts = self._starts
        if starts is None:
            self.timer.start()  # type: ignore[attr-defined]
        else:
            starts.setdefault(threading.get_ident(), []).append(time.perf_counter())
        return self.timer

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        starts = self._starts
        if starts is None:
            timer: Any = self.timer
            if exc_type is not None:
                timer.discard()
            elif self.threshold:
                timer._stop_if_at_least(self.threshold)
            else:
                timer.stop()
            return
        now = time.perf_counter()
        ident = threading.get_ident()
        mine = starts[ident]
        elapsed = now - mine.pop()
        if not mine:
            del starts[ident]
        if exc_type is None and elapsed >= self.threshold:
            self.timer.add_time(elapsed)

    def __repr__(self) -> str:
        return f"TimeThis(timer={self.timer!r}, threshold={self.threshold!r})"


class _Decorator(Protocol):
    @overload
    def __call__(self, func: staticmethod[_P, _R], /) -> staticmethod[_P, _R]: ...  # type: ignore[overload-overlap]

    @overload
    def __call__(self, func: Callable[_P, _R], /) -> TimedFunction[_P, _R]: ...


# Automatic timers, keyed by "module.qualname" (dict.setdefault is atomic, so no lock).
_auto_timers: dict[str, Sktimer] = {}


def _auto_timer(func: Callable[..., Any], max_times: int | None) -> Sktimer:
    module = getattr(func, "__module__", None) or "<unknown module>"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    key = f"{module}.{name}"
    timer = _auto_timers.get(key)
    if timer is None:
        timer = _auto_timers.setdefault(key, Sktimer(max_times))
    if max_times is not None and timer.max_times != max_times:
        # Decorated again (a reloaded module) with another window: the latest one applies.
        timer.set_max_times(max_times)
    return timer


def _decorate(func: Any, timer: Any, threshold: float, max_times: int | None) -> Any:
    if isinstance(func, staticmethod | classmethod):
        # Placed above @staticmethod/@classmethod: wrap the function inside, keep the kind.
        return type(func)(_decorate(func.__func__, timer, threshold, max_times))
    if not callable(func):
        raise TypeError(
            f"timethis decorates functions, methods, staticmethods and classmethods; got "
            f"{type(func).__name__}: {func!r}"
        )
    if timer is None:
        timer = _auto_timer(func, max_times)
    clock = _clock_of(timer)
    add_time = timer.add_time

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            result = await func(*args, **kwargs)
            elapsed = clock() - start
            if elapsed >= threshold:
                add_time(elapsed)
            return result

        wrapper: Any = timed_async
    else:

        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            result = func(*args, **kwargs)
            elapsed = clock() - start
            if elapsed >= threshold:
                add_time(elapsed)
            return result

        wrapper = timed
    wrapper.timer = timer
    return wrapper


@overload
def timethis(timer: staticmethod[_P, _R], /) -> staticmethod[_P, _R]: ...  # type: ignore[overload-overlap]


@overload
def timethis(timer: Callable[_P, _R], /) -> TimedFunction[_P, _R]: ...


@overload
def timethis(
    timer: Sktimer | _TimeSink | None = None,
    threshold: float = 0.0,
    max_times: int | None = None,
) -> _Decorator: ...


def timethis(timer: Any = None, threshold: float = 0.0, max_times: int | None = None) -> Any:
    """Decorator recording every call's duration in a timer, exposed as ``wrapper.timer``.

    Usable bare (``@timethis``) or called (``@timethis()``, ``@timethis(my_timer)``,
    ``@timethis(threshold=0.01)``). Works on plain functions, methods, ``async def`` functions
    (the awaited call is timed), and on staticmethods and classmethods (above or below the
    ``@staticmethod``/``@classmethod`` line). A call that raises is not recorded, nor one
    shorter than ``threshold``. ``functools.wraps`` keeps the name, docstring and signature.

    The call is timed with the timer's clock and recorded with ``add_time``; no frame is
    opened on the timer, so ``timer.pause()``/``timer.resume()`` inside the call do not pause
    it (with no frame of the function's own open, they raise ``TimerStateError``). Use
    ``with TimeThis(timer):`` inside the function when it must pause.

    Without a ``timer``, the function gets an automatic timer keyed by its full
    ``module.qualname``: two functions called ``run`` in different modules or classes never
    share one, and decorating the same function again reuses its timer.

    Args:
        timer: The timer to record into (an :class:`Sktimer`, or anything with
            ``add_time``); ``None`` for the automatic timer. When used bare, this is the
            decorated function.
        threshold: Record only calls that took at least this many seconds.
        max_times: Rolling-window size of the automatic timer (``None``: keep every time).
            Only valid without ``timer``; use ``timer.set_max_times()`` for your own timer.
            Decorating a function again with another ``max_times`` resizes its existing
            automatic timer (``None`` leaves the window as it is).

    Returns:
        The wrapped function (with a ``.timer`` attribute), or a decorator producing one.

    Raises:
        TypeError: If ``timer`` is neither a timer nor a function, or an argument has the
            wrong type.
        ValueError: If ``threshold`` is negative, ``max_times`` is below 1, or ``max_times``
            is given together with ``timer``.

    Examples:
        >>> from suitkaise.sktime import timethis
        >>> @timethis
        ... def add(a, b):
        ...     return a + b
        >>> add(1, 2)
        3
        >>> add.timer.num_times
        1
    """
    if timer is not None and not _is_sink(timer):
        if callable(timer) or isinstance(timer, staticmethod | classmethod):
            return _decorate(timer, None, 0.0, None)  # bare @timethis
        raise TypeError(
            f"timethis() timer must be an Sktimer (or have an add_time method) or None, got "
            f"{type(timer).__name__}: {timer!r}"
        )
    threshold = check_seconds(threshold, "timethis() threshold")
    max_times = check_max_times(max_times)
    if timer is not None and max_times is not None:
        raise ValueError(
            "timethis(): max_times sets the size of the automatic timer; with your own timer, "
            "call timer.set_max_times(n) instead"
        )

    def decorator(func: Any) -> Any:
        return _decorate(func, timer, threshold, max_times)

    return decorator


TimeThis.__module__ = "suitkaise.sktime"
TimedFunction.__module__ = "suitkaise.sktime"
timethis.__module__ = "suitkaise.sktime"
