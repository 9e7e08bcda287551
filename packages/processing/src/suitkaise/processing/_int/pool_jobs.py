"""One ``Pool`` call (a *job*): its input, its results, and how big its next batch should be.

A job is written to by the scheduler thread and read by the caller's thread; every shared field
is guarded by ``job.cond``. The four methods differ only in how results are kept and handed over:

====================  ==================================  =====================================
mode                  results kept as                     first error
====================  ==================================  =====================================
``map``               chunks, assembled in input order    ends the call at once
``unordered_map``     a list in completion order          ends the call at once
``imap``              index -> value until yielded        raised when its turn comes
``unordered_imap``    a queue in completion order         raised after what had already arrived
====================  ==================================  =====================================

Batch sizing: until an item's cost is known, a batch holds at most ``FIRST_BATCH`` items (one
for the iterator methods, whose first result should come as soon as it can). A list call on a
sequence, run by workers that end a batch early (the local pool), sends *probes* instead: one
per worker, each an even share (``len / workers`` items, at most ``MAX_BATCH`` and
``PROBE_BYTES`` of input), which a worker ends after ``PROBE_SECONDS`` of work or
``PROBE_BYTES`` of results; the parent re-sends the items a probe did not run. Cheap items thus
need no measuring round trip and as few messages as can be (each one wakes a process, costly on
a busy machine), and slow or large ones are not piled onto one worker.

After that, when the input's length is known, a batch takes half an even share of what is
left (guided self-scheduling: large batches first, one item at the end, so that the workers finish
together; a batch queued behind a running one takes half of that); for an input of unknown
length it takes as much as fits in ``MAX_BATCH_SECONDS``. Either way a batch holds at least
``MIN_BATCH_SECONDS`` of work (a round trip costs ~0.1-0.5 ms, more on a loaded machine)
unless that is more than evens out the items queued on the workers, at most
``MAX_BATCH_SECONDS`` of work and ``MAX_BATCH_BYTES`` of reply; for an input of unknown
length it also grows at most ``GROWTH``-fold per reply, so that cheap first items cannot hide
expensive ones for long (a known length bounds each batch by its share instead, as chunking
does).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

MIN_BATCH_SECONDS = 0.0005
#: A probe (a batch sent before an item's cost is known, to workers that stop early) ends after
#: this much work or this many result bytes; the parent re-sends what it did not run.
PROBE_SECONDS = 0.005
PROBE_BYTES = 1024 * 1024
MAX_BATCH_SECONDS = 0.25
MAX_QUEUED_SECONDS = 0.5
GROWTH = 64
FIRST_BATCH = 16
MAX_BATCH = 8192
MAX_BATCH_BYTES = 1024 * 1024

MODES = ("map", "unordered_map", "imap", "unordered_imap")


class Batch:
    """Items of one job sent to one worker in one message."""

    __slots__ = ("id", "indices", "items", "job", "nbytes")

    def __init__(
        self, batch_id: int, job: Job, indices: range | list[int], items: Sequence[Any]
    ) -> None:
        self.id = batch_id
        self.job = job
        self.indices = indices
        self.items = items
        self.nbytes = 0  # size of its message


class Job:
    """The state of one call to ``map``/``unordered_map``/``imap``/``unordered_imap``."""

    def __init__(
        self,
        *,
        call_id: int,
        mode: str,
        fn_bytes: bytes,
        star: bool,
        source: Iterator[Any],
        sequence: list[Any] | tuple[Any, ...] | range | None = None,
        total: int | None,
        workers: int,
        progress: Any = None,
        retries_crashes: bool = False,
    ) -> None:
        self.call_id = call_id
        # Skprocess classes: an item whose worker dies is sent again (lives, SPEC 4.1).
        self.retries_crashes = retries_crashes
        self.mode = mode
        self.fn_bytes = fn_bytes
        self.star = star
        self.total = total
        self.workers = workers
        self.progress = progress
        self.ordered = mode in ("map", "imap")
        self.streaming = mode in ("imap", "unordered_imap")
        self.cond = threading.Condition()
        self.cancel_done = threading.Event()

        # input side (scheduler thread only)
        self._source = source
        self._sequence = sequence
        self.pulled = 0
        self.exhausted = False
        self.redo: deque[tuple[int, Any]] = deque()
        # Items that must run alone, to find which one of a slice crashed its worker, and the
        # crash to report if none of them crashes again (see PoolRuntime._on_death).
        self.isolating: set[int] = set()
        self.pending_crash: tuple[int, BaseException] | None = None
        self.outstanding: dict[int, Batch] = {}
        self._largest = 1  # the largest batch measured so far
        self._seconds_per_item: float | None = None
        self._bytes_per_item = 0.0
        # Set by a runtime whose workers end a budgeted batch early (see probe_budget()).
        self.stops_early = False
        self._item_bytes: float | None = None  # serialized size of an input item, sampled

        # output side (guarded by cond)
        self.chunks: list[tuple[range | list[int], list[Any]]] = []
        self.buffer: dict[int, Any] = {}
        self.queue: deque[Any] = deque()
        self.delivered = 0  # results handed to the caller (streaming) or stored (lists)
        self.error: BaseException | None = None
        self.error_index: int | None = None
        self.finished = False  # no further result will be added
        self.blocked = False  # the scheduler is waiting for the caller to consume results
        self.waiting = False  # a streaming caller is waiting on cond for the next result

    # -- input (scheduler thread) -------------------------------------------------------------

    def window(self) -> int:
        """How many items may be pulled but not yet consumed by a streaming caller."""
        return max(8 * self.workers, 4 * self.workers * self._largest)

    def wants_dispatch(self) -> bool:
        """Whether the scheduler should send this job's next batch now (scheduler thread)."""
        if self.finished:
            return False
        if self.redo:
            return True
        if self.exhausted or self.error is not None:
            return False
        if self.streaming:
            with self.cond:
                if self.pulled - self.delivered >= self.window():
                    self.blocked = True
                    return False
        return True

    @property
    def has_sequence(self) -> bool:
        """Whether the input is a list, tuple or range (items are sliced, no caller code runs)."""
        return self._sequence is not None

    def probing(self) -> bool:
        """Whether batches are sized as probes: the item cost is unknown, the workers stop
        a probe early, and the input is a sequence of known length (a list call)."""
        return (
            self._seconds_per_item is None
            and self.stops_early
            and self._sequence is not None
            and not self.streaming
        )

    def probe_budget(self) -> tuple[float, int] | None:
        """The (seconds, result bytes) budget of the next batch, or None (scheduler)."""
        return (PROBE_SECONDS, PROBE_BYTES) if self.probing() else None

    def probe_sample(self) -> Sequence[Any] | None:
        """A few items to serialize once, to size probes in bytes; None once known."""
        if not self.probing() or self._item_bytes is not None or self._sequence is None:
            return None
        sample = self._sequence[self.pulled : self.pulled + FIRST_BATCH]
        if not sample:
            return None
        return sample

    def set_item_bytes(self, nbytes: float) -> None:
        self._item_bytes = max(nbytes, 1.0)

    def queueable(self) -> bool:
        """Whether a batch may wait behind another on a busy worker: only short ones, so
        that queueing saves round trips without leaving a worker idle at the end."""
        if self._seconds_per_item is None:
            return False
        return self._seconds_per_item * self.next_size(queued=True) <= MAX_QUEUED_SECONDS

    def next_size(self, *, queued: bool = False, share: int | None = None) -> int:
        """Items in the next batch; ``share``: how many would even out the workers' queued
        items (default: an even share of what is left)."""
        # Items still to send: not yet pulled, plus those to send again (e.g. a probe's rest).
        left = None if self.total is None else self.total - self.pulled + len(self.redo)
        guided = MAX_BATCH if left is None else math.ceil(left / (2 * self.workers))
        if self._seconds_per_item is None:
            if self.streaming:  # iterators: the first result as soon as it can come
                return 1
            cap = FIRST_BATCH
            if self.probing() and self._item_bytes is not None and self.total is not None:
                # A probe ends early if items are slow: it can be a worker's whole share.
                cap = max(cap, math.ceil(self.total / self.workers))
                cap = min(cap, MAX_BATCH, int(PROBE_BYTES / self._item_bytes))
                return max(1, min(self.total - self.pulled, cap))
            return max(1, min(guided, cap))
        per_item = max(self._seconds_per_item, 1e-7)
        size = guided if not queued else max(1, guided // 2)
        # At least MIN_BATCH_SECONDS of work, so round trips stay a small part of the time
        # (for tiny items this wins over the guided share: the imbalance is that small), but
        # no more than evens out the workers, so that tiny items still keep them all busy.
        floor = int(MIN_BATCH_SECONDS / per_item)
        if left is not None:
            floor = min(floor, math.ceil(left / self.workers) if share is None else share)
        size = max(size, floor)
        size = min(size, int(MAX_BATCH_SECONDS / per_item))
        if self._bytes_per_item > 0:
            size = min(size, int(MAX_BATCH_BYTES / self._bytes_per_item))
        size = min(size, MAX_BATCH)
        if left is None:
            size = min(size, self._largest * GROWTH)
        else:  # a known length bounds every batch by its share already (as chunking does)
            size = min(size, left)
        return max(1, size)

    def take(
        self, *, queued: bool = False, share: int | None = None
    ) -> tuple[range | list[int], Sequence[Any]]:
        """Pull the next batch of items (redone items first). May fail the job."""
        size = self.next_size(queued=queued, share=share)
        if self.redo and self.redo[0][0] in self.isolating:
            index, item = self.redo.popleft()
            return [index], [item]
        if self.redo:
            taken: list[tuple[int, Any]] = []
            while self.redo and len(taken) < size and self.redo[0][0] not in self.isolating:
                taken.append(self.redo.popleft())
            return [i for i, _ in taken], [item for _, item in taken]
        start = self.pulled
        if self._sequence is not None:
            # list/tuple slices are C-speed copies; a range slice is a range (sent in O(1))
            items = self._sequence[start : start + size]
            self.pulled += len(items)
            if self.pulled >= len(self._sequence):
                self.exhausted = True
            return range(start, self.pulled), items
        pulled: list[Any] = []
        append = pulled.append
        try:
            for item in itertools.islice(self._source, size):
                append(item)
        except BaseException as exc:
            # The caller's own iterable raised: it is the error of the item it failed to produce.
            index = start + len(pulled)
            exc.add_note(f"raised by the input iterable while producing item {index}")
            self.exhausted = True
            self.pulled += len(pulled)
            self.fail(index, exc)
            return range(start, self.pulled), pulled
        self.pulled += len(pulled)
        if len(pulled) < size:
            self.exhausted = True
            self._source = iter(())
        return range(start, self.pulled), pulled

    def record_timing(self, items: int, seconds: float, nbytes: int) -> None:
        if items <= 0:
            return
        per_item = seconds / items
        if self._seconds_per_item is None:
            self._seconds_per_item = per_item
        else:  # follow changes in item cost without jumping on one noisy batch
            self._seconds_per_item = 0.5 * self._seconds_per_item + 0.5 * per_item
        self._bytes_per_item = max(self._bytes_per_item * 0.5, nbytes / items)
        self._largest = max(self._largest, items)

    def isolate(self, entries: list[tuple[int, Any]], crash: BaseException) -> None:
        """Run ``entries`` again one at a time: one of them crashed a worker (scheduler)."""
        self.redo.extendleft(reversed(entries))
        self.isolating.update(index for index, _ in entries)
        if self.pending_crash is None and entries:
            self.pending_crash = (entries[0][0], crash)

    def retry_crashed(self, index: int, item: Any, crash: BaseException) -> None:
        """Send item ``index`` again, alone, with one more life spent (scheduler thread).

        The crash that isolated its slice is explained by this item: it is not reported.
        """
        from suitkaise.processing._int.pool_worker import CrashRetry

        self.redo.appendleft((index, CrashRetry.after(item, crash)))
        self.isolating.add(index)
        self.pending_crash = None

    def _settle_isolation(self, indices: Sequence[int]) -> None:
        self.isolating.difference_update(indices)
        if not self.isolating and self.pending_crash is not None:
            index, crash = self.pending_crash
            self.pending_crash = None
            crash.add_note(
                "running the items of its slice again one at a time did not crash: "
                "reported at the first of them"
            )
            self.fail(index, crash)

    # -- output (scheduler thread writes, caller reads) ----------------------------------------

    def add_results(self, indices: range | list[int], values: list[Any]) -> None:
        if not values:
            return
        with self.cond:
            if self.finished:
                return
            if self.mode == "map":
                self.chunks.append((indices[: len(values)], values))
                self.delivered += len(values)
            elif self.mode == "unordered_map":
                self.queue.extend(values)
                self.delivered += len(values)
            elif self.mode == "imap":
                limit = self.error_index
                for index, value in zip(indices, values):
                    if limit is None or index < limit:
                        self.buffer[index] = value
            else:
                self.queue.extend(values)
            if self.waiting:  # waking a thread costs a GIL hand-off: only when one waits
                self.cond.notify_all()
        if self.progress is not None:
            self.progress.update(len(values))
        if self.isolating:
            self._settle_isolation(indices[: len(values)])

    def fail(self, index: int, exc: BaseException) -> None:
        """Record the error of item ``index``; the earliest (imap) or first (others) wins."""
        with self.cond:
            if self.finished:
                return
            if self.error_index is not None and (not self.ordered or index >= self.error_index):
                return
            if self.mode == "imap":
                for late in [i for i in self.buffer if i > index]:
                    del self.buffer[late]
            try:
                exc.item_index = index  # type: ignore[attr-defined]
                exc.add_note(f"raised while processing item {index} of Pool.{self.mode}")
            except (AttributeError, TypeError):  # an exception type that refuses attributes
                pass
            self.error = exc
            self.error_index = index
            if self.waiting:
                self.cond.notify_all()

    def imap_settled(self) -> bool:
        """For ``imap`` after an error: no result before the failing item is still to come."""
        limit = self.error_index if self.error_index is not None else math.inf
        if any(i < limit for i, _ in self.redo):
            return False
        return not any(
            min(batch.indices, default=math.inf) < limit for batch in self.outstanding.values()
        )

    def should_finish(self) -> bool:
        """Whether every result this job will ever have has arrived (scheduler thread)."""
        if self.error is not None:
            return not self.ordered or self.mode == "map" or self.imap_settled()
        return self.exhausted and not self.outstanding and not self.redo

    def finish(self, error: BaseException | None = None) -> None:
        with self.cond:
            if self.finished:
                return
            if error is not None and self.error is None:
                self.error = error
            self.finished = True
            self.cond.notify_all()

    def abandon(self, error: BaseException) -> None:
        """End the job with ``error`` and wake a caller waiting for its cancellation."""
        self.finish(error)
        self.cancel_done.set()

    # -- caller side ----------------------------------------------------------------------------

    def result_list(self) -> list[Any]:
        """The final list of a ``map``/``unordered_map`` job (caller thread, job finished)."""
        if self.mode == "unordered_map":
            return list(self.queue)
        # The usual case, consecutive slices: joining them costs half as much as placing
        # each value.
        joined: list[Any] = []
        for indices, values in sorted(self.chunks, key=lambda chunk: chunk[0][0]):
            if not isinstance(indices, range) or indices.step != 1 or indices.start != len(joined):
                break
            joined += values
        else:
            return joined
        out: list[Any] = [None] * self.delivered
        for indices, values in self.chunks:
            if isinstance(indices, range) and indices.step == 1:
                out[indices.start : indices.stop] = values
            else:
                for index, value in zip(indices, values):
                    out[index] = value
        return out
