"""threading primitives: new objects in the same state where that state is meaningful.

- ``Lock``: recreated held if it was held.
- ``RLock``: recreated held with the same recursion count, owned by the thread that
  deserializes it (the original owner thread does not exist on the receiving side).
- ``Semaphore``/``BoundedSemaphore``: same value (and initial value).
- ``Event``: same ``is_set()``.
- ``Condition``: a new condition around the (recreated) lock; waiters are not carried.
- ``Barrier``: same parties, action and timeout; a fresh, unbroken barrier.
- ``threading.local``: the attributes visible to the serializing thread, set for the
  deserializing thread.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_COUNT = re.compile(r"count=(\d+)")


def make_lock(locked: bool) -> Any:
    lock = threading.Lock()
    if locked:
        lock.acquire()
    return lock


def reduce_lock(lock: Any) -> Any:
    return make_lock, (lock.locked(),)


def make_rlock(count: int) -> Any:
    lock = threading.RLock()
    for _ in range(count):
        lock.acquire()
    return lock


def _rlock_count(lock: Any) -> int:
    m = _COUNT.search(repr(lock))
    if m is not None:
        return int(m.group(1))
    count = getattr(lock, "_count", None)  # pure-Python RLock
    return int(count) if count is not None else 0


def reduce_rlock(lock: Any) -> Any:
    return make_rlock, (_rlock_count(lock),)


def make_semaphore(cls: Any, value: int, initial: int) -> Any:
    sem = cls.__new__(cls)
    threading.Semaphore.__init__(sem, value)
    if isinstance(sem, threading.BoundedSemaphore):
        sem._initial_value = initial  # type: ignore[attr-defined]
    return sem


def reduce_semaphore(sem: Any) -> Any:
    with sem._cond:
        value = sem._value
    return make_semaphore, (type(sem), value, getattr(sem, "_initial_value", value))


def make_event(is_set: bool) -> threading.Event:
    ev = threading.Event()
    if is_set:
        ev.set()
    return ev


def reduce_event(ev: threading.Event) -> Any:
    return make_event, (ev.is_set(),)


def make_condition(lock: Any) -> threading.Condition:
    return threading.Condition(lock)


def reduce_condition(cond: threading.Condition) -> Any:
    return make_condition, (cond._lock,)  # type: ignore[attr-defined]


def make_barrier(parties: int, action: Any, timeout: float | None) -> threading.Barrier:
    return threading.Barrier(parties, action, timeout)


def reduce_barrier(b: threading.Barrier) -> Any:
    return make_barrier, (b.parties, b._action, b._timeout)  # type: ignore[attr-defined]


def make_local(cls: Any, attrs: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


def reduce_local(obj: Any) -> Any:
    return make_local, (type(obj), dict(obj.__dict__))
