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

Batch sizing: start with one item per batch, then aim for ``TARGET_BATCH_SECONDS`` of work per
batch from the measured time per item (growth capped at ``GROWTH`` per reply so that one fast
item cannot hide slow ones), keep a batch's payload under ``MAX_BATCH_BYTES``, and when the
input's length is known never take more than an even share of what is left (so the last
batches spread over every worker instead of one worker finishing alone).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

TARGET_BATCH_SECONDS = 0.02
GROWTH = 16
MAX_BATCH = 8192
MAX_BATCH_BYTES = 8 * 1024 * 1024

MODES = ("map", "unordered_map", "imap", "unordered_imap")


class Batch:
    """Items of one job sent to one worker in one message."""

    __slots__ = ("id", "indices", "items", "job")

    def __init__(self, batch_id: int, job: Job, indices: range | list[int], items: list[Any]):
        self.id = batch_id
        self.job = job
        self.indices = indices
        self.items = items


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
        total: int | None,
        workers: int,
        progress: Any = None,
    ) -> None:
        self.call_id = call_id
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
        self.pulled = 0
        self.exhausted = False
        self.redo: deque[tuple[int, Any]] = deque()
        self.outstanding: dict[int, Batch] = {}
        self.batch_size = 1
        self._seconds_per_item: float | None = None
        self._bytes_per_item = 0.0

        # output side (guarded by cond)
        self.chunks: list[tuple[range | list[int], list[Any]]] = []
        self.buffer: dict[int, Any] = {}
        self.queue: deque[Any] = deque()
        self.delivered = 0  # results handed to the caller (streaming) or stored (lists)
        self.error: BaseException | None = None
        self.error_index: int | None = None
        self.finished = False  # no further result will be added
        self.blocked = False  # the scheduler is waiting for the caller to consume results

    # -- input (scheduler thread) -------------------------------------------------------------

    def window(self) -> int:
        """How many items may be pulled but not yet consumed by a streaming caller."""
        return max(8 * self.workers, 4 * self.workers * self.batch_size)

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

    def next_size(self) -> int:
        size = self.batch_size
        if self.total is not None:
            left = self.total - self.pulled
            size = min(size, max(1, math.ceil(left / self.workers)))
        return max(1, size)

    def take(self) -> tuple[range | list[int], list[Any]]:
        """Pull the next batch of items (redone items first). May fail the job."""
        size = self.next_size()
        if self.redo:
            taken = [self.redo.popleft() for _ in range(min(size, len(self.redo)))]
            return [i for i, _ in taken], [item for _, item in taken]
        start = self.pulled
        try:
            items = list(itertools.islice(self._source, size))
        except BaseException as exc:
            # The caller's own iterable raised: report it as the error of the next item.
            exc.add_note(f"raised by the input iterable while producing item {start}")
            self.exhausted = True
            self.fail(start, exc, remote=False)
            return range(start, start), []
        self.pulled += len(items)
        if len(items) < size:
            self.exhausted = True
            self._source = iter(())
        return range(start, self.pulled), items

    def record_timing(self, items: int, seconds: float, nbytes: int) -> None:
        if items <= 0:
            return
        per_item = seconds / items
        if self._seconds_per_item is None:
            self._seconds_per_item = per_item
        else:  # follow changes in item cost without jumping on one noisy batch
            self._seconds_per_item = 0.5 * self._seconds_per_item + 0.5 * per_item
        self._bytes_per_item = max(self._bytes_per_item * 0.5, nbytes / items)
        want = TARGET_BATCH_SECONDS / max(self._seconds_per_item, 1e-7)
        if self._bytes_per_item > 0:
            want = min(want, MAX_BATCH_BYTES / self._bytes_per_item)
        want = min(want, self.batch_size * GROWTH, MAX_BATCH)
        self.batch_size = max(1, int(want))

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
            self.cond.notify_all()
        if self.progress is not None:
            self.progress.update(len(values))

    def fail(self, index: int, exc: BaseException, *, remote: bool = True) -> None:
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

    # -- caller side ----------------------------------------------------------------------------

    def result_list(self) -> list[Any]:
        """The final list of a ``map``/``unordered_map`` job (caller thread, job finished)."""
        if self.mode == "unordered_map":
            return list(self.queue)
        out: list[Any] = [None] * self.delivered
        for indices, values in self.chunks:
            if isinstance(indices, range) and indices.step == 1:
                out[indices.start : indices.stop] = values
            else:
                for index, value in zip(indices, values):
                    out[index] = value
        return out
