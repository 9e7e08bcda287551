"""The task a ``Pool(cluster=...)`` sends to a dask worker: one batch of items, bytes in, bytes out.

Data flow (dask sees only bytes and this importable function)::

    Pool (client)                                   dask worker (any thread)
    cerial(fn) ──(inline, or scattered once)──┐
    cerial(items) ─────────────────────────────┴──► run_cluster_batch(key, token, fn, star, items)
                                                     ├─ fn loaded once per call per worker process
                                                     └─ cerial((results, error, seconds)) ──► Pool

Guarantees: the first item that raises ends the batch and travels back as a ``dump_exception``
record with its position (type, message and remote traceback survive); a result that cannot be
serialized becomes that item's error; ``Skprocess`` classes run their lifecycle here through
``run_inline`` (section timeouts are checked after each section, as SIGALRM needs the main
thread and dask runs tasks in worker threads). Everything is signed with the call's cerial key.

Non-goals: importing dask (this module runs in any process that has suitkaise installed).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

#: Functions loaded on this worker process, by call token; a few calls may run at once.
_FUNCTIONS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
_FUNCTIONS_LOCK = threading.Lock()
_MAX_FUNCTIONS = 32


def _function(key: bytes, token: str, fn_bytes: bytes) -> tuple[Any, Any]:
    from suitkaise import cerial
    from suitkaise.processing._int.pool_worker import _skprocess_runner

    with _FUNCTIONS_LOCK:
        found = _FUNCTIONS.get(token)
        if found is not None:
            _FUNCTIONS.move_to_end(token)
            return found
    fn = cerial.deserialize(fn_bytes, key=key)
    loaded = (fn, _skprocess_runner(fn))
    with _FUNCTIONS_LOCK:
        _FUNCTIONS[token] = loaded
        while len(_FUNCTIONS) > _MAX_FUNCTIONS:
            _FUNCTIONS.popitem(last=False)
    return loaded


def run_cluster_batch(
    key: bytes, token: str, fn_bytes: bytes, star: bool, items_bytes: bytes
) -> bytes:
    """Run one batch of a ``Pool(cluster=...)`` call on a dask worker (internal).

    This is the only function dask ever calls for a Pool: it is importable by name on every
    worker that has ``suitkaise-processing`` installed, and everything else it handles is cerial
    bytes signed with ``key``.

    Args:
        key: The calling Pool's cerial key (payloads signed with another key are refused).
        token: Identifies the call; the function is loaded once per token per worker process.
        fn_bytes: ``cerial.serialize(fn, key=key)``.
        star: Call ``fn(*item)`` instead of ``fn(item)``.
        items_bytes: ``cerial.serialize(list_of_items, key=key)``.

    Returns:
        ``cerial.serialize((results, error, seconds), key=key)``, where ``error`` is ``None``
        or ``(position, dump_exception record)`` of the first item that raised.

    Examples:
        >>> from suitkaise import cerial
        >>> from suitkaise.processing import run_cluster_batch
        >>> key = b"k" * 32
        >>> fn, items = cerial.serialize(abs, key=key), cerial.serialize([-1, 2], key=key)
        >>> cerial.deserialize(run_cluster_batch(key, "t", fn, False, items), key=key)[:2]
        ([1, 2], None)
    """
    from suitkaise import cerial
    from suitkaise.processing._int.pool_worker import _item_caller
    from suitkaise.processing._int.remote_errors import dump_exception

    started = time.perf_counter()
    results: list[Any] = []
    error: tuple[int, dict[str, Any]] | None = None
    position = 0
    try:
        fn, runner = _function(key, token, fn_bytes)
        items = cerial.deserialize(items_bytes, key=key)
        call = _item_caller(fn, runner, star)
        for item in items:
            results.append(call(item))
            position += 1
    except Exception as exc:  # KeyboardInterrupt/SystemExit belong to the dask worker
        error = (position, dump_exception(exc))
    elapsed = time.perf_counter() - started
    try:
        return bytes(cerial.serialize((results, error, elapsed), key=key))
    except Exception:
        pass
    for position, value in enumerate(results):  # find the result that cannot travel
        try:
            cerial.serialize(value, key=key)
        except Exception as exc:
            exc.add_note(f"the return value of type {type(value).__name__} could not be sent back")
            return bytes(
                cerial.serialize(
                    (results[:position], (position, dump_exception(exc)), elapsed), key=key
                )
            )
    assert error is not None  # only the error record itself could not travel
    bare = (error[0], {**error[1], "payload": None})
    return bytes(cerial.serialize((results, bare, elapsed), key=key))


run_cluster_batch.__module__ = "suitkaise.processing"
