"""``Pool``: a persistent pool of worker processes with map/imap, modifiers and crash safety.

Data flow::

    pool.map(fn, items)                          (caller thread)
      └─ Job(fn serialized once, items iterator) ──► PoolRuntime scheduler thread
                                                       ├─ batches ──► worker processes
                                                       └─ results ──► Job ──► caller

Guarantees: workers start on first use and are reused across calls; the function is sent to
each worker once per call; inputs are pulled lazily with bounded look-ahead; a failing item
raises its original exception (remote traceback as ``__cause__``, ``item_index`` attribute);
a crashed worker is replaced and its item raises ``ProcessCrashError``; a timeout raises
``ResultTimeoutError`` and replaces the workers that were running the call. The pool stays
usable after any of these.

Non-goals: priorities between concurrent calls; sharing workers between pools.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import secrets
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from suitkaise.processing._errors import ResultTimeoutError
from suitkaise.processing._int.modifiers import Modifiable
from suitkaise.processing._int.pool_jobs import Job
from suitkaise.processing._int.pool_runtime import PoolRuntime

if TYPE_CHECKING:
    from suitkaise.processing._int.cluster_client import ClusterConnection
    from suitkaise.processing._int.cluster_runtime import ClusterRuntime

__all__ = ["Pool"]


class _RuntimeHolder:
    """Owns the runtime so that a finalizer can stop it without keeping the Pool alive."""

    def __init__(self) -> None:
        self.runtime: PoolRuntime | ClusterRuntime | None = None
        self.cluster: ClusterConnection | None = None  # Pool(cluster=...): its dask Client
        self.closed = False
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def shutdown(self, kill: bool) -> None:
        if os.getpid() != self.pid:
            return  # a forked copy: the workers and the scheduler belong to the parent
        with self.lock:
            self.closed = True
            runtime, self.runtime = self.runtime, None
        if runtime is not None:
            runtime.stop(kill=kill)
        if self.cluster is not None:
            self.cluster.close()


class Pool:
    """A pool of persistent worker processes.

    Workers start on first use, are reused by every later call, and are released by
    :meth:`close`, :meth:`terminate`, leaving a ``with`` block, garbage collection of the pool,
    or interpreter exit.

    Every method is a modifiable call: ``pool.map(fn, items)``, and also
    ``pool.map.timeout(s)``, ``.background()``, ``.asynced()`` and ``.progress(desc=None)``,
    chained in any order; ``pool.star()`` gives the same methods unpacking tuple items.

    Args:
        workers: Number of worker processes; ``None`` means ``os.cpu_count()``.
        start_method: ``"fork"``, ``"forkserver"`` or ``"spawn"``; ``None`` means the
            platform default of ``multiprocessing``.
        cluster: Run on a dask.distributed cluster instead of local processes: a
            ``distributed.Client``, a scheduler address (``"tcp://host:8786"``) or a cluster
            object such as ``LocalCluster``. ``workers`` then limits how many batches run on
            the cluster at once (``None``: the cluster's thread count). Needs
            ``pip install "suitkaise-processing[dask]"``; see the cluster docs page.

    Raises:
        ValueError: ``workers`` is not positive, ``start_method`` is unknown, or both
            ``start_method`` and ``cluster`` are given.
        TypeError: ``workers`` is not an int, or ``cluster`` is of an unknown kind.
        ImportError: ``cluster`` is given but dask.distributed is not installed.

    Examples:
        >>> from suitkaise.processing import Pool
        >>> with Pool(workers=2) as pool:  # doctest: +SKIP
        ...     pool.map(abs, [-1, -2, 3])
        [1, 2, 3]
    """

    def __init__(
        self, workers: int | None = None, *, start_method: str | None = None, cluster: Any = None
    ) -> None:
        asked_workers = workers
        if workers is None:
            workers = os.cpu_count() or 1
        elif isinstance(workers, bool) or not isinstance(workers, int):
            raise TypeError(f"Pool(workers=...) must be an int or None, got {workers!r}")
        elif workers < 1:
            raise ValueError(f"Pool(workers=...) must be at least 1, got {workers}")
        if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"Pool(start_method=...) must be one of "
                f"{multiprocessing.get_all_start_methods()}, got {start_method!r}"
            )
        if cluster is not None and start_method is not None:
            raise ValueError("Pool(start_method=...) does not apply to Pool(cluster=...)")
        connection = None
        if cluster is not None:
            from suitkaise.processing._int.cluster_client import connect

            connection = connect(cluster)
            if asked_workers is None:  # the cluster's thread count, not this machine's cores
                workers = connection.threads()
        self._workers = workers
        self._context = multiprocessing.get_context(start_method)
        self._key = secrets.token_bytes(32)
        self._call_ids = itertools.count(1)
        self._holder = _RuntimeHolder()
        self._holder.cluster = connection
        self._finalizer = weakref.finalize(self, self._holder.shutdown, False)

    # -- properties -----------------------------------------------------------------------------

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self._workers

    @property
    def start_method(self) -> str:
        """The start method the workers use."""
        return str(self._context.get_start_method())

    @property
    def cluster(self) -> str | None:
        """The dask scheduler address of a ``Pool(cluster=...)``, else ``None``."""
        connection = self._holder.cluster
        return None if connection is None else connection.address

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`terminate` was called."""
        return self._holder.closed

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers (empty before first use and after close)."""
        runtime = self._holder.runtime
        return [] if runtime is None else runtime.pids()

    # -- the four methods -----------------------------------------------------------------------

    @property
    def map(self) -> PoolMethod:
        """``map(fn, iterable) -> list``: results in input order.

        Examples:
            >>> squares = pool.map(square, range(10))  # doctest: +SKIP
        """
        return PoolMethod(self, "map", star=False)

    @property
    def unordered_map(self) -> PoolMethod:
        """``unordered_map(fn, iterable) -> list``: results in completion order."""
        return PoolMethod(self, "unordered_map", star=False)

    @property
    def imap(self) -> PoolMethod:
        """``imap(fn, iterable) -> iterator``: results lazily, in input order."""
        return PoolMethod(self, "imap", star=False)

    @property
    def unordered_imap(self) -> PoolMethod:
        """``unordered_imap(fn, iterable) -> iterator``: results lazily, as they complete."""
        return PoolMethod(self, "unordered_imap", star=False)

    def star(self) -> StarPool:
        """The same four methods, calling ``fn(*item)`` for each tuple item.

        Returns:
            A view with ``map``, ``unordered_map``, ``imap`` and ``unordered_imap``.

        Examples:
            >>> pool.star().map(pow, [(2, 3), (3, 2)])  # doctest: +SKIP
            [8, 9]
        """
        return StarPool(self)

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the workers gracefully and release them. Idempotent.

        Workers finish the item they are running (at most a few seconds' grace, then they are
        killed); calls still in progress raise an error. Calling a method afterwards raises
        ``RuntimeError``.
        """
        self._holder.shutdown(kill=False)

    def terminate(self) -> None:
        """Kill the workers at once and release them. Idempotent."""
        self._holder.shutdown(kill=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("running" if self._holder.runtime else "idle")
        if self._holder.cluster is not None:
            return f"<Pool workers={self._workers} cluster={self.cluster!r} {state}>"
        return f"<Pool workers={self._workers} start_method={self.start_method!r} {state}>"

    # -- internals ------------------------------------------------------------------------------

    def _runtime(self) -> PoolRuntime | ClusterRuntime:
        holder = self._holder
        if os.getpid() != holder.pid:
            raise RuntimeError(
                "this Pool belongs to the process that created it and cannot be used in a "
                "forked child; create a new Pool there"
            )
        with holder.lock:
            if holder.closed:
                raise RuntimeError("this Pool is closed; create a new Pool to run more work")
            runtime = holder.runtime
            if runtime is not None and runtime.broken is not None:
                error = runtime.broken
                raise RuntimeError(f"this Pool is broken: {error}") from error
            if runtime is None and holder.cluster is not None:
                from suitkaise.processing._int.cluster_runtime import ClusterRuntime

                runtime = holder.runtime = ClusterRuntime(holder.cluster, self._workers, self._key)
            if runtime is None:
                runtime = holder.runtime = PoolRuntime(self._context, self._workers, self._key)
            return runtime

    def _call(
        self,
        mode: str,
        star: bool,
        fn: Callable[..., Any],
        iterable: Iterable[Any],
        *,
        timeout: float | None = None,
        progress: tuple[str | None] | None = None,
    ) -> Any:
        if not callable(fn):
            raise TypeError(
                f"Pool.{mode} needs a function or Skprocess class as its first argument, "
                f"got {type(fn).__name__}: {fn!r}"
            )
        try:
            source = iter(iterable)
        except TypeError:
            raise TypeError(
                f"Pool.{mode} needs an iterable of items as its second argument, "
                f"got {type(iterable).__name__}"
            ) from None
        total = len(iterable) if hasattr(iterable, "__len__") else None  # type: ignore[arg-type]
        if self.closed:
            raise RuntimeError("this Pool is closed; create a new Pool to run more work")
        from suitkaise import cerial

        fn_bytes = bytes(cerial.serialize(fn, key=self._key))
        bar = _progress_bar(progress, total, mode)
        job = Job(
            call_id=next(self._call_ids),
            mode=mode,
            fn_bytes=fn_bytes,
            star=star,
            source=source,
            sequence=iterable if isinstance(iterable, (list, tuple, range)) else None,
            total=total,
            workers=self._workers,
            progress=bar,
            retries_crashes=_is_skprocess_class(fn),
        )
        if total == 0:
            job.exhausted = True
            job.finish()
        else:
            try:
                self._runtime().submit(job)
            except BaseException:
                if bar is not None:
                    bar.close()
                raise
        if job.streaming:
            return ResultIterator(self, job, timeout, bar)
        try:
            return self._wait_list(job, timeout)
        finally:
            if bar is not None:
                bar.close()

    def _wait_list(self, job: Job, timeout: float | None) -> list[Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with job.cond:
                while not job.finished:
                    if deadline is None:
                        job.cond.wait()
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    job.cond.wait(left)
                finished = job.finished
        except BaseException:
            # e.g. Ctrl-C: the caller gave up, so the items running now are not waited for:
            # their workers are replaced (as on a timeout) and the pool stays usable at once.
            self._cancel(job, kill=True, wait_done=False)
            raise
        if not finished:
            self._cancel(job, kill=True, wait_done=True)
            raise ResultTimeoutError(
                f"Pool.{job.mode} did not finish within {timeout} s; its outstanding tasks "
                f"were cancelled",
                timeout=timeout,
            )
        if job.error is not None:
            raise job.error
        return job.result_list()

    def _cancel(self, job: Job, *, kill: bool, wait_done: bool) -> None:
        runtime = self._holder.runtime
        if runtime is not None:
            runtime.cancel(job, kill=kill, wait_done=wait_done)


def _is_skprocess_class(fn: Any) -> bool:
    """Whether ``fn`` is an Skprocess class (its items get lives when a worker crashes)."""
    from suitkaise.processing._process import Skprocess

    return isinstance(fn, type) and issubclass(fn, Skprocess)


def _progress_bar(progress: tuple[str | None] | None, total: int | None, mode: str) -> Any:
    if progress is None:
        return None
    from tqdm import tqdm

    (desc,) = progress
    return tqdm(total=total, desc=desc or f"Pool.{mode}", file=sys.stderr, leave=True)


class PoolMethod(Modifiable[Any]):
    """One of ``Pool.map``/``unordered_map``/``imap``/``unordered_imap``, with modifiers.

    Call it as ``method(fn, iterable)``. Modifiers return a new method and chain in any order:

    * ``.timeout(s)``: ``ResultTimeoutError`` after ``s`` seconds (whole call for the list
      methods, each next result for the iterators).
    * ``.background()``: return a ``concurrent.futures.Future`` at once.
    * ``.asynced()``: return an awaitable (list methods) or an async iterator (iterators).
    * ``.progress(desc=None)``: show a tqdm progress bar on stderr.
    """

    def __init__(self, pool: Pool, mode: str, *, star: bool) -> None:
        def call(
            fn: Callable[..., Any],
            iterable: Iterable[Any],
            *,
            timeout: float | None = None,
            progress: tuple[str | None] | None = None,
        ) -> Any:
            return pool._call(mode, star, fn, iterable, timeout=timeout, progress=progress)

        call.__qualname__ = f"Pool.{'star().' if star else ''}{mode}"
        super().__init__(call, {"progress": None})
        self._mode = mode

    def progress(self, desc: str | None = None) -> PoolMethod:
        """Show a tqdm progress bar on stderr, labelled ``desc``.

        Args:
            desc: Label of the bar; defaults to the method's name.

        Returns:
            A new method with the bar enabled.
        """
        if desc is not None and not isinstance(desc, str):
            raise TypeError(f"progress(desc=...) must be a str or None, got {type(desc).__name__}")
        clone = self._with(progress=(desc,))
        assert isinstance(clone, PoolMethod)
        return clone

    def timeout(self, seconds: float) -> PoolMethod:
        """Raise ``ResultTimeoutError`` after ``seconds`` (per result for the iterators)."""
        clone = super().timeout(seconds)
        assert isinstance(clone, PoolMethod)
        return clone

    def background(self) -> PoolMethod:
        """Return a ``concurrent.futures.Future`` at once (of the list, or of the iterator)."""
        clone = super().background()
        assert isinstance(clone, PoolMethod)
        return clone

    def asynced(self) -> PoolMethod:
        """Return an awaitable (list methods) or an async iterator (``imap`` methods)."""
        clone = super().asynced()
        assert isinstance(clone, PoolMethod)
        return clone

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._options["asynced"] and self._mode in ("imap", "unordered_imap"):
            return AsyncResultIterator(lambda: self._blocking_call(*args, **kwargs))
        return super().__call__(*args, **kwargs)


class StarPool:
    """``pool.star()``: the four methods, unpacking each tuple item as positional arguments."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @property
    def map(self) -> PoolMethod:
        """``map(fn, tuples) -> list`` calling ``fn(*item)``, in input order."""
        return PoolMethod(self._pool, "map", star=True)

    @property
    def unordered_map(self) -> PoolMethod:
        """``unordered_map(fn, tuples) -> list`` calling ``fn(*item)``, completion order."""
        return PoolMethod(self._pool, "unordered_map", star=True)

    @property
    def imap(self) -> PoolMethod:
        """``imap(fn, tuples) -> iterator`` calling ``fn(*item)``, input order."""
        return PoolMethod(self._pool, "imap", star=True)

    @property
    def unordered_imap(self) -> PoolMethod:
        """``unordered_imap(fn, tuples) -> iterator`` calling ``fn(*item)``, completion order."""
        return PoolMethod(self._pool, "unordered_imap", star=True)


class ResultIterator(Iterator[Any]):
    """The iterator returned by ``imap``/``unordered_imap``.

    Work starts when the method is called; results are produced lazily with bounded look-ahead.
    Closing the iterator (or dropping it) cancels the rest of the call.
    """

    def __init__(self, pool: Pool, job: Job, timeout: float | None, bar: Any) -> None:
        self._pool = pool  # keeps the pool alive while results are being read
        self._job = job
        self._timeout = timeout
        self._bar = bar
        self._next_index = 0
        self._done = False

    def __iter__(self) -> ResultIterator:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        job = self._job
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        try:
            with job.cond:
                while True:
                    ready, value = self._take()
                    if ready:
                        wake, job.blocked = job.blocked, False
                        break
                    error = self._error_now()
                    if error is not None or job.finished:
                        self._finish()
                        if error is not None:
                            raise error
                        raise StopIteration
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    job.waiting = True
                    try:
                        job.cond.wait(left)
                    finally:
                        job.waiting = False
        except StopIteration:
            raise
        except Exception:
            self.close()
            raise
        except BaseException:  # e.g. Ctrl-C while waiting: replace the workers, as above
            if not job.finished:
                self._pool._cancel(job, kill=True, wait_done=False)
            self._finish()
            raise
        if not ready:
            self._pool._cancel(job, kill=True, wait_done=True)
            self._finish()
            raise ResultTimeoutError(
                f"Pool.{job.mode} produced no result within {self._timeout} s; its outstanding "
                f"tasks were cancelled",
                timeout=self._timeout,
            )
        if wake:
            runtime = self._pool._holder.runtime
            if runtime is not None:
                runtime.wake()
        return value

    def _take(self) -> tuple[bool, Any]:
        job = self._job
        if job.mode == "imap":
            if self._next_index in job.buffer:
                value = job.buffer.pop(self._next_index)
                self._next_index += 1
                job.delivered += 1
                return True, value
        elif job.queue:
            job.delivered += 1
            return True, job.queue.popleft()
        return False, None

    def _error_now(self) -> BaseException | None:
        """The error to raise now: imap raises it when the failing item's turn comes."""
        job = self._job
        if job.error is None:
            return None
        if job.mode == "imap" and not job.finished and job.error_index != self._next_index:
            return None
        return job.error

    def _finish(self) -> None:
        self._done = True
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        """Cancel the rest of the call (results not yet read are dropped)."""
        if not self._job.finished:
            self._pool._cancel(self._job, kill=False, wait_done=False)
        self._finish()

    def __enter__(self) -> ResultIterator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._done:
                self.close()
        except Exception:  # never raise from a finalizer (interpreter shutdown)
            pass


_END = object()


class AsyncResultIterator(AsyncIterator[Any]):
    """``imap.asynced()``: an async iterator; each result is awaited in a worker thread."""

    def __init__(self, start: Callable[[], ResultIterator]) -> None:
        self._start = start
        self._iterator: ResultIterator | None = None

    def __aiter__(self) -> AsyncResultIterator:
        return self

    async def __anext__(self) -> Any:
        import asyncio

        if self._iterator is None:
            self._iterator = await asyncio.to_thread(self._start)
        value = await asyncio.to_thread(next, self._iterator, _END)
        if value is _END:
            raise StopAsyncIteration
        return value

    async def aclose(self) -> None:
        """Cancel the rest of the call."""
        if self._iterator is not None:
            self._iterator.close()


# Only Pool is exported; the helper types it returns keep their real module, so that their
# qualified names resolve.
Pool.__module__ = "suitkaise.processing"
