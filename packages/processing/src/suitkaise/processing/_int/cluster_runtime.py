"""The live part of a ``Pool(cluster=...)``: a scheduler thread that feeds a dask cluster.

It has the interface of :class:`~suitkaise.processing._int.pool_runtime.PoolRuntime`
(``submit``/``cancel``/``wake``/``stop``/``pids``/``broken``), so the Pool front end, its four
methods, ``star()`` and every modifier are the same objects for both backends; only the
executor differs.

Data flow::

    caller thread ──submit(job)/cancel(job)──► command deque ──► scheduler thread
        scheduler: job.take() ─► cerial(items) ─► client.submit(run_cluster_batch, ...)
        dask as_completed (results fetched on the Client's event loop) ─► watcher thread
            ─► command deque ─► scheduler
        scheduler: cerial.deserialize(result) ─► job.add_results / job.fail
        job.cond.notify ─► caller thread

Batching, ordering, look-ahead and error rules are the ``Job``'s, as in the local pool: one
dask task per batch, so per-task overhead is paid per batch, not per item. At most
``workers`` batches are on the cluster at once (that is how ``workers`` limits concurrency).
The function is serialized once per call: sent inline with each batch when small (dask ships
a few hundred bytes cheaply), scattered once to the cluster when large; each worker process
loads it once per call.

Cancellation (error, timeout, abandoned iterator, close) cancels the call's dask futures;
a batch already running on a dask worker thread cannot be interrupted (dask cannot kill a
thread), it finishes there and its result is dropped. A worker lost mid-task: dask reschedules
the task up to ``distributed.scheduler.allowed-failures`` times, then raises ``KilledWorker``;
the Pool reports that as ``ProcessCrashError`` for the item. As dask blames every task that
was on the dead worker, the items of a lost batch are first run again one at a time, alone, to
find the one that kills its worker. For an ``Skprocess`` item each ``KilledWorker`` costs one
life: the item is sent again (alone) until its lives are spent, then ``__error__`` runs.

Non-goals: fairness between concurrent calls beyond round-robin; data locality.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from suitkaise.processing._errors import ProcessCrashError, ProcessError
from suitkaise.processing._int.cluster_client import ClusterConnection, import_distributed
from suitkaise.processing._int.cluster_runner import run_cluster_batch
from suitkaise.processing._int.pool_jobs import Batch, Job
from suitkaise.processing._int.pool_runtime import PoolClosedError

#: A function payload above this size is scattered to the cluster once instead of being sent
#: inline with every batch.
INLINE_FUNCTION_BYTES = 64 * 1024
STOP_TIMEOUT = 30.0


class _Call:
    """Per-job state kept by the cluster runtime."""

    __slots__ = ("fn_arg", "futures", "token")

    def __init__(self, token: str, fn_arg: Any) -> None:
        self.token = token
        self.fn_arg = fn_arg  # the function's bytes, or a dask Future of them
        self.futures: dict[int, Any] = {}  # batch id -> dask Future


class ClusterRuntime:
    """Feeds a Pool's jobs to a dask cluster (see the module docstring)."""

    def __init__(self, connection: ClusterConnection, workers: int, key: bytes) -> None:
        from suitkaise import cerial

        self._cerial = cerial
        self._client = connection.client
        self._limit = workers
        self._key = key
        self._prefix = f"suitkaise-pool-{secrets.token_hex(4)}"
        self._cond = threading.Condition()
        self._commands: deque[tuple[str, Any]] = deque()
        self._jobs: list[Job] = []
        self._calls: dict[int, _Call] = {}  # call id -> state
        self._running: dict[int, Batch] = {}  # batch id -> batch on the cluster
        self._singles: deque[Batch] = deque()  # items of a lost batch, to run one at a time
        self._isolated: set[int] = set()  # ids of batches sent while nothing else ran
        self._batch_ids = itertools.count(1)
        self._by_key: dict[str, Batch] = {}  # dask task key -> batch
        # Results are gathered on the Client's event loop; dask's done-callbacks would run in
        # a thread pool that is shut down before atexit hooks (noise at interpreter exit).
        self._completed = import_distributed().as_completed(
            loop=self._client.loop, with_results=True, raise_errors=False
        )
        self._added = threading.Event()
        self._turn = 0
        self.broken: BaseException | None = None
        self.stopped = False
        self._refusing = False
        self._thread = threading.Thread(
            target=self._run, name="suitkaise-cluster-pool", daemon=True
        )
        self._thread.start()
        self._watcher = threading.Thread(
            target=self._watch, name="suitkaise-cluster-pool-results", daemon=True
        )
        self._watcher.start()
        connection.before_close(lambda: self.stop(kill=False))

    # -- caller-side API (same as PoolRuntime) -------------------------------------------------

    def submit(self, job: Job) -> None:
        self._post("submit", job)

    def cancel(self, job: Job, *, kill: bool, wait_done: bool = True) -> None:
        """Cancel ``job``'s outstanding tasks (running ones finish and are dropped)."""
        if self.stopped:
            return
        self._post("cancel", job)
        if wait_done:
            job.cancel_done.wait(STOP_TIMEOUT)

    def wake(self) -> None:
        self._post("wake", None)

    def stop(self, *, kill: bool) -> None:
        """Cancel every call and end the scheduler thread (the Client is not closed here)."""
        if self.stopped:
            return
        self._post("stop", kill)
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_TIMEOUT)

    def pids(self) -> list[int]:
        """Worker processes are the cluster's, not this machine's children: none to list."""
        return []

    def _post(self, command: str, arg: Any) -> None:
        with self._cond:
            if self._refusing:
                if isinstance(arg, Job):
                    arg.abandon(self.broken or PoolClosedError("this Pool is closed"))
                return
            self._commands.append((command, arg))
            self._cond.notify()

    # -- the watcher thread --------------------------------------------------------------------

    def _watch(self) -> None:
        """Hand each finished task (and its result or error) to the scheduler thread."""
        while not self.stopped:
            self._added.wait()
            self._added.clear()
            for future, result in self._completed:  # ends when nothing is outstanding
                self._post("done", (future, result))
                del future, result
                if self.stopped:
                    return

    # -- the scheduler thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.stopped:
                with self._cond:
                    while not self._commands:
                        self._cond.wait()
                while not self.stopped:
                    with self._cond:
                        if not self._commands:
                            break
                        command, arg = self._commands.popleft()
                    self._handle(command, arg)
                    # Holding no reference while idle: a finished dask future kept alive
                    # here would keep its result on the cluster.
                    del command, arg
                if self.stopped:
                    return
                self._dispatch()
        except BaseException as exc:  # never leave callers waiting on a dead scheduler
            self._break(
                ProcessError(f"the cluster Pool scheduler failed: {exc!r}", original_error=exc)
            )
            self._shutdown()

    def _handle(self, command: str, arg: Any) -> None:
        if command == "submit":
            if self.broken is not None:
                arg.finish(self.broken)
            else:
                self._start_job(arg)
        elif command == "done":
            self._on_done(arg)
        elif command == "cancel":
            self._retire(arg)
            arg.abandon(PoolClosedError("this call was cancelled"))
        elif command == "stop":
            self._shutdown()

    def _start_job(self, job: Job) -> None:
        fn_arg: Any = job.fn_bytes
        if len(fn_arg) > INLINE_FUNCTION_BYTES:
            fn_arg = self._client.scatter(fn_arg, hash=False)
        token = f"{self._prefix}-{job.call_id}"
        self._calls[job.call_id] = _Call(token, fn_arg)
        self._jobs.append(job)

    def _dispatch(self) -> None:
        while len(self._running) < self._limit:
            if self._singles:
                # Alone on the cluster (for this pool), so that a worker death is the fault
                # of this item: dask blames every task that was on a dead worker.
                if self._running:
                    return
                batch = self._singles.popleft()
                if batch.id in batch.job.outstanding:
                    self._isolated.add(batch.id)
                    self._send(batch)
                continue
            job = self._pick()
            if job is None:
                return
            indices, items = job.take()
            if not items:
                self._check_finished(job)
                continue
            self._send(Batch(next(self._batch_ids), job, indices, items))

    def _pick(self) -> Job | None:
        jobs = self._jobs
        for offset in range(len(jobs)):
            job = jobs[(self._turn + offset) % len(jobs)]
            if job.wants_dispatch():
                self._turn += 1
                return job
        return None

    def _send(self, batch: Batch) -> None:
        job = batch.job
        items = list(batch.items)
        try:
            items_bytes = bytes(self._cerial.serialize(items, key=self._key))
        except Exception:
            position = self._unsendable(job, batch.indices, items)
            if position == 0 or job.mode != "imap":  # only imap wants the items before it
                self._check_finished(job)
                return
            batch = Batch(batch.id, job, batch.indices[:position], items[:position])
            items_bytes = bytes(self._cerial.serialize(batch.items, key=self._key))
        call = self._calls[job.call_id]
        future = self._client.submit(
            run_cluster_batch,
            self._key,
            call.token,
            call.fn_arg,
            job.star,
            items_bytes,
            key=f"{call.token}-{batch.id}",
            pure=False,
        )
        job.outstanding[batch.id] = batch
        call.futures[batch.id] = future
        self._running[batch.id] = batch
        self._by_key[future.key] = batch
        self._completed.add(future)
        self._added.set()

    def _unsendable(self, job: Job, indices: range | list[int], items: Sequence[Any]) -> int:
        for position, item in enumerate(items):
            try:
                self._cerial.serialize(item, key=self._key)
            except Exception as exc:
                exc.add_note(f"item {indices[position]} could not be sent to the cluster")
                job.fail(indices[position], exc)
                return position
        job.fail(
            indices[0],
            ProcessError(f"the batch starting at item {indices[0]} could not be serialized"),
        )
        return 0

    def _on_done(self, arg: tuple[Any, Any]) -> None:
        future, result = arg
        batch = self._by_key.pop(future.key, None)
        if batch is None:
            return  # cancelled by us
        self._running.pop(batch.id, None)
        isolated = batch.id in self._isolated
        self._isolated.discard(batch.id)
        job = batch.job
        call = self._calls.get(job.call_id)
        if call is not None:
            call.futures.pop(batch.id, None)
        if job.outstanding.pop(batch.id, None) is None:
            return  # cancelled, or the job is over
        status = future.status
        if status == "cancelled":
            # Not cancelled by us (e.g. the Client or the scheduler went away).
            job.fail(batch.indices[0], ProcessError("the cluster cancelled this task"))
        elif status == "error":
            self._on_task_error(batch, result, isolated)
        else:
            self._on_result(batch, result)
        self._check_finished(job)

    def _on_result(self, batch: Batch, data: Any) -> None:
        from suitkaise.processing._int.remote_errors import load_exception

        job = batch.job
        try:
            results, error, elapsed = self._cerial.deserialize(data, key=self._key)
        except Exception as exc:  # e.g. a result class that cannot be loaded here
            exc.add_note(
                f"the results of items {batch.indices[0]}-{batch.indices[-1]} could not be "
                f"loaded in the calling process"
            )
            job.fail(batch.indices[0], exc)
            return
        job.record_timing(len(results) + (error is not None), elapsed, len(data))
        job.add_results(batch.indices, results)
        if error is not None:
            position, record = error
            job.fail(batch.indices[position], load_exception(record))

    def _on_task_error(self, batch: Batch, result: Any, isolated: bool) -> None:
        job = batch.job
        # as_completed(raise_errors=False) gives dask's (type, exception, traceback)
        exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
        if not isinstance(exc, BaseException):
            exc = ProcessError(f"the cluster reported an error for this task: {result!r}")
        if type(exc).__name__ != "KilledWorker":
            # The runner catches every item's error: this one is the cluster's own (e.g. the
            # worker cannot import suitkaise).
            job.fail(batch.indices[0], exc)
            return
        if not isolated:  # which item killed its worker? run each alone to find out
            for index, item in zip(batch.indices, batch.items):
                single = Batch(next(self._batch_ids), job, [index], [item])
                job.outstanding[single.id] = single  # the job is not over while it waits
                self._singles.append(single)
            return
        crash = ProcessCrashError(
            f"a cluster worker died while processing item {batch.indices[0]} (dask gave up "
            f"on the task: {exc})",
            exitcode=None,
            signal_name=None,
        )
        crash.__cause__ = exc
        if job.retries_crashes:
            # An Skprocess item: the lost worker costs it one life (SPEC 4.1); it runs again,
            # alone, and once its lives are spent the worker runs __error__ with the crash.
            from suitkaise.processing._int.pool_worker import CrashRetry

            retry = CrashRetry.after(batch.items[0], crash)
            single = Batch(next(self._batch_ids), job, batch.indices, [retry])
            job.outstanding[single.id] = single
            self._singles.append(single)
            return
        job.fail(batch.indices[0], crash)

    def _check_finished(self, job: Job) -> None:
        if job not in self._jobs:
            return
        if job.error_index is not None and job.mode == "imap":
            # Items after the failing one are no longer needed.
            limit = job.error_index
            for batch in list(job.outstanding.values()):
                if min(batch.indices, default=limit) > limit:
                    self._cancel_batch(batch)
            job.redo = type(job.redo)(entry for entry in job.redo if entry[0] < limit)
        if job.should_finish():
            self._retire(job)
            job.finish()

    def _cancel_batch(self, batch: Batch) -> None:
        batch.job.outstanding.pop(batch.id, None)
        self._running.pop(batch.id, None)
        call = self._calls.get(batch.job.call_id)
        future = None if call is None else call.futures.pop(batch.id, None)
        if future is not None:
            self._by_key.pop(future.key, None)
            future.cancel()

    def _retire(self, job: Job) -> None:
        """Stop all work of ``job`` and forget it."""
        for batch in list(job.outstanding.values()):
            self._cancel_batch(batch)
        job.redo.clear()
        self._singles = deque(b for b in self._singles if b.job is not job)
        if job in self._jobs:
            self._jobs.remove(job)
        call = self._calls.pop(job.call_id, None)
        if call is not None:
            futures = list(call.futures.values())
            for future in futures:
                self._by_key.pop(future.key, None)
            if futures:
                self._client.cancel(futures)
            if not isinstance(call.fn_arg, bytes):
                call.fn_arg.release()

    def _break(self, error: BaseException) -> None:
        self.broken = error
        for job in list(self._jobs):
            self._retire(job)
            job.abandon(error)

    def _shutdown(self) -> None:
        closed = PoolClosedError("the Pool was closed while this call was running")
        for job in list(self._jobs):
            try:
                self._retire(job)
            except Exception:  # the Client may already be closed
                pass
            job.abandon(closed)
        with self._cond:
            self._refusing = True
            pending = list(self._commands)
            self._commands.clear()
        for _command, arg in pending:
            if isinstance(arg, Job):
                arg.abandon(closed)
        self.stopped = True
        self._added.set()  # the watcher ends
