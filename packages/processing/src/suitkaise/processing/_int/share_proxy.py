"""Proxies: stand-ins for the live, non-scalar objects that a Share's coordinator owns.

A proxy holds only a client and a path. Every use of it (attribute and item access, method
calls, ``len``, ``in``, iteration, comparison, arithmetic, ``repr``) is one request executed by
the coordinator on the live object, so a proxy never goes stale: ``share.log.append(x)`` appends
to whatever list is at ``share.log`` now.

Results come back by value (``share.log.pop()`` returns the item, ``list(share.log)`` is a
copy); reading an attribute or item that is itself a non-scalar object returns another proxy.

An ``Sktimer`` in a Share gets a :class:`TimerProxy`: ``start()``/``stop()`` and ``TimeThis``
measure in the calling process, and only the finished measurement is sent (``add_time``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from suitkaise.processing._errors import RemoteTraceback, ShareError
from suitkaise.processing._int.share_protocol import (
    ATTR,
    AUGMENT,
    BINARY_OPS,
    CALL,
    DELETE,
    INPLACE_OPS,
    ITEM,
    Path,
    Ref,
    TypeInfo,
    describe,
)
from suitkaise.processing._int.share_usage import usage

if TYPE_CHECKING:
    from suitkaise.processing._int.share_client import ShareClient

# Addresses of the Shares whose coordinator is this process (set by run_coordinator): a proxy
# of such a Share, stored inside one of its values, cannot ask the coordinator (itself).
inside_coordinator: set[Any] = set()  # addresses (str, or a TCP (host, port))


class Proxy:
    """A live object inside a Share, used from any process."""

    __slots__ = ("_sk_client", "_sk_info", "_sk_path")

    def __init__(self, client: ShareClient, path: Path, info: TypeInfo | None) -> None:
        object.__setattr__(self, "_sk_client", client)
        object.__setattr__(self, "_sk_path", path)
        object.__setattr__(self, "_sk_info", info)

    def _sk_apply(self, func: str, *args: Any) -> Any:
        return self._sk_client.apply(self._sk_path, func, args)

    # -- attributes and items -------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_sk_"):
            raise AttributeError(name)
        path = (*self._sk_path, (ATTR, name))
        info = self._sk_info
        if info is not None and name in info.methods:
            return Proxy(self._sk_client, path, None)  # a method: calling it is one request
        return self._sk_client.load(path, usage(sys._getframe(1)))

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_sk_"):
            raise AttributeError(f"{name!r} is reserved by Share proxies")
        self._sk_client.assign((*self._sk_path, (ATTR, name)), value)

    def __delattr__(self, name: str) -> None:
        self._sk_client.request((DELETE, (*self._sk_path, (ATTR, name))))

    def __getitem__(self, key: Any) -> Any:
        return self._sk_client.load((*self._sk_path, (ITEM, key)), usage(sys._getframe(1)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._sk_client.assign((*self._sk_path, (ITEM, key)), value)

    def __delitem__(self, key: Any) -> None:
        self._sk_client.request((DELETE, (*self._sk_path, (ITEM, key))))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        client = self._sk_client
        return client.value(
            (
                CALL,
                self._sk_path,
                tuple(client.arg(a) for a in args),
                {name: client.arg(value) for name, value in kwargs.items()},
            ),
        )

    # -- container protocol and conversions -----------------------------------------------

    def __len__(self) -> int:
        return int(self._sk_apply("len"))

    def __contains__(self, item: Any) -> bool:
        return bool(self._sk_apply("contains", item))

    def __iter__(self) -> Iterator[Any]:
        # One request: a consistent copy of the items at this moment.
        return iter(self._sk_apply("list"))

    def __reversed__(self) -> Iterator[Any]:
        return iter(self._sk_apply("reversed"))

    def __bool__(self) -> bool:
        return bool(self._sk_apply("bool"))

    def __repr__(self) -> str:
        try:
            return str(self._sk_apply("repr"))
        except ShareError as exc:
            if isinstance(exc.__cause__, RemoteTraceback):
                raise  # the object's own repr failed in the coordinator
            # Reprs are shown by debuggers and tracebacks: say what this is instead of raising.
            if self._sk_client.address in inside_coordinator:
                return f"<Share proxy {describe(self._sk_path)} (stored inside the Share)>"
            return f"<Share proxy {describe(self._sk_path)} (coordinator not running)>"

    def __str__(self) -> str:
        return str(self._sk_apply("str"))

    def __format__(self, spec: str) -> str:
        return str(self._sk_apply("format", spec))

    def __hash__(self) -> int:
        return int(self._sk_apply("hash"))

    def __int__(self) -> int:
        return int(self._sk_apply("int"))

    def __float__(self) -> float:
        return float(self._sk_apply("float"))

    def __complex__(self) -> complex:
        return complex(self._sk_apply("complex"))

    def __index__(self) -> int:
        return int(self._sk_apply("index"))

    # -- comparisons ----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return self._sk_apply("eq", other)  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> bool:
        return self._sk_apply("ne", other)  # type: ignore[no-any-return]

    def __lt__(self, other: Any) -> Any:
        return self._sk_apply("lt", other)

    def __le__(self, other: Any) -> Any:
        return self._sk_apply("le", other)

    def __gt__(self, other: Any) -> Any:
        return self._sk_apply("gt", other)

    def __ge__(self, other: Any) -> Any:
        return self._sk_apply("ge", other)

    # -- unary operators ------------------------------------------------------------------

    def __neg__(self) -> Any:
        return self._sk_apply("neg")

    def __pos__(self) -> Any:
        return self._sk_apply("pos")

    def __abs__(self) -> Any:
        return self._sk_apply("abs")

    def __invert__(self) -> Any:
        return self._sk_apply("invert")

    # -- pickling ---------------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_proxy, (self._sk_client, self._sk_path, self._sk_info))


def _rebuild_proxy(client: ShareClient, path: Path, info: TypeInfo | None) -> Proxy:
    cls = TimerProxy if info is not None and info.is_timer else Proxy
    return cls(client, path, info)


def _binary(func: str) -> Any:
    def method(self: Proxy, other: Any) -> Any:
        return self._sk_apply(func, other)

    return method


def _inplace(op_name: str) -> Any:
    # The whole augmented assignment runs in the coordinator (iop, then store back at the
    # path); the statement's own store of the returned proxy is recognised as a no-op.
    def method(self: Proxy, other: Any) -> Proxy:
        client = self._sk_client
        client.request((AUGMENT, self._sk_path, op_name, client.arg(other)))
        return self

    return method


for _func in BINARY_OPS:
    _name = _func.rstrip("_")  # operator.and_ -> __and__
    setattr(Proxy, f"__{_name}__", _binary(_func))
    setattr(Proxy, f"__r{_name}__", _binary("r" + _func))
for _name in INPLACE_OPS:
    setattr(Proxy, f"__{_name}__", _inplace(_name))
del _name, _func


class TimerProxy(Proxy):
    """An ``Sktimer`` in a Share: timing runs in the caller, measurements land in the Share.

    ``start()``, ``stop()``, ``lap()``, ``pause()``, ``resume()`` and ``discard()`` use a local
    timer of this process (per thread, nested frames, like ``Sktimer``); ``stop()`` and
    ``lap()`` then send the measured time to the shared timer with one ``add_time`` request.
    Statistics, ``add_time``, ``reset`` and every other use are executed by the coordinator.
    """

    __slots__ = ()

    def _sk_local(self) -> Any:
        return self._sk_client.local_timer(self._sk_path)

    def _sk_record(self, seconds: float) -> None:
        self._sk_client.value((CALL, (*self._sk_path, (ATTR, "add_time")), (seconds,), {}))

    def start(self) -> None:
        """Start timing in this process (nested calls time nested regions)."""
        self._sk_local().start()

    def stop(self) -> float:
        """Stop the innermost frame of this thread and record its time in the Share."""
        elapsed = float(self._sk_local().discard())
        self._sk_record(elapsed)
        return elapsed

    def lap(self) -> float:
        """Record the time since ``start()`` (or the last lap) in the Share and keep timing."""
        local = self._sk_local()
        elapsed = float(local.discard())
        local.start()
        self._sk_record(elapsed)
        return elapsed

    def pause(self) -> None:
        """Pause this thread's innermost frame (local)."""
        self._sk_local().pause()

    def resume(self) -> None:
        """Resume this thread's innermost frame (local)."""
        self._sk_local().resume()

    def discard(self) -> float:
        """Stop this thread's innermost frame without recording it; returns its time."""
        return float(self._sk_local().discard())


class _LocalTimers:
    """Per-process local timers of TimerProxy objects, one per Share path."""

    def __init__(self) -> None:
        self._timers: dict[Path, Any] = {}

    def get(self, path: Path) -> Any:
        timer = self._timers.get(path)
        if timer is None:
            from suitkaise.sktime import Sktimer

            # setdefault is atomic: two threads racing here end up with the same timer.
            timer = self._timers.setdefault(path, Sktimer())
        return timer


def make_proxy(client: ShareClient, path: Path, info: TypeInfo) -> Proxy:
    """Return the proxy class that fits ``info`` for the object at ``path``."""
    return (TimerProxy if info.is_timer else Proxy)(client, path, info)


def as_ref(value: Any, client: ShareClient) -> Any:
    """Return a Ref for a proxy of ``client`` (the coordinator uses the live object)."""
    if isinstance(value, Proxy) and value._sk_client is client:
        return Ref(value._sk_path)
    return value
