"""suitkaise.processing: class-based subprocesses (Skprocess), a persistent Pool, and Share."""

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("suitkaise-processing")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ErrorHandlerError",
    "OnFinishError",
    "PostRunError",
    "PreRunError",
    "ProcessCrashError",
    "ProcessError",
    "ProcessTimeoutError",
    "RemoteTraceback",
    "ResultError",
    "ResultTimeoutError",
    "RunError",
    "ShareError",
]
