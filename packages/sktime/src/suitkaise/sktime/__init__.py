"""suitkaise.sktime: timing with statistics.

* :class:`Sktimer` records times (``start``/``stop``/``lap``/``add_time``) and keeps statistics
  (mean, median, stdev, percentiles, ...), cached between changes. Thread- and fork-safe.
* :class:`TimeThis` times a ``with`` block; :func:`timethis` times every call of a function.
* :func:`time`, :func:`sleep` and :func:`elapsed` are small wall-clock helpers.

Importing this package starts no thread or process and imports only the standard library.
"""

from typing import TYPE_CHECKING

from ._clock import elapsed, sleep, time
from ._errors import SktimeError, TimerStateError
from ._stats import TimerStats
from ._timer import Sktimer
from ._timethis import TimedFunction, TimeThis, timethis

if TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        # __version__ is looked up on first use: importlib.metadata costs more to import
        # (about 50 ms) than this whole package. Hidden from type checkers, so that a typo
        # such as ``sktime.Sktimr`` is still an error for them.
        if name == "__version__":
            from importlib.metadata import PackageNotFoundError, version

            try:
                found = version("suitkaise-sktime")
            except PackageNotFoundError:  # pragma: no cover - running from a source tree
                found = "0.0.0"
            globals()["__version__"] = found
            return found
        raise AttributeError(f"module 'suitkaise.sktime' has no attribute {name!r}")


__all__ = [
    "SktimeError",
    "Sktimer",
    "TimeThis",
    "TimedFunction",
    "TimerStateError",
    "TimerStats",
    "elapsed",
    "sleep",
    "time",
    "timethis",
]
