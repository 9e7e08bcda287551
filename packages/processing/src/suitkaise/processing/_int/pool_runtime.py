"""The live part of a ``Pool``: its worker processes and the scheduler thread that feeds them.

Data flow (one scheduler thread per pool, one duplex pipe per worker)::

    caller thread ──submit(job)/cancel(job)──► command deque + wake pipe
                                                     │
                                              scheduler thread
            pulls items lazily from job.source ──────┤
            batch ──cerial──► pipe ──► worker 1..N   │  wait() on pipes + process sentinels
            job.add_results ◄── reply ◄── worker     │  + wake pipe
            job.cond.notify ──► caller thread        │

Workers, pipes and jobs are touched only under ``_work``: by the scheduler thread between two
waits, and by a caller thread that submits a list call on a sequence while the scheduler is
idle: it writes its own call's first batches to idle workers itself, saving a thread
hand-off, and leaves everything else (errors, replacing workers) to the scheduler. Each worker
has at most ``MAX_BATCHES_PER_WORKER`` batches assigned: the one it runs and short ones queued behind it,
so that it never waits for a round trip. A batch is written to an idle worker at once; queued
ones are written only while everything unread fits in the socket buffer (``_pipeline_bytes``),
otherwise the last one is kept encoded and written once it is the worker's only batch, so a
send never blocks on a worker that is itself blocked sending (no pipe deadlock). Replies come
back in order, so a reply or a death is always attributed to one batch. When a worker dies,
shared slots tell which batch and which slice of it was running: a one-item slice raises
``ProcessCrashError`` for that item (an Skprocess item, always run alone, is sent again with
one life fewer instead: ``Job.retry_crashed``); a longer slice is run again one item at a time to find
the culprit (``Job.isolate``). Its queued batches go to other workers and it is replaced. A
timeout or an item error kills the workers running the job's batches and replaces them, so
that the next call does not wait for them; an abandoned iterator cancels them cooperatively
(the worker stops between slices of items). A worker stuck in an Skprocess section past its
timeout (SIGALRM blocked) is killed like a crash, reported as ``ProcessTimeoutError``
(``pool_deadlines``).

Non-goals: fairness guarantees between concurrent calls beyond round-robin, and interrupting
an item in progress when an iterator is dropped (its caller chose to stop, not a failure).
"""

from __future__ import annotations

import itertools
import selectors
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from suitkaise.processing._errors import ProcessCrashError, ProcessError
from suitkaise.processing._int.pool_jobs import Batch, Job
from suitkaise.processing._int.pool_worker import (
    CANCEL_A,
    CANCEL_B,
    CTRL_SLOTS,
    HEADER,
    HELLO,
    PARENT_CONNECTIONS,
    POSITION,
    RUNNING,
    SLICE_END,
    STOP,
    worker_main,
)
from suitkaise.processing._int.remote_errors import load_exception

#: Workers that die before ever becoming ready this many times in a row break the pool
#: (e.g. a spawn child that cannot import the main module) instead of respawning forever.
MAX_FAILED_STARTS = 3
STOP_GRACE_SECONDS = 5.0


