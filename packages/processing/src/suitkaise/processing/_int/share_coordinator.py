"""The Share coordinator: the one process that owns the live objects of a Share.

Data flow::

    client thread --request--> [AF_UNIX socket, authkey] --> coordinator thread for that connection
                                                                 |  check signature, decode
                                                                 |  wait while another client holds
                                                                 |  share.lock(), then take the lock
                                                                 v
                                                          execute on the live object
                                                                 |  encode the reply under the lock
    client thread <--reply--------------------------------------+

Guarantees: every operation runs under one lock, so operations form one global order and each
one is atomic (an augmented assignment reads, applies and stores back in one step). A reply is
sent only after the operation has completed, so a client never sees an older state than one it
already observed (read-your-writes, across processes). A client that disconnects mid-operation
(killed) costs the coordinator nothing but that connection; a ``share.lock()`` it held is
released.

Non-goals: methods that block (``queue.Queue.get()`` on an empty queue) block every client,
because they run under the coordinator's lock; the coordinator does not time user code.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import reprlib
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Listener
from typing import Any

from suitkaise.processing._int.remote_errors import dump_exception
from suitkaise.processing._int.share_codec import decode, encode
from suitkaise.processing._int.share_protocol import (
    APPLY,
    ATTR,
    AUGMENT,
    BINARY_OPS,
    CALL,
    COMPARISONS,
    DELETE,
    DONE,
    ERROR,
    GET,
    INPLACE_OPS,
    ITEM,
    LOCK,
    NAMES,
    REF,
    REPR,
    SET,
    SET_REF,
    SNAPSHOT,
    STOP,
    UNLOCK,
    VALUE,
    Path,
    Ref,
    Step,
    TypeInfo,
)
from suitkaise.processing._int.share_transport import FAMILY, Address, Channel, family_of

# Values of these types (and their subclasses: enums, numpy.float64) are returned by value:
# they are immutable, so a copy behaves exactly like the shared value. So are tuples and
# frozensets made only of such values; everything else, including a tuple that holds a list,
# is returned as a proxy to the live object (a copy would lose writes to what it holds).
_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})
_ATOM_BASES = (int, float, complex, str, bytes)
_NESTING_BY_VALUE = 8  # deeper tuples are proxies: the check stays bounded


def _by_value(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is immutable all the way down, so that a copy is as good."""
    if type(value) in _ATOMS:
        return True
    if isinstance(value, (tuple, frozenset)):
        return depth < _NESTING_BY_VALUE and all(_by_value(v, depth + 1) for v in value)
    return isinstance(value, _ATOM_BASES)


def _reflected(func: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda obj, other: func(other, obj)


# Functions a client may ask the coordinator to APPLY to a live object; everything here is
# side-effect free on the Share except through the object's own dunder methods.
_APPLY_FUNCS: dict[str, Callable[..., Any]] = {
    "value": lambda obj: obj,
    "len": len,
    "repr": repr,
    "str": str,
    "bool": bool,
    "hash": hash,
    "format": format,
    "list": list,
    "reversed": lambda obj: list(reversed(obj)),
    "contains": operator.contains,
    "int": int,
    "float": float,
    "index": operator.index,
    "complex": complex,
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
}
for _name in COMPARISONS:
    _APPLY_FUNCS[_name] = getattr(operator, _name)
for _name in BINARY_OPS:
    _APPLY_FUNCS[_name] = getattr(operator, _name)
    _APPLY_FUNCS["r" + _name] = _reflected(getattr(operator, _name))
del _name

_INPLACE_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(operator, name) for name in INPLACE_OPS
}
_DONE = (DONE,)

_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = _SHORT.maxdict = 10
_SHORT.maxstring = _SHORT.maxother = 80


class _Client:
    """What the coordinator remembers about one connection (one client thread)."""

    __slots__ = ("seen_types", "stop_requested")

    def __init__(self) -> None:
        self.seen_types: set[int] = set()
        self.stop_requested = False


