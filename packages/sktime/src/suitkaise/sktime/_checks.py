"""Argument checks shared by the sktime modules (each raises a clear TypeError/ValueError)."""

from __future__ import annotations

import math


def check_seconds(value: object, name: str) -> float:
    """Return ``value`` as a float number of seconds, or raise if it is not one.

    Accepts ints and floats (not bools); rejects negative, NaN and infinite values.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be a number of seconds (int or float), got {type(value).__name__}: "
            f"{value!r}"
        )
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    return seconds


def check_max_times(value: object) -> int | None:
    """Return ``value`` as a rolling-window size (``None`` for unbounded), or raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"max_times must be a positive int or None (keep every time), got "
            f"{type(value).__name__}: {value!r}"
        )
    if value < 1:
        raise ValueError(f"max_times must be >= 1 (or None to keep every time), got {value!r}")
    return value


def check_percentile(value: object) -> float:
    """Return ``value`` as a percentile in [0, 100], or raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"percentile must be a number between 0 and 100, got {type(value).__name__}: {value!r}"
        )
    p = float(value)
    if not 0.0 <= p <= 100.0:  # also rejects NaN
        raise ValueError(f"percentile must be between 0 and 100 (inclusive), got {value!r}")
    return p
