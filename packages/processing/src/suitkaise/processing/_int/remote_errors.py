"""Carry an exception from a child process to its parent without losing its type.

The child calls :func:`dump_exception`; the parent calls :func:`load_exception`, which returns
the original exception (same type, args and attributes) with a :class:`RemoteTraceback` as its
``__cause__``; the exception's own ``__cause__`` (if any) becomes the cause of that
``RemoteTraceback``. If the exception itself cannot be carried, the parent gets a ``ProcessError``
whose message names the original type and message, never a silent loss.
"""

from __future__ import annotations

import traceback
from typing import Any

from suitkaise.processing._errors import ProcessError, RemoteTraceback


def dump_exception(exc: BaseException) -> dict[str, Any]:
    """Turn ``exc`` into a picklable record (called in the child)."""
    from suitkaise import cerial

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    record: dict[str, Any] = {
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": tb,
        "payload": None,
    }
    try:
        record["payload"] = cerial.serialize(exc)
    except Exception:  # the record above still names the type and message
        record["payload"] = _with_stand_in(exc)
    return record


def _with_stand_in(exc: BaseException) -> bytes | None:
    """The payload of ``exc`` once an uncarriable ``original_error`` (also its ``__cause__``
    or ``__context__``) is replaced by a ``ProcessError`` describing it; None if still not.

    Keeps the type of a section error (``RunError`` ...) whose user exception cannot travel.
    """
    from suitkaise import cerial

    original = getattr(exc, "original_error", None)
    if not isinstance(exc, ProcessError) or original is None:
        return None
    stand_in = ProcessError(
        f"{type(original).__module__}.{type(original).__qualname__}: {original} "
        "(the original exception could not be serialized)"
    )
    exc.original_error = stand_in
    if exc.__cause__ is original:
        exc.__cause__ = stand_in
    if exc.__context__ is original:
        exc.__context__ = stand_in
    try:
        return cerial.serialize(exc)
    except Exception:
        return None


def load_exception(record: dict[str, Any]) -> BaseException:
    """Rebuild the exception described by ``record`` (called in the parent)."""
    from suitkaise import cerial

    exc: BaseException | None = None
    if record.get("payload") is not None:
        try:
            loaded = cerial.deserialize(record["payload"])
            if isinstance(loaded, BaseException):
                exc = loaded
        except Exception:
            exc = None
    if exc is None:
        exc = ProcessError(f"{record['type']}: {record['message']}")
    # The remote traceback goes first in the chain; the error's own cause (which cerial
    # carried) hangs off it, so nothing the child knew is lost.
    remote = RemoteTraceback(record["traceback"])
    remote.__cause__ = exc.__cause__
    exc.__cause__ = remote
    return exc
