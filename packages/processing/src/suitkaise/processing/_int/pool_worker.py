"""The loop a ``Pool`` worker process runs.

A worker owns one end of a duplex pipe to its pool's scheduler thread and a shared
array ``ctrl``::

    scheduler ──(8-byte batch id + cerial(batch id, call id, [function], star, drops,
                 items, budget))─────────────────────────────────────────────────────► worker
    scheduler ◄──(cerial(batch id, results, error, seconds, cancelled))───────────── worker
    ctrl[POSITION], ctrl[SLICE_END] = the slice of the batch now running (items run in slices
                     through map(); a slice grows only while it takes under SLICE_SECONDS)
    ctrl[RUNNING]  = id of the batch now running            (all three read after a crash)
    ctrl[CANCEL_A], ctrl[CANCEL_B] = ids of batches the parent has cancelled
                                     (checked by the worker before each item)
    ctrl[DEADLINE], ctrl[SECTION], ctrl[TIMEOUT_US], ctrl[CURRENT_RUN] = the timed section of
                     the Skprocess item now running (the parent's backstop: pool_deadlines)

The parent may queue small batches while one runs, so the worker never waits for a round
trip; batches are answered in the order they were sent.

Guarantees: a batch is answered exactly once unless the worker dies; the first item that
raises ends the batch and its error travels back with its position; a batch with a budget
(``(seconds, result bytes)``, sent while the call's item cost is unknown) ends early once the
budget is spent, answering fewer results than items and no error; the function of a call is
deserialized once per worker and cached until the parent says the call is over. The worker
exits when it reads an empty message, when its pipe closes, or when its parent dies.

Non-goals: interrupting an item that is running (cancellation takes effect between slices).
"""

from __future__ import annotations

import functools
import selectors
import sys
import time
from multiprocessing.connection import Connection, wait
from typing import Any

# Imported here, not in worker_main: a lazy import there costs every new worker (a fork child
# too) its own lookup, and a compile where no .pyc files are written.
from suitkaise.processing._int.remote_errors import dump_exception

#: Connections the pool keeps in the parent. A worker started by ``fork`` inherits copies of
#: them; it closes them at once so that a sibling's pipe reaches EOF when the parent lets go.
PARENT_CONNECTIONS: set[Connection] = set()

POSITION, RUNNING, CANCEL_A, CANCEL_B, SLICE_END = range(5)
# The timed section of the Skprocess item now running (see pool_deadlines).
DEADLINE, SECTION, TIMEOUT_US, CURRENT_RUN = range(5, 9)
CTRL_SLOTS = 9
MAX_STRIDE = 1024
SLICE_SECONDS = 0.001
HEADER = 8  # bytes of the batch id prefix, readable before the payload is deserialized

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


def _skprocess_runner(fn: Any, slots: Any = None) -> Any:
    """Return ``run_inline`` if ``fn`` is an ``Skprocess`` subclass, else ``None``; given a
    worker's control ``slots``, one that publishes section deadlines there."""
    if not isinstance(fn, type):
        return None
    try:
        from suitkaise.processing._int.engine import run_inline
        from suitkaise.processing._int.pool_deadlines import DeadlineHost
        from suitkaise.processing._process import Skprocess
    except ImportError:  # Skprocess not available: treat the class as a plain callable
        return None
    if not issubclass(fn, Skprocess):
        return None
    if slots is None:
        return run_inline
    return functools.partial(run_inline, host=DeadlineHost(slots))


class CrashRetry:
    """An Skprocess item sent again after its worker died while running it.

    The worker builds the object and lets ``run_inline`` compare ``lives_used`` with the
    class's lives: run again with the lives left, or deliver ``crash`` through ``__error__``.
    """

    __slots__ = ("crash", "item", "lives_used")

    def __init__(self, item: Any, lives_used: int, crash: BaseException) -> None:
        self.item = item
        self.lives_used = lives_used
        self.crash = crash

    def __reduce__(self) -> tuple[Any, ...]:
        return (CrashRetry, (self.item, self.lives_used, self.crash))

    @staticmethod
    def after(item: Any, crash: BaseException) -> CrashRetry:
        """``item`` (an original item or a ``CrashRetry``) to send again, one more life spent."""
        if isinstance(item, CrashRetry):
            return CrashRetry(item.item, item.lives_used + 1, crash)
        return CrashRetry(item, 1, crash)


def _item_caller(fn: Any, runner: Any, star: bool) -> Any:
    """One callable per call, so that the per-item loop has no branches."""
    if runner is not None:

        def run_skprocess(item: Any) -> Any:
            lives_used, crash = 0, None
            if isinstance(item, CrashRetry):
                item, lives_used, crash = item.item, item.lives_used, item.crash
            # A retry (a life) builds the object again from its item: cheaper than the copy
            # run_inline would otherwise take of every item before its first attempt.
            args = item if star else (item,)

            def build() -> Any:
                return fn(*args)

            return runner(build(), lives_used=lives_used, crash=crash, rebuild=build)

        return run_skprocess
    if star:
        return lambda item: fn(*item)
    return fn


