"""Wall-clock helpers: ``time()``, ``sleep()`` and ``elapsed()``.

Thin, validated wrappers over the stdlib ``time`` module, so that code timing things with
suitkaise needs one import. For measuring durations use :class:`Sktimer` (monotonic
``perf_counter``); these helpers work on wall-clock timestamps.
"""

from __future__ import annotations

import time as _time

from ._checks import check_seconds

__all__ = ["elapsed", "sleep", "time"]


def time() -> float:
    """The current wall-clock time in seconds since the epoch (``time.time()``).

    Returns:
        Seconds since 1970-01-01 UTC as a float.

    Examples:
        >>> from suitkaise import sktime
        >>> sktime.time() > 1_600_000_000
        True
    """
    return _time.time()


def sleep(seconds: float) -> None:
    """Sleep for ``seconds`` seconds (``time.sleep`` with a checked argument).

    Args:
        seconds: How long to sleep; an int or float, finite and not negative.

    Raises:
        TypeError: If ``seconds`` is not a number.
        ValueError: If ``seconds`` is negative, NaN or infinite.

    Examples:
        >>> from suitkaise import sktime
        >>> sktime.sleep(0.001)
    """
    _time.sleep(check_seconds(seconds, "sleep() seconds"))


def elapsed(t1: float, t2: float | None = None) -> float:
    """Seconds between two timestamps; the order does not matter.

    Args:
        t1: A timestamp in seconds (e.g. from :func:`time`).
        t2: Another timestamp; defaults to now (:func:`time`).

    Returns:
        ``abs(t2 - t1)`` in seconds.

    Raises:
        TypeError: If a timestamp is not a number.
        ValueError: If a timestamp is NaN or infinite.

    Examples:
        >>> from suitkaise import sktime
        >>> sktime.elapsed(10.0, 12.5), sktime.elapsed(12.5, 10.0)
        (2.5, 2.5)
    """
    first = _check_timestamp(t1, "t1")
    second = _time.time() if t2 is None else _check_timestamp(t2, "t2")
    return abs(second - first)


def _check_timestamp(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"elapsed() {name} must be a timestamp in seconds (int or float), got "
            f"{type(value).__name__}: {value!r}"
        )
    stamp = float(value)
    if stamp != stamp or stamp in (float("inf"), float("-inf")):
        raise ValueError(f"elapsed() {name} must be a finite timestamp, got {value!r}")
    return stamp


time.__module__ = "suitkaise.sktime"
sleep.__module__ = "suitkaise.sktime"
elapsed.__module__ = "suitkaise.sktime"
