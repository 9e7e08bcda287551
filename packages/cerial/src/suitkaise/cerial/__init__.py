"""suitkaise.cerial: Serialize anything to bytes and back, and revive live resources with reconnect_all."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("suitkaise-cerial")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__: list[str] = []
