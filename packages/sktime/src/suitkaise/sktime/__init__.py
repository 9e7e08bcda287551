"""suitkaise.sktime: Timing with statistics: Sktimer, TimeThis and timethis."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suitkaise-sktime")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__: list[str] = []
