"""queue.Queue, LifoQueue, PriorityQueue, SimpleQueue: a new queue holding a copy of the items.

The original queue keeps its items. ``SimpleQueue`` offers no way to look at its items, so they
are taken out and put back in the same order; a consumer racing with ``serialize`` may see them
briefly missing. Tasks taken but not yet marked done are not carried: the new queue's
``unfinished_tasks`` counts only the items it holds, so its ``join()`` can return.
"""

from __future__ import annotations

import queue
from typing import Any

_STANDARD = frozenset(
    {"maxsize", "mutex", "not_empty", "not_full", "all_tasks_done", "unfinished_tasks", "queue"}
)


def make_queue(cls: Any, maxsize: int, items: list[Any], extra: dict[str, Any]) -> Any:
    q = cls.__new__(cls)
    queue.Queue.__init__(q, maxsize)
    for item in items:
        q._put(item)
    q.unfinished_tasks = len(items)
    q.__dict__.update(extra)
    return q


def reduce_queue(q: Any) -> Any:
    with q.mutex:
        items = list(q.queue)
    extra = {k: v for k, v in vars(q).items() if k not in _STANDARD}
    return make_queue, (type(q), q.maxsize, items, extra)


def make_simple_queue(cls: Any, items: list[Any]) -> Any:
    q = cls()
    for item in items:
        q.put(item)
    return q


def reduce_simple_queue(q: Any) -> Any:
    items = []
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            break
    for item in items:
        q.put(item)
    return make_simple_queue, (type(q), items)
