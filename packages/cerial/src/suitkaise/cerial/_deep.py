"""Run a recursive function on a very deep object: once more, in a thread with a big stack.

The C pickler (and ``reconnect_all``) recurse once or twice per nesting level and stop at the
interpreter's recursion limit (about 500 nested lists by default). ``run_deep`` retries the call
in a thread with a large stack and a raised recursion limit, so cerial goes about 100x deeper
than plain pickle. On Python 3.12 and 3.13 the C pickler's depth is bounded by a fixed C limit
that neither raises, so the pickler's retry uses the pure-Python pickler (``_PyCerialPickler``
in ``_pickler``): lists, tuples and dicts still go that deep, but objects pickled through
``__reduce__`` reach only a few thousand levels (see ``_C_STACK_BOUND``). The limit is
process-wide while the retry runs (it is only ever raised, and restored afterwards); retries are
serialized by a lock.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEEP_LIMIT = 100_000
_STACKS = (512 << 20, 256 << 20, 64 << 20)  # the first size the platform accepts
_lock = threading.Lock()


def _reinit_after_fork() -> None:
    # a fork while another thread held the lock must not leave the child deadlocked
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def is_recursion(exc: BaseException) -> bool:
    """Whether ``exc`` is (or was explicitly caused by) a RecursionError.

    ``__context__`` is not followed: an unrelated error raised while the first RecursionError
    was being handled carries it as context.
    """
    e: BaseException | None = exc
    for _ in range(5):
        if e is None:
            return False
        if isinstance(e, RecursionError):
            return True
        e = e.__cause__
    return False


def _set_big_stack() -> None:
    for size in _STACKS:
        try:
            threading.stack_size(size)
            return
        except (ValueError, RuntimeError):
            continue


def run_deep(fn: Callable[[], T]) -> T:
    """Call ``fn()`` in a big-stack thread; return its result or raise what it raised."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as e:  # handed back to the calling thread
            error.append(e)

    with _lock:
        old_limit = sys.getrecursionlimit()
        old_stack = threading.stack_size()
        try:
            _set_big_stack()
            sys.setrecursionlimit(max(old_limit, DEEP_LIMIT))
            t = threading.Thread(target=run, name="cerial-deep")
            t.start()
            t.join()
        finally:
            threading.stack_size(old_stack)
            sys.setrecursionlimit(old_limit)
    if error:
        raise error[0]
    out: T = result[0]
    return out