def _pipeline_bytes() -> int:
    """How many unread bytes a worker's pipe surely buffers without the worker reading.

    A quarter of the socket buffers (Linux: ~200 kB, macOS: 8 kB), at most 48 kB. Windows pipes
    are not sockets and buffer little: no queueing there.
    """
    if sys.platform == "win32":
        return 0
    import socket

    a, b = socket.socketpair()
    try:
        sndbuf = a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        rcvbuf = b.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        a.close()
        b.close()
    return max(0, min(48 * 1024, min(sndbuf, rcvbuf) // 4))


#: A running batch plus up to two queued ones (small, short batches only: see Job.queueable).
MAX_BATCHES_PER_WORKER = 3


class PoolClosedError(ProcessError, RuntimeError):
    """Raised in a call that was still running when its pool was closed."""


def _signal_name(exitcode: int | None) -> str | None:
    if exitcode is None or exitcode >= 0:
        return None
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return None


class _Worker:
    __slots__ = ("batches", "conn", "ctrl", "drops", "known_calls", "proc", "ready", "unsent")

    def __init__(self, proc: Any, conn: Connection, ctrl: Any) -> None:
        self.proc = proc
        self.conn = conn
        self.ctrl = ctrl
        self.ready = False
        self.batches: deque[Batch] = (
            deque()
        )  # sent (or to be sent) in this order, <= MAX_BATCHES_PER_WORKER
        self.unsent: bytes | None = None  # the encoded last batch, when too big to queue
        self.known_calls: set[int] = set()
        self.drops: list[int] = []

    def cancel_slot(self, batch_id: int) -> None:
        """Tell the worker to skip ``batch_id`` (a slot not naming a live batch is reused)."""
        live = {batch.id for batch in self.batches}
        slot = CANCEL_A if self.ctrl[CANCEL_A] not in live else CANCEL_B
        self.ctrl[slot] = batch_id


class PoolRuntime:
    """Workers plus the scheduler thread of one pool (see the module docstring)."""

    def __init__(self, ctx: Any, workers: int, key: bytes) -> None:
        from suitkaise import cerial

        self._cerial = cerial
        self._ctx = ctx
        self._size = workers
        self._key = key
        # Re-entrant: an abandoned iterator's finalizer may post a command from any thread,
        # including this pool's scheduler thread while it holds the lock.
        self._lock = threading.RLock()
        # Held by whichever thread touches workers, pipes and jobs (taken before ``_lock``).
        self._work = threading.RLock()
        self._commands: deque[tuple[str, Any]] = deque()
        self._wake_pending = False
        self._wake_r, self._wake_w = ctx.Pipe(duplex=False)
        PARENT_CONNECTIONS.update((self._wake_r, self._wake_w))
        self._workers: list[_Worker] = []
        self._jobs: list[Job] = []
        self._batch_ids = itertools.count(1)
        self._failed_starts = 0
        self._last_exitcode: int | None = None
        self.broken: BaseException | None = None
        self.stopped = False
        self._refusing = False  # set under _lock once the scheduler stops reading commands
        self._pipeline_bytes = _pipeline_bytes()
        # One selector for the pool's life (connection.wait() builds one per call); Windows
        # handles are not selectable: wait() there.
        self._selector: selectors.BaseSelector | None = None
        if sys.platform != "win32":
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._wake_r.fileno(), selectors.EVENT_READ, ("wake", None))
        # The thread starts first: started after the workers, it would wait for a CPU while
        # they initialize (milliseconds on a small machine). It waits on _work meanwhile.
        self._thread = threading.Thread(target=self._run, name="suitkaise-pool", daemon=True)
        with self._work:
            self._thread.start()
            try:
                for _ in range(workers):
                    self._workers.append(self._track(self._start_worker()))
            except BaseException:  # e.g. out of processes: release what was started, then raise
                for worker in self._workers:
                    self._release(worker, kill=True)
                self._workers.clear()
                self._post("stop", True)
                raise
        if self._selector is None or not isinstance(self._selector, selectors.EpollSelector):
            self.wake()  # a select()/poll() already waiting does not see pipes added since

    # -- caller-side API --------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        job.stops_early = True  # workers end a probe batch early (see pool_worker)
        if job.has_sequence and not job.streaming and self._submit_directly(job):
            return
        self._post("submit", job)

    def _submit_directly(self, job: Job) -> bool:
        """Send ``job``'s first batches from the caller's thread if the scheduler is idle.

        Only for list calls on a sequence (items are slices: no caller code runs to produce
        them), only this job's batches, only to idle workers, and only the fast path: take,
        encode, write. Anything else (an item that cannot be serialized, a dead worker) is left
        to the scheduler thread, so that a Ctrl-C in the caller can only interrupt its own call
        and workers are never replaced from here. False (post it instead) when the scheduler
        is busy or stopping.
        """
        if not self._work.acquire(blocking=False):
            return False
        try:
            if self.stopped or self._refusing or self.broken is not None:
                return False
            self._jobs.append(job)
            try:
                handed_over = self._dispatch_directly(job)
            except BaseException:
                # e.g. Ctrl-C while encoding: the scheduler cancels the call and replaces the
                # workers holding its batches (a batch is registered before it is written).
                self._post("kill", job)
                raise
            if handed_over or job.retries_crashes:
                # The scheduler must look at this job now, or learn that it has Skprocess
                # section deadlines to watch (pool_deadlines).
                self.wake()
            return True
        finally:
            self._work.release()

    def _dispatch_directly(self, job: Job) -> bool:
        """Give ``job``'s next batch to each idle worker; True if the scheduler must take over."""
        for worker in self._workers:
            if not worker.ready or worker.batches or worker.unsent is not None:
                continue
            if not job.wants_dispatch():
                return False
            if not self._assign(worker, job, self._fair_share(worker, job), direct=True):
                return True
        return False

    def cancel(self, job: Job, *, kill: bool, wait_done: bool = True) -> None:
        """Cancel ``job``; with ``kill`` the workers running it are replaced."""
        if self.stopped:
            return
        self._post("kill" if kill else "cancel", job)
        if wait_done:
            job.cancel_done.wait(30.0)

    def wake(self) -> None:
        self._post("wake", None)

    def stop(self, *, kill: bool) -> None:
        """Cancel every call, stop the workers (gracefully unless ``kill``), end the thread."""
        if self.stopped:
            return
        self._post("stop", kill)
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_GRACE_SECONDS + 10.0)
            if self._thread.is_alive():
                # The scheduler is stuck (e.g. in a caller's input iterator that never
                # returns): kill the workers from here so that nothing outlives the pool.
                for worker in list(self._workers):
                    try:
                        worker.proc.kill()
                    except (ValueError, OSError, AttributeError):
                        pass

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers if w.proc.pid is not None]

    def _post(self, command: str, arg: Any) -> None:
        with self._lock:
            if self._refusing:
                if isinstance(arg, Job):
                    arg.abandon(self.broken or PoolClosedError("this Pool is closed"))
                return
            self._commands.append((command, arg))
            if not self._wake_pending:
                self._wake_pending = True
                self._wake_w.send_bytes(b"!")

    # -- workers --------------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        PARENT_CONNECTIONS.add(parent_conn)
        ctrl = self._ctx.RawArray("q", CTRL_SLOTS)
        proc = self._ctx.Process(
            target=worker_main,
            args=(child_conn, ctrl, self._key),
            name="suitkaise-pool-worker",
            daemon=False,
        )
        try:
            proc.start()
        except BaseException:
            PARENT_CONNECTIONS.discard(parent_conn)
            parent_conn.close()
            raise
        finally:
            child_conn.close()
        return _Worker(proc, parent_conn, ctrl)

    def _release(self, worker: _Worker, *, kill: bool) -> None:
        self._untrack(worker)  # before its descriptors are closed and their numbers reused
        if kill and worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(STOP_GRACE_SECONDS)
        if worker.proc.is_alive():  # pragma: no cover - a worker ignoring SIGKILL
            worker.proc.kill()
            worker.proc.join()
        self._last_exitcode = worker.proc.exitcode
        PARENT_CONNECTIONS.discard(worker.conn)
        worker.conn.close()
        worker.proc.close()

    def _replace(self, worker: _Worker, *, kill: bool) -> None:
        ready_before = worker.ready
        self._release(worker, kill=kill)
        exitcode = self._last_exitcode
        slot = self._workers.index(worker)
        if self.stopped:
            self._workers.pop(slot)
            return
        if not ready_before and not kill:
            self._failed_starts += 1
            if self._failed_starts >= MAX_FAILED_STARTS:
                self._break(
                    ProcessCrashError(
                        f"Pool workers exit before they are ready (exit code "
                        f"{exitcode}); under spawn/forkserver the "
                        f"main module must be importable and guarded by "
                        f"'if __name__ == \"__main__\":'"
                    )
                )
                self._workers.pop(slot)
                return
        try:
            replacement = self._start_worker()
        except BaseException:
            self._workers.pop(slot)  # never leave a released worker in the list
            raise
        self._workers[slot] = self._track(replacement)

    # -- the scheduler thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.stopped:
                with self._work:
                    self._handle_commands()
                    if self.stopped:
                        break
                    self._dispatch()
                    timeout = self._deadline_wait()
                wake, replies, deaths = self._poll(timeout)
                with self._work:
                    if wake:
                        with self._lock:
                            self._wake_pending = False
                            while self._wake_r.poll():
                                self._wake_r.recv_bytes()
                    for worker in replies:
                        if worker in self._workers and not self._read_reply(worker):
                            self._on_death(worker)
                    for worker in deaths:
                        if worker in self._workers:
                            self._on_death(worker)
                    self._kill_overdue()
        except BaseException as exc:  # never leave callers waiting on a dead scheduler
            with self._work:  # a direct submit must not slip a job in meanwhile
                self._break(ProcessError(f"the Pool scheduler failed: {exc!r}", original_error=exc))
                self._shutdown(kill=True)
        finally:
            self._close_wake_pipe()

    def _poll(self, timeout: float | None) -> tuple[bool, list[_Worker], list[_Worker]]:
        """Block until something happens, or ``timeout``: (woken, workers with a reply,
        workers that died)."""
        replies: list[_Worker] = []
        deaths: list[_Worker] = []
        wake = False
        if self._selector is not None:
            for key, _ in self._selector.select(timeout):
                kind, worker = key.data
                if kind == "wake":
                    wake = True
                elif kind == "conn":
                    replies.append(worker)
                else:
                    deaths.append(worker)
            return wake, replies, deaths
        with self._work:
            workers = list(self._workers)
        conns = {w.conn: w for w in workers}
        sentinels = {w.proc.sentinel: w for w in workers}
        for obj in wait([self._wake_r, *conns, *sentinels], timeout):
            if obj is self._wake_r:
                wake = True
            elif obj in conns:
                replies.append(conns[obj])
            elif obj in sentinels:
                deaths.append(sentinels[obj])
        return wake, replies, deaths

    def _running_skprocess(self) -> list[_Worker]:
        """Workers running an Skprocess item (none, at the cost of one check, for functions)."""
        if not any(job.retries_crashes for job in self._jobs):
            return []
        return [w for w in self._workers if w.batches and w.batches[0].job.retries_crashes]

    def _deadline_wait(self) -> float | None:
        """How long ``_poll`` may block before an Skprocess item's section deadline is due."""
        running = self._running_skprocess()
        if not running:
            return None
        from suitkaise.processing._int.pool_deadlines import DEADLINE_POLL, seconds_to_deadline

        wait = DEADLINE_POLL  # a timed section may start while we wait
        for worker in running:
            left = seconds_to_deadline(worker.ctrl)
            if left is not None:
                wait = min(wait, left + 0.01)
        return wait

    def _kill_overdue(self) -> None:
        """Kill workers stuck in an Skprocess section past its timeout and grace (backstop)."""
        running = self._running_skprocess()
        if not running:
            return
        from suitkaise.processing._int.pool_deadlines import overdue_error

        for worker in running:
            error = overdue_error(worker.ctrl)
            if error is None:
                continue
            try:
                worker.proc.kill()
            except (ValueError, OSError):
                pass
            self._on_death(worker, error)

    def _track(self, worker: _Worker) -> _Worker:
        if self._selector is not None:
            self._selector.register(worker.conn.fileno(), selectors.EVENT_READ, ("conn", worker))
            self._selector.register(worker.proc.sentinel, selectors.EVENT_READ, ("died", worker))
        return worker

    def _untrack(self, worker: _Worker) -> None:
        if self._selector is None:
            return
        for fd in (worker.conn.fileno(), worker.proc.sentinel):
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass

    def _handle_commands(self) -> None:
        while True:
            with self._lock:
                if not self._commands:
                    return
                command, arg = self._commands.popleft()
            if command == "submit":
                if self.broken is not None:
                    arg.finish(self.broken)
                else:
                    self._jobs.append(arg)
            elif command in ("cancel", "kill"):
                self._retire(arg, kill=command == "kill")
                arg.abandon(PoolClosedError("this call was cancelled"))
            elif command == "stop":
                self._shutdown(kill=bool(arg))

    def _dispatch(self) -> None:
        # Idle workers first, then queued batches for the busy ones.
        for depth in range(MAX_BATCHES_PER_WORKER):
            turn = 0
            for worker in self._workers:
                if not worker.ready or len(worker.batches) != depth or worker.unsent is not None:
                    continue
                while self._jobs:
                    job = self._pick(turn, queued=depth > 0)
                    turn += 1
                    if job is None:
                        return
                    if self._assign(worker, job, self._fair_share(worker, job)):
                        break

    def _fair_share(self, worker: _Worker, job: Job) -> int | None:
        """Items of ``job`` that would leave every worker with as many of its items to run
        as ``worker`` (counting what is queued); None when the job's length is unknown."""
        if job.total is None:
            return None
        queued = {w: sum(len(b.items) for b in w.batches if b.job is job) for w in self._workers}
        left = job.total - job.pulled + len(job.redo)
        return (left + sum(queued.values())) // len(self._workers) - queued.get(worker, 0)

    def _pick(self, turn: int, *, queued: bool) -> Job | None:
        jobs = self._jobs
        for offset in range(len(jobs)):
            job = jobs[(turn + offset) % len(jobs)]
            if (not queued or job.queueable()) and job.wants_dispatch():
                return job
        return None

    def _assign(
        self, worker: _Worker, job: Job, share: int | None, *, direct: bool = False
    ) -> bool:
        """Give ``job``'s next batch to ``worker``; False if nothing was assigned.

        ``direct`` (the caller's thread): on any trouble the items go back to the job and the
        scheduler thread handles them (it reports unsendable items and finishes jobs).
        """
        sample = job.probe_sample()
        if sample is not None:
            try:
                sampled = len(self._cerial.serialize(sample, key=self._key))
            except Exception:  # reported item by item when the batch is encoded
                sampled = None
            if sampled is not None:
                job.set_item_bytes(sampled / len(sample))
        budget = job.probe_budget()
        indices, items = job.take(queued=bool(worker.batches), share=share)
        if not items:
            if not direct:
                self._check_finished(job)
            return False
        fn_bytes = None if job.call_id in worker.known_calls else job.fn_bytes
        batch_id = next(self._batch_ids)
        message = self._encode(batch_id, job, fn_bytes, worker.drops, items, budget)
        if message is None and direct:
            job.redo.extendleft(reversed(list(zip(indices, items))))
            return False
        if message is None:  # an item cannot be serialized: find it and fail the job there
            position = self._unsendable(job, indices, items)
            indices, items = indices[:position], items[:position]
            if not items or job.mode != "imap":  # only imap still wants the items before it
                self._check_finished(job)
                return False
            message = self._encode(batch_id, job, fn_bytes, worker.drops, items, budget)
            assert message is not None
        batch = Batch(batch_id, job, indices, items)
        batch.nbytes = len(message)
        # Bytes already written to the pipe that the worker has not read yet (it has read the
        # batch it runs): a new message joins them only if they all fit in the socket buffer.
        unread = sum(queued.nbytes for queued in list(worker.batches)[1:])
        job.outstanding[batch_id] = batch
        worker.batches.append(batch)
        worker.drops = []
        worker.known_calls.add(job.call_id)
        if len(worker.batches) == 1 or unread + len(message) <= self._pipeline_bytes:
            self._write(worker, message)
        else:
            worker.unsent = message
        return True

    def _write(self, worker: _Worker, message: bytes) -> None:
        try:
            worker.conn.send_bytes(message)
        except OSError:  # it died: its sentinel fires next and its batches are handed back
            pass

    def _encode(
        self,
        batch_id: int,
        job: Job,
        fn_bytes: bytes | None,
        drops: list[int],
        items: Sequence[Any],
        budget: tuple[float, int] | None,
    ) -> bytes | None:
        try:
            payload = self._cerial.serialize(
                (batch_id, job.call_id, fn_bytes, job.star, drops, items, budget), key=self._key
            )
        except Exception:
            return None
        return batch_id.to_bytes(HEADER, "little") + payload

    def _unsendable(self, job: Job, indices: range | list[int], items: Sequence[Any]) -> int:
        for position, item in enumerate(items):
            try:
                self._cerial.serialize(item, key=self._key)
            except Exception as exc:
                exc.add_note(f"item {indices[position]} could not be sent to a Pool worker")
                job.fail(indices[position], exc)
                return position
        # Every item alone is fine (e.g. the whole message is too large): report the first.
        exc2 = ProcessError(f"the batch starting at item {indices[0]} could not be serialized")
        job.fail(indices[0], exc2)
        return 0

    def _read_reply(self, worker: _Worker) -> bool:
        """Handle one message from ``worker``; False if its pipe is closed (it died)."""
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            return False
        if not worker.ready:
            if data == HELLO:
                worker.ready = True
                self._failed_starts = 0
            return True
        if not worker.batches:  # pragma: no cover - a reply nobody asked for
            return True
        batch = worker.batches.popleft()
        if worker.unsent is not None and len(worker.batches) == 1:
            # The worker has read everything else: it is free to read a large message now.
            message, worker.unsent = worker.unsent, None
            self._write(worker, message)
        job = batch.job
        if job.outstanding.pop(batch.id, None) is None:
            return True  # the job was cancelled or finished meanwhile
        try:
            _, results, error, elapsed, cancelled = self._cerial.deserialize(data, key=self._key)
        except Exception as exc:  # e.g. a result whose class cannot be loaded in this process
            exc.add_note(
                f"the results of items {batch.indices[0]}-{batch.indices[-1]} could not be "
                f"loaded in the calling process"
            )
            job.fail(batch.indices[0], exc)
            self._check_finished(job)
            return True
        if cancelled:
            return True
        job.record_timing(len(results) + (error is not None), elapsed, len(data))
        job.add_results(batch.indices, results)
        if error is None and len(results) < len(batch.items):
            # A probe that spent its budget: the items it did not run go out again first.
            done = len(results)
            job.redo.extendleft(reversed(list(zip(batch.indices[done:], batch.items[done:]))))
        if error is not None:
            position, record = error
            job.fail(batch.indices[position], load_exception(record))
        self._check_finished(job)
        return True

    def _on_death(self, worker: _Worker, overdue: ProcessError | None = None) -> None:
        """Hand back or report the batches of a dead ``worker`` and replace it; ``overdue``:
        the error of the Skprocess section the scheduler killed it for."""
        # Replies written just before dying are still in the pipe: take them first.
        try:
            while worker.batches and worker.conn.poll():
                if not self._read_reply(worker):
                    break
        except (EOFError, OSError):
            pass
        if worker not in self._workers:
            return
        worker.proc.join(1.0)
        exitcode = worker.proc.exitcode
        batches, worker.batches, worker.unsent = list(worker.batches), deque(), None
        running_id = int(worker.ctrl[RUNNING])
        for batch in reversed(batches):
            job = batch.job
            if job.outstanding.pop(batch.id, None) is None:
                continue  # cancelled or finished meanwhile
            if batch.id != running_id:  # never started: another worker will run it
                job.redo.extendleft(reversed(list(zip(batch.indices, batch.items))))
                continue
            position = min(max(int(worker.ctrl[POSITION]), 0), len(batch.items) - 1)
            end = min(max(int(worker.ctrl[SLICE_END]), position + 1), len(batch.items))
            name = _signal_name(exitcode)
            how = f"killed by {name}" if name else f"exit code {exitcode}"
            if job.mode == "imap":  # results of earlier items in the batch died with it
                job.redo.extendleft(
                    reversed(list(zip(batch.indices[:position], batch.items[:position])))
                )
            index = batch.indices[position]
            crash: ProcessError = overdue or ProcessCrashError(
                f"a Pool worker died while processing item {index} ({how})",
                exitcode=exitcode,
                signal_name=name,
            )
            if end - position > 1:
                # The worker ran a slice of several items: run them again one at a time to
                # find the one that crashes (items before it in the slice run twice).
                entries = list(zip(batch.indices[position:end], batch.items[position:end]))
                job.isolate(entries, crash)
                continue
            if job.retries_crashes:  # an Skprocess item: a crash costs a life (SPEC 4.1)
                # The batch's other items go out again too: the results of those before it
                # died with the worker (they run twice), those after it never ran.
                rest = list(zip(batch.indices, batch.items))
                del rest[position]
                if job.mode == "imap":
                    rest = rest[position:]  # those before it were queued again above
                job.redo.extendleft(reversed(rest))
                job.retry_crashed(index, batch.items[position], crash)
                continue
            job.fail(index, crash)
        for batch in batches:
            self._check_finished(batch.job)
        self._replace(worker, kill=False)

    def _check_finished(self, job: Job) -> None:
        if job not in self._jobs:
            return
        if job.error_index is not None and job.mode == "imap":
            # Items after the failing one are no longer needed: their workers are replaced.
            limit = job.error_index
            for batch in list(job.outstanding.values()):
                if min(batch.indices, default=limit) > limit:
                    self._cancel_batch(batch, kill=True)
            job.redo = type(job.redo)(entry for entry in job.redo if entry[0] < limit)
        if job.should_finish():
            # After an error, items still running are killed with their workers (SPEC 4.2:
            # the rest of the call is cancelled and the pool is usable at once).
            self._retire(job, kill=job.error is not None)
            job.finish()

    def _retire(self, job: Job, *, kill: bool) -> None:
        """Stop all work of ``job`` and forget it."""
        for batch in list(job.outstanding.values()):
            self._cancel_batch(batch, kill=kill)
        job.redo.clear()
        if job in self._jobs:
            self._jobs.remove(job)
        for worker in self._workers:
            if job.call_id in worker.known_calls:
                worker.known_calls.discard(job.call_id)
                worker.drops.append(job.call_id)

    def _cancel_batch(self, batch: Batch, *, kill: bool) -> None:
        batch.job.outstanding.pop(batch.id, None)
        for worker in list(self._workers):
            if batch not in worker.batches:
                continue
            running = worker.batches[0] is batch
            if kill and running:
                # Its queued batch (another call's, or this one's) is handed back first.
                for other in list(worker.batches)[1:]:
                    if other.job.outstanding.pop(other.id, None) is not None:
                        other.job.redo.extendleft(reversed(list(zip(other.indices, other.items))))
                worker.batches.clear()
                worker.unsent = None
                self._replace(worker, kill=True)
            elif not running and worker.unsent is not None and worker.batches[-1] is batch:
                worker.batches.pop()  # never written: simply forget it
                worker.unsent = None
            else:
                worker.cancel_slot(batch.id)  # the worker skips it before its next item

    def _break(self, error: BaseException) -> None:
        self.broken = error
        for job in list(self._jobs):
            self._retire(job, kill=False)
            job.abandon(error)

    def _shutdown(self, *, kill: bool) -> None:
        closed = PoolClosedError("the Pool was closed while this call was running")
        for job in list(self._jobs):
            self._retire(job, kill=False)
            job.abandon(closed)
        with self._lock:
            self._refusing = True
            pending = list(self._commands)
            self._commands.clear()
        for _command, arg in pending:
            if isinstance(arg, Job):
                arg.abandon(closed)
        self.stopped = True
        workers, self._workers = self._workers, []
        for worker in workers:
            if kill:
                if worker.proc.is_alive():
                    worker.proc.kill()
                continue
            for batch in list(worker.batches)[:2]:
                worker.cancel_slot(batch.id)
            try:
                worker.conn.send_bytes(STOP)
            except OSError:
                pass
        # Drain replies while they exit so that none is stuck writing to a full pipe.
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        alive = {w.proc.sentinel: w for w in workers}
        while alive and not kill:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conns = {w.conn: w for w in alive.values()}
            for obj in wait([*conns, *alive], left):
                if obj in conns:
                    try:
                        conns[obj].conn.recv_bytes()
                    except (EOFError, OSError):
                        pass
                elif obj in alive:
                    del alive[obj]
        for worker in workers:
            self._release(worker, kill=True)

    def _close_wake_pipe(self) -> None:
        with self._lock:
            self._refusing = True
            self.stopped = True
            if self._selector is not None:
                self._selector.close()
                self._selector = None
            for conn in (self._wake_r, self._wake_w):
                PARENT_CONNECTIONS.discard(conn)
                conn.close()
