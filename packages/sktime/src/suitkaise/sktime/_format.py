"""Human-readable durations: picks ns, µs, ms, s, or minutes/hours by magnitude."""

from __future__ import annotations


def format_seconds(seconds: float | None) -> str:
    """Format a duration in seconds with a unit that suits its size.

    >>> format_seconds(0.0000123)
    '12.30 µs'
    >>> format_seconds(75.5)
    '1 min 15.50 s'
    """
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0 s"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 1e-6:
        return f"{sign}{s * 1e9:.2f} ns"
    if s < 1e-3:
        return f"{sign}{s * 1e6:.2f} µs"
    if s < 1.0:
        return f"{sign}{s * 1e3:.2f} ms"
    if s < 60.0:
        return f"{sign}{s:.2f} s"
    minutes, rest = divmod(s, 60.0)
    if minutes < 60:
        return f"{sign}{int(minutes)} min {rest:.2f} s"
    hours, minutes = divmod(minutes, 60.0)
    return f"{sign}{int(hours)} h {int(minutes)} min {rest:.2f} s"