def _watcher(conn: Connection, parent_sentinel: int | None) -> Any:
    """A function that blocks until ``conn`` is readable (True) or the parent died (False).

    One selector for the worker's life: ``connection.wait()`` builds one per call, which costs
    a few system calls per batch. Windows handles are not selectable: ``wait()`` there.
    """
    watch: list[Any] = [conn] if parent_sentinel is None else [conn, parent_sentinel]
    if sys.platform == "win32":
        return lambda: conn in wait(watch)
    selector = selectors.DefaultSelector()
    selector.register(conn.fileno(), selectors.EVENT_READ, True)
    if parent_sentinel is not None:
        selector.register(parent_sentinel, selectors.EVENT_READ, False)

    def ready() -> bool:
        events = selector.select()
        return any(key.data for key, _ in events)

    return ready


def worker_main(conn: Connection, ctrl: Any, key: bytes) -> None:
    """Serve batches from ``conn`` until told to stop (runs in the worker process)."""
    from multiprocessing import parent_process

    from suitkaise import cerial

    _close_inherited(conn)
    parent = parent_process()
    ready = _watcher(conn, None if parent is None else parent.sentinel)
    functions: dict[int, tuple[Any, Any]] = {}
    slots = memoryview(ctrl).cast("B").cast("q")  # faster than indexing the ctypes array
    conn.send_bytes(HELLO)
    while True:
        try:
            if not ready():
                return  # the parent died
            data = conn.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if data == STOP:
            return
        started = time.perf_counter()
        batch_id = int.from_bytes(data[:HEADER], "little")
        slots[POSITION] = 0
        slots[RUNNING] = batch_id  # from here on a crash is blamed on this batch
        results: list[Any] = []
        items: Any = ()
        error: tuple[int, dict[str, Any]] | None = None
        cancelled = False
        try:
            sent_id, call_id, fn_bytes, star, drops, items, budget = cerial.deserialize(
                memoryview(data)[HEADER:], key=key
            )
            del data
            if sent_id != batch_id:
                raise RuntimeError("Pool worker: batch header does not match its payload")
            for dropped in drops:
                functions.pop(dropped, None)
            if call_id not in functions:
                loading = time.perf_counter()
                fn = cerial.deserialize(fn_bytes, key=key)
                functions[call_id] = (fn, _skprocess_runner(fn, slots))
                started += time.perf_counter() - loading  # once per call: not an item's cost
            fn, runner = functions[call_id]
        except BaseException as exc:
            error = (0, dump_exception(exc))
        else:
            call = _item_caller(fn, runner, star)
            # Items run in slices through C-level map() (a Python loop per item costs more than
            # a tiny task). A slice starts at one item and doubles while it takes under
            # SLICE_SECONDS, so slow items run one at a time. Before each slice the worker
            # publishes its bounds (for crash reports) and checks for cancellation. A batch
            # sent before the call's item cost is known has a budget (seconds, result bytes):
            # past it the worker answers with what it has and the parent re-sends the rest.
            stride = 1
            # Skprocess items run one per slice: a crash is then blamed on exactly one item,
            # which costs that item a life (its lifecycle dwarfs the per-slice cost).
            max_stride = 1 if runner is not None else MAX_STRIDE
            position = 0
            count = len(items)
            produced = 0
            try:
                while position < count:
                    if batch_id == slots[CANCEL_A] or batch_id == slots[CANCEL_B]:
                        cancelled = True
                        break
                    end = min(position + stride, count)
                    slots[POSITION] = position
                    slots[SLICE_END] = end
                    sliced = time.perf_counter()
                    results.extend(map(call, items[position:end]))
                    now = time.perf_counter()
                    if budget is not None:
                        # Shallow size of the slice's last result, as an estimate of each.
                        produced += sys.getsizeof(results[-1]) * (end - position)
                        if now - started > budget[0] or produced > budget[1]:
                            break
                    position = end
                    if stride < max_stride and now - sliced < SLICE_SECONDS:
                        stride *= 2
            except BaseException as exc:
                # extend() keeps what map() produced before the failure: the failing item is
                # the next one.
                error = (len(results), dump_exception(exc))
        elapsed = time.perf_counter() - started
        reply = _reply(cerial, key, batch_id, results, error, elapsed, cancelled)
        del results, items
        try:
            conn.send_bytes(reply)
        except OSError:  # the parent has gone away
            return


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
    for position, value in enumerate(results):
        try:
            cerial.serialize(value, key=key)
        except Exception as exc:
            exc.add_note(f"the return value of type {type(value).__name__} could not be sent back")
            failed = (position, dump_exception(exc))
            return bytes(
                cerial.serialize((batch_id, results[:position], failed, elapsed, False), key=key)
            )
    # Only the error record itself could not travel: send it without its payload.
    assert error is not None
    bare = (error[0], {**error[1], "payload": None})
    return bytes(cerial.serialize((batch_id, results, bare, elapsed, cancelled), key=key))
