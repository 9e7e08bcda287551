"""Exceptions, tracebacks and frames.

Exceptions keep their type, ``args``, attributes (the class's own pickle protocol is used),
``__cause__``, ``__context__``, ``__suppress_context__`` and ``__notes__``; the formatted
traceback travels as text in the attribute ``__cerial_traceback__`` (traceback objects hold
live frames and cannot be carried). Cause and context are restored as state, after the
exception exists, so cycles between exceptions keep identity. An exception class whose
constructor does not accept its own ``args`` (a common pickle pitfall) is still rebuilt, with
``BaseException.__new__``.

Tracebacks arrive as ``traceback.StackSummary`` (a list of ``FrameSummary``, printable with
``"".join(summary.format())``); a frame that has finished arrives as a ``FrameSummary``. A frame
that is still running in some thread is refused.
"""

from __future__ import annotations

import sys
import traceback
import types
from typing import Any

from suitkaise.cerial._errors import SerializationError

TRACEBACK_ATTR = "__cerial_traceback__"


def make_exception(func: Any, args: tuple[Any, ...]) -> BaseException:
    try:
        exc: BaseException = func(*args)
    except TypeError:
        if not (isinstance(func, type) and issubclass(func, BaseException)):
            raise
        exc = func.__new__(func, *args)
        exc.args = args
    return exc


def _apply_state(exc: BaseException, state: Any) -> None:
    if state is None:
        return
    if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) from a __slots__ class
        for part in state:
            for k, v in (part or {}).items():
                setattr(exc, k, v)
        return
    exc.__setstate__(state)


def set_exception_state(exc: BaseException, state: tuple[Any, Any]) -> BaseException:
    own, (cause, context, suppress, tb_text) = state
    _apply_state(exc, own)
    exc.__cause__ = cause
    exc.__context__ = context
    exc.__suppress_context__ = suppress
    if tb_text:
        try:
            setattr(exc, TRACEBACK_ATTR, tb_text)
        except AttributeError:  # __slots__ without a __dict__
            pass
    return exc


def format_traceback(exc: BaseException) -> str | None:
    """The exception's traceback as text (the one it arrived with, if it was carried)."""
    if exc.__traceback__ is not None:
        return "Traceback (most recent call last):\n" + "".join(
            traceback.format_tb(exc.__traceback__)
        )
    carried = getattr(exc, TRACEBACK_ATTR, None)
    return carried if isinstance(carried, str) else None


def reduce_exception(exc: BaseException) -> Any:
    rv = exc.__reduce_ex__(5)
    if isinstance(rv, str):
        return rv
    func, args = rv[0], rv[1]
    own = rv[2] if len(rv) > 2 else None
    if isinstance(own, dict) and TRACEBACK_ATTR in own:
        own = {k: v for k, v in own.items() if k != TRACEBACK_ATTR}
    listitems = rv[3] if len(rv) > 3 else None
    dictitems = rv[4] if len(rv) > 4 else None
    extra = (exc.__cause__, exc.__context__, exc.__suppress_context__, format_traceback(exc))
    return make_exception, (func, args), (own, extra), listitems, dictitems, set_exception_state


def reduce_traceback(tb: types.TracebackType) -> Any:
    return traceback.StackSummary.from_list, (
        [tuple(fs) for fs in traceback.StackSummary.extract(traceback.walk_tb(tb))],
    )


def _is_running(frame: types.FrameType) -> bool:
    for top in sys._current_frames().values():
        f: types.FrameType | None = top
        while f is not None:
            if f is frame:
                return True
            f = f.f_back
    return False


def reduce_frame(frame: types.FrameType) -> Any:
    if _is_running(frame):
        reason = "a running frame cannot be serialized"
        raise SerializationError(
            reason,
            reason=reason,
            hint="send the data the frame works on, or traceback.extract_stack() for a summary",
        )
    return traceback.FrameSummary, (
        frame.f_code.co_filename,
        frame.f_lineno,
        frame.f_code.co_name,
    )
