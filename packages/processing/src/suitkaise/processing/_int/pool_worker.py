"""The loop a ``Pool`` worker process runs.

A worker owns one end of a duplex pipe to its pool's scheduler thread and a two-slot shared
array ``ctrl``::

    scheduler ──(batch: id, call id, [function], items)──► worker
    scheduler ◄──(reply: id, results, error, seconds)────── worker
    ctrl[0] = position in the batch of the item now running   (read by the parent after a crash)
    ctrl[1] = id of a batch the parent has cancelled          (checked by the worker between items)

Guarantees: a batch is answered exactly once unless the worker dies; the first item that
raises ends the batch and its error travels back with its position; the function of a call is
deserialized once per worker and cached until the parent says the call is over. The worker
exits when it reads an empty message, when its pipe closes, or when its parent dies.

Non-goals: interrupting an item that is running (cancellation takes effect between items).
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection, wait
from typing import Any

#: Connections the pool keeps in the parent. A worker started by ``fork`` inherits copies of
#: them; it closes them at once so that a sibling's pipe reaches EOF when the parent lets go.
PARENT_CONNECTIONS: set[Connection] = set()

#: Sent instead of a batch to tell a worker to exit.
STOP = b""
#: The first message of a worker: it is ready to read batches.
HELLO = b"ready"


def _close_inherited(own: Connection) -> None:
    for conn in list(PARENT_CONNECTIONS):
        if conn is not own:
            try:
                conn.close()
            except OSError:
                pass
    PARENT_CONNECTIONS.clear()


def _skprocess_runner(fn: Any) -> Any:
    """Return ``run_inline`` if ``fn`` is an ``Skprocess`` subclass, else ``None``."""
    if not isinstance(fn, type):
        return None
    try:
        from suitkaise.processing._int.engine import run_inline
        from suitkaise.processing._process import Skprocess
    except ImportError:  # Skprocess not available: treat the class as a plain callable
        return None
    return run_inline if issubclass(fn, Skprocess) else None


def worker_main(conn: Connection, ctrl: Any, key: bytes) -> None:
    """Serve batches from ``conn`` until told to stop (runs in the worker process)."""
    from multiprocessing import parent_process

    from suitkaise import cerial
    from suitkaise.processing._int.remote_errors import dump_exception

    _close_inherited(conn)
    parent = parent_process()
    watch: list[Any] = [conn] if parent is None else [conn, parent.sentinel]
    functions: dict[int, tuple[Any, Any]] = {}
    conn.send_bytes(HELLO)
    while True:
        try:
            if conn not in wait(watch):
                return  # the parent died
            data = conn.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if data == STOP:
            return
        started = time.perf_counter()
        batch_id, call_id, fn_bytes, star, drops, items = cerial.deserialize(data, key=key)
        for dropped in drops:
            functions.pop(dropped, None)
        results: list[Any] = []
        error: tuple[int, dict[str, Any]] | None = None
        cancelled = False
        ctrl[0] = 0
        try:
            if call_id not in functions:
                fn = cerial.deserialize(fn_bytes, key=key)
                functions[call_id] = (fn, _skprocess_runner(fn))
            fn, runner = functions[call_id]
        except BaseException as exc:
            error = (0, dump_exception(exc))
        else:
            for position, item in enumerate(items):
                if ctrl[1] == batch_id:
                    cancelled = True
                    break
                ctrl[0] = position
                try:
                    if runner is not None:
                        value = runner(fn(*item) if star else fn(item))
                    else:
                        value = fn(*item) if star else fn(item)
                except BaseException as exc:
                    error = (position, dump_exception(exc))
                    break
                results.append(value)
        elapsed = time.perf_counter() - started
        conn.send_bytes(_reply(cerial, key, batch_id, results, error, elapsed, cancelled))


def _reply(
    cerial: Any,
    key: bytes,
    batch_id: int,
    results: list[Any],
    error: tuple[int, dict[str, Any]] | None,
    elapsed: float,
    cancelled: bool,
) -> bytes:
    try:
        return bytes(cerial.serialize((batch_id, results, error, elapsed, cancelled), key=key))
    except Exception:
        pass
    # Find the first result that cannot travel and report it as that item's error.
    from suitkaise.processing._int.remote_errors import dump_exception

    for position, value in enumerate(results):
        try:
            cerial.serialize(value, key=key)
        except Exception as exc:
            exc.add_note(f"the return value of type {type(value).__name__} could not be sent back")
            record = (position, dump_exception(exc))
            return bytes(
                cerial.serialize((batch_id, results[:position], record, elapsed, False), key=key)
            )
    # Only the error record itself could not travel: send it without its payload.
    assert error is not None
    position, record = error
    record = {**record, "payload": None}
    return bytes(
        cerial.serialize((batch_id, results, (position, record), elapsed, cancelled), key=key)
    )
