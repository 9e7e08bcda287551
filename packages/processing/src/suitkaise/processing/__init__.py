"""suitkaise.processing: class-based subprocesses (Skprocess), a persistent Pool, and Share."""

from importlib.metadata import PackageNotFoundError, version

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
from suitkaise.processing._pool import Pool
from suitkaise.processing._process import Skprocess
from suitkaise.processing._share import Share, ShareLock
from suitkaise.processing._timers import ProcessTimers

try:
    __version__ = version("suitkaise-processing")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

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
]
