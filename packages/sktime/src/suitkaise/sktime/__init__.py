"""suitkaise.sktime: timing with statistics.

* :class:`Sktimer` records times (``start``/``stop``/``lap``/``add_time``) and keeps statistics
  (mean, median, stdev, percentiles, ...), cached between changes. Thread- and fork-safe.
* :class:`TimeThis` times a ``with`` block; :func:`timethis` times every call of a function.
* :func:`time`, :func:`sleep` and :func:`elapsed` are small wall-clock helpers.

Importing this package starts no thread or process and imports only the standard library.
"""

from importlib.metadata import PackageNotFoundError, version

from ._clock import elapsed, sleep, time
from ._errors import SktimeError, TimerStateError
from ._stats import TimerStats
from ._timer import Sktimer
from ._timethis import TimedFunction, TimeThis, timethis

try:
    __version__ = version("suitkaise-sktime")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

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
