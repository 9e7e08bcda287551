"""suitkaise.processing: Class-based subprocesses (Skprocess), a persistent Pool, and Share for shared state."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suitkaise-processing")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__: list[str] = []