class Coordinator:
    """The live objects of one Share and the operations on them."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.root: dict[str, Any] = {}
        self._cond = threading.Condition(threading.Lock())
        self._owner: _Client | None = None  # the client holding share.lock()
        self._depth = 0
        self._types: dict[type, tuple[int, TypeInfo]] = {}
        self.stopped = threading.Event()
        self._handlers: dict[int, Callable[[tuple[Any, ...], _Client], tuple[Any, ...]]] = {
            GET: self._op_get,
            SET: self._op_set,
            SET_REF: self._op_set_ref,
            DELETE: self._op_delete,
            CALL: self._op_call,
            APPLY: self._op_apply,
            AUGMENT: self._op_augment,
            SNAPSHOT: self._op_snapshot,
            REPR: self._op_repr,
            NAMES: self._op_names,
        }
        self._done_reply = encode(_DONE, key)  # the most common reply, encoded once

    # -- connections ----------------------------------------------------------------------

    def serve(self, conn: Connection) -> None:
        """Answer one connection's requests until it closes (runs in its own thread)."""
        client = _Client()
        chan = Channel(conn)
        try:
            while True:
                data = chan.recv()
                chan.send(self.handle(data, client))
                if client.stop_requested:
                    self.stopped.set()
                    return
        except (EOFError, OSError):
            pass  # the client went away (exited, was killed, or closed the connection)
        finally:
            self._forget(client)
            chan.close()

    def _forget(self, client: _Client) -> None:
        with self._cond:
            if self._owner is client:
                self._owner = None
                self._depth = 0
                self._cond.notify_all()

    # -- one request ----------------------------------------------------------------------

    def handle(self, data: bytes, client: _Client) -> bytes:
        """Decode, execute and encode one request; never raises."""
        try:
            request = decode(data, self._key)
        except BaseException as exc:
            return self._encode((ERROR, dump_exception(exc)))
        op = request[0]
        with self._cond:
            if op == LOCK:
                reply = self._lock(client, request[1])
            elif op == UNLOCK:
                reply = self._unlock(client)
            elif op == STOP:  # never waits for share.lock(): a stuck client must not block it
                client.stop_requested = True
                reply = _DONE
            else:
                while self._owner is not None and self._owner is not client:
                    self._cond.wait()
                try:
                    reply = self._execute(request, client)
                except BaseException as exc:
                    reply = (ERROR, dump_exception(exc))
            # Encoded under the lock: a reply never mixes states from before and after another
            # client's write.
            return self._encode(reply)

    def _encode(self, reply: tuple[Any, ...]) -> bytes:
        if reply is _DONE:
            return self._done_reply
        try:
            return encode(reply, self._key)
        except BaseException as exc:  # e.g. a method returned a generator
            return encode((ERROR, dump_exception(exc)), self._key)

    def _lock(self, client: _Client, timeout: float | None) -> tuple[Any, ...]:
        if not self._cond.wait_for(
            lambda: self._owner is None or self._owner is client, timeout=timeout
        ):
            return (VALUE, False)
        self._owner = client
        self._depth += 1
        return (VALUE, True)

    def _unlock(self, client: _Client) -> tuple[Any, ...]:
        if self._owner is not client:
            return (ERROR, dump_exception(RuntimeError("share.lock() released but not held")))
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._cond.notify_all()
        return _DONE

    def _execute(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        handler = self._handlers.get(request[0])
        if handler is None:
            raise ValueError(f"unknown Share operation {request[0]!r}")
        return handler(request, client)

    def _op_get(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        return self._get(request[1], client)

    def _op_set(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        path: Path = request[1]
        self._set_step(self._resolve(path[:-1]), path[-1], request[2])
        return _DONE

    def _op_set_ref(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        path: Path = request[1]
        value = self._resolve(request[2])
        self._set_step(self._resolve(path[:-1]), path[-1], value)
        return _DONE

    def _op_delete(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        path: Path = request[1]
        self._del_step(self._resolve(path[:-1]), path[-1])
        return _DONE

    def _op_call(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        func = self._resolve(request[1])
        args = [self._deref(a) for a in request[2]]
        kwargs = {k: self._deref(v) for k, v in request[3].items()}
        return (VALUE, func(*args, **kwargs))

    def _op_apply(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        obj = self._resolve(request[1])
        args = [self._deref(a) for a in request[3]]
        return (VALUE, _APPLY_FUNCS[request[2]](obj, *args))

    def _op_augment(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        path: Path = request[1]
        parent = self._resolve(path[:-1])
        current = self._get_step(parent, path[-1])
        inplace = _INPLACE_FUNCS[request[2]]
        self._set_step(parent, path[-1], inplace(current, self._deref(request[3])))
        return _DONE

    def _op_snapshot(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        return (VALUE, dict(self.root))

    def _op_names(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        return (VALUE, list(self.root))

    def _op_repr(self, request: tuple[Any, ...], client: _Client) -> tuple[Any, ...]:
        # Bounded: repr(share) must stay readable (and cheap) when a value is a huge list.
        return (VALUE, {name: _SHORT.repr(value) for name, value in self.root.items()})

    def _get(self, path: Path, client: _Client) -> tuple[Any, ...]:
        parent = self._resolve(path[:-1])
        kind, key = path[-1]
        value = self._get_step(parent, path[-1])
        if _by_value(value):
            return (VALUE, value)
        # A slice computes a new object: it is a value, not a place in the Share. (A property
        # is a proxy: using it resolves the property again, as using it locally would.)
        if kind == ITEM and isinstance(key, slice):
            return (VALUE, value)
        type_id, info = self._type_info(type(value))
        if type_id in client.seen_types:
            return (REF, type_id, None)
        client.seen_types.add(type_id)
        return (REF, type_id, info)

    def _type_info(self, cls: type) -> tuple[int, TypeInfo]:
        found = self._types.get(cls)
        if found is None:
            methods = frozenset(name for name in dir(cls) if callable(getattr(cls, name, None)))
            found = (len(self._types), TypeInfo(cls.__qualname__, methods, _is_timer_type(cls)))
            self._types[cls] = found
        return found

    # -- paths ----------------------------------------------------------------------------

    def _resolve(self, path: Path) -> Any:
        obj: Any = self.root
        for step in path:
            obj = self._get_step(obj, step)
        return obj

    def _deref(self, value: Any) -> Any:
        return self._resolve(value.path) if type(value) is Ref else value

    def _get_step(self, obj: Any, step: Step) -> Any:
        kind, key = step
        if obj is self.root:
            try:
                return obj[key]
            except KeyError:
                raise AttributeError(f"Share has no attribute {key!r}") from None
        return getattr(obj, key) if kind == ATTR else obj[key]

    def _set_step(self, obj: Any, step: Step, value: Any) -> None:
        kind, key = step
        if obj is self.root or kind == ITEM:
            obj[key] = value
        else:
            setattr(obj, key, value)

    def _del_step(self, obj: Any, step: Step) -> None:
        kind, key = step
        if obj is self.root:
            if key not in obj:
                raise AttributeError(f"Share has no attribute {key!r}")
            del obj[key]
        elif kind == ITEM:
            del obj[key]
        else:
            delattr(obj, key)


def _is_timer_type(cls: type) -> bool:
    try:
        from suitkaise.sktime import Sktimer
    except ImportError:  # pragma: no cover - sktime is a dependency of processing
        return False
    return issubclass(cls, Sktimer)


def _accept_loop(listener: Listener, coordinator: Coordinator) -> None:
    while not coordinator.stopped.is_set():
        try:
            conn = listener.accept()
        except (OSError, EOFError, multiprocessing.AuthenticationError):
            # A client that fails the handshake (or dies during it) is simply not served.
            continue
        threading.Thread(target=coordinator.serve, args=(conn,), daemon=True).start()


def _watch_parent(coordinator: Coordinator) -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the process that created the Share has exited
        coordinator.stopped.set()


def run_coordinator(address: Address, authkey: bytes, key: bytes, ready: Connection) -> None:
    """Entry point of the coordinator process (the ``target`` of its ``Process``).

    Args:
        address: Where to listen: an AF_UNIX socket path inside a private 0700 directory
            (POSIX), a named pipe (Windows), or a TCP ``(host, port)`` (port 0: any free one).
        authkey: Secret every client must prove it knows (``multiprocessing`` handshake).
        key: Secret that signs every request and reply (cerial ``key=``).
        ready: Write end of a pipe; receives ``None`` once clients can connect (for TCP, the
            ``(host, port)`` it listens on), or the text of the error that prevented it.
    """
    from suitkaise.processing._int.share_proxy import inside_coordinator

    # Ctrl-C in a terminal reaches the whole process group; the coordinator must outlive it so
    # that the creator can still read results and stop it (multiprocessing's Manager does too).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inside_coordinator.add(address)
    try:
        coordinator = Coordinator(key)
        listener = Listener(address, family=family_of(address), authkey=authkey)
    except BaseException as exc:
        ready.send(f"{type(exc).__name__}: {exc}")
        ready.close()
        return
    if isinstance(address, tuple):  # clients use the port the system picked
        inside_coordinator.add(tuple(listener.address))
        ready.send(tuple(listener.address))
    else:
        ready.send(None)
    ready.close()
    threading.Thread(target=_accept_loop, args=(listener, coordinator), daemon=True).start()
    threading.Thread(target=_watch_parent, args=(coordinator,), daemon=True).start()
    coordinator.stopped.wait()
    listener.close()  # unlinks the socket file
    if FAMILY == "AF_UNIX" and isinstance(address, str):
        try:
            os.rmdir(os.path.dirname(address))  # the owner also tries; whoever is last wins
        except OSError:
            pass
