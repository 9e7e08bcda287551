"""The exceptions of suitkaise.processing.

Every error carries its data on attributes (``current_run``, ``original_error``, and per-class
fields) and survives a pickle/cerial round trip between processes. Errors that have a natural
stdlib counterpart also inherit it, so ``except TimeoutError`` catches ``ResultTimeoutError``.
"""

from __future__ import annotations

from typing import Any

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


class RemoteTraceback(Exception):
    """The formatted traceback of an error raised in another process.

    Attached as ``__cause__`` of the re-raised error so that the traceback printed in the parent
    shows where the error really happened (as ``concurrent.futures`` does).
    """

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


class ProcessError(Exception):
    """Base class of every error raised by suitkaise.processing.

    Attributes:
        current_run: The run (iteration) during which the error happened, if known.
        original_error: The exception that was raised in the child, if any.
    """

    def __init__(
        self,
        message: str = "",
        *,
        current_run: int | None = None,
        original_error: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.current_run = current_run
        self.original_error = original_error

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor arguments are restored from __dict__, so subclasses
        # with extra attributes round-trip without their own __reduce__.
        state = dict(self.__dict__)
        return (_rebuild_error, (type(self), self.message, state))


def _rebuild_error(cls: type[ProcessError], message: str, state: dict[str, Any]) -> ProcessError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class _SectionError(ProcessError):
    """An error raised by user code in one lifecycle section."""

    section: str = ""


class PreRunError(_SectionError):
    """``__prerun__`` raised (or ``@autoreconnect`` failed to reconnect)."""

    section = "prerun"


class RunError(_SectionError):
    """``__run__`` raised."""

    section = "run"


class PostRunError(_SectionError):
    """``__postrun__`` raised."""

    section = "postrun"


class OnFinishError(_SectionError):
    """``__onfinish__`` raised."""

    section = "onfinish"


class ResultError(_SectionError):
    """``__result__`` raised."""

    section = "result"


class ErrorHandlerError(_SectionError):
    """``__error__`` raised while handling the final error."""

    section = "error"


class ProcessTimeoutError(ProcessError, TimeoutError):
    """A lifecycle section ran past its timeout.

    Attributes:
        section: Name of the section (``"prerun"``, ``"run"``, ...).
        timeout: The timeout in seconds that was exceeded.
    """

    def __init__(
        self,
        message: str = "",
        *,
        section: str = "",
        timeout: float | None = None,
        current_run: int | None = None,
        original_error: BaseException | None = None,
    ) -> None:
        super().__init__(message, current_run=current_run, original_error=original_error)
        self.section = section
        self.timeout = timeout


class ResultTimeoutError(ProcessError, TimeoutError):
    """Waiting for a result took longer than the timeout the caller gave.

    Attributes:
        timeout: The timeout in seconds.
    """

    def __init__(
        self,
        message: str = "",
        *,
        timeout: float | None = None,
        current_run: int | None = None,
        original_error: BaseException | None = None,
    ) -> None:
        super().__init__(message, current_run=current_run, original_error=original_error)
        self.timeout = timeout


class ProcessCrashError(ProcessError):
    """A child process died without reporting (segfault, ``os._exit``, killed by the OS).

    Attributes:
        exitcode: The child's exit code (negative for a signal, as in ``multiprocessing``).
        signal_name: The name of the signal that killed it (``"SIGKILL"``), or ``None``.
    """

    def __init__(
        self,
        message: str = "",
        *,
        exitcode: int | None = None,
        signal_name: str | None = None,
        current_run: int | None = None,
        original_error: BaseException | None = None,
    ) -> None:
        super().__init__(message, current_run=current_run, original_error=original_error)
        self.exitcode = exitcode
        self.signal_name = signal_name


class ShareError(ProcessError, ConnectionError):
    """A Share cannot be used: its coordinator has stopped or died."""


for _cls in [RemoteTraceback, ProcessError, _SectionError]:
    _cls.__module__ = "suitkaise.processing"
for _name in __all__:
    globals()[_name].__module__ = "suitkaise.processing"
del _cls, _name
