"""suitkaise.processing: class-based subprocesses (Skprocess), a persistent Pool, and Share."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from suitkaise.processing._autoreconnect import autoreconnect
from suitkaise.processing._config import ProcessConfig, TimeoutConfig
from suitkaise.processing._errors import (
    ErrorHandlerError,
    OnFinishError,
    PostRunError,
    PreRunError,
    ProcessCrashError,
    ProcessError,
    ProcessTimeoutError,
    RemoteTraceback,
    ResultError,
    ResultTimeoutError,
    RunError,
    ShareError,
)
from suitkaise.processing._int.cluster_runner import run_cluster_batch
from suitkaise.processing._process import Skprocess
from suitkaise.processing._timers import ProcessTimers

if TYPE_CHECKING:
    __version__: str
    from suitkaise.processing._pool import Pool
    from suitkaise.processing._share import Share, ShareLock

# Imported on first use (cheap-import rule): Pool and Share pull in about half of the
# package's import time, and an Skprocess child (spawn, forkserver) needs neither.
_LAZY = {
    "Pool": "suitkaise.processing._pool",
    "Share": "suitkaise.processing._share",
    "ShareLock": "suitkaise.processing._share",
}


def __dir__() -> list[str]:
    # The public names, lazy ones included (as the suitkaise bundle does); not the imports.
    return [*__all__, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(import_module(module), name)
        globals()[name] = value
        return value
    # Looked up on first use: importlib.metadata is slow to import (cheap-import rule).
    if name != "__version__":
        raise AttributeError(f"module 'suitkaise.processing' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("suitkaise-processing")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0.0.0"
    globals()["__version__"] = found
    return found


__all__ = [
    "ErrorHandlerError",
    "OnFinishError",
    "Pool",
    "PostRunError",
    "PreRunError",
    "ProcessConfig",
    "ProcessCrashError",
    "ProcessError",
    "ProcessTimeoutError",
    "ProcessTimers",
    "RemoteTraceback",
    "ResultError",
    "ResultTimeoutError",
    "RunError",
    "Share",
    "ShareError",
    "ShareLock",
    "Skprocess",
    "TimeoutConfig",
    "autoreconnect",
    "run_cluster_batch",
]
