"""Errors raised by suitkaise.sktime.

One base, :class:`SktimeError`. Misusing a timer (``stop()`` with nothing started, ``resume()``
while running, ...) raises :class:`TimerStateError`, which is also a ``RuntimeError``. Bad
arguments raise the builtin ``TypeError``/``ValueError``/``IndexError`` users already expect.
Every error survives a pickle round trip: the message is the only positional argument and the
attributes travel in ``__dict__``.
"""

from __future__ import annotations

__all__ = ["SktimeError", "TimerStateError"]


class SktimeError(Exception):
    """Base class of the errors raised by :mod:`suitkaise.sktime`.

    Examples:
        >>> from suitkaise import sktime
        >>> issubclass(sktime.TimerStateError, sktime.SktimeError)
        True
    """


class TimerStateError(SktimeError, RuntimeError):
    """A timer method was called in a state where it cannot work.

    Raised, for example, by ``stop()`` when this thread has no open ``start()``, or by
    ``resume()`` while the timer is running. The message says what to call instead.

    Attributes:
        operation: The method that was called (``"stop"``, ``"resume"``, ...).
        state: The state this thread's timer was in: ``"idle"`` (nothing started),
            ``"running"`` or ``"paused"``.

    Examples:
        >>> from suitkaise import sktime
        >>> try:
        ...     sktime.Sktimer().stop()
        ... except sktime.TimerStateError as e:
        ...     print(e.operation, e.state)
        stop idle
    """

    def __init__(self, message: str, *, operation: str = "", state: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.state = state


SktimeError.__module__ = "suitkaise.sktime"
TimerStateError.__module__ = "suitkaise.sktime"
