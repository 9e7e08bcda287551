"""suitkaise.processing: class-based subprocesses (Skprocess), a persistent Pool, and Share."""

from typing import TYPE_CHECKING

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
from suitkaise.processing._pool import Pool
from suitkaise.processing._process import Skprocess
from suitkaise.processing._share import Share, ShareLock
from suitkaise.processing._timers import ProcessTimers

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
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
