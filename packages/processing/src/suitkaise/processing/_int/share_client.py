"""The client side of a Share: connections to the coordinator and the request round trip.

One :class:`ShareClient` per Share per process (a per-process cache keyed by the coordinator's
address makes every copy of a Share that arrives in a process, e.g. one per Pool item, reuse
it). Each thread gets its own connection, opened on first use and re-opened after a fork (a
child never writes to its parent's socket). A request is sent and its reply awaited before the
call returns: there are no fire-and-forget writes.

When the coordinator is gone (stopped, killed), the socket reports it at once (EOF, reset, or
connection refused) and every call raises :class:`ShareError`; nothing waits on a timeout.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from suitkaise.processing._errors import ShareError
from suitkaise.processing._int import share_usage
from suitkaise.processing._int.remote_errors import load_exception
from suitkaise.processing._int.share_codec import decode, encode
from suitkaise.processing._int.share_protocol import (
    APPLY,
    AUGMENT,
    ERROR,
    GET,
    REF,
    SET,
    SET_REF,
    STOP,
    VALUE,
    Path,
    TypeInfo,
    describe,
)
from suitkaise.processing._int.share_proxy import (
    Proxy,
    _LocalTimers,
    as_ref,
    inside_coordinator,
    make_proxy,
)
from suitkaise.processing._int.share_transport import Address, AuthenticationError, Channel, connect
from suitkaise.processing._int.share_usage import AugTarget, PendingAugment
from suitkaise.processing._int.share_values import pending_for, tag, untag

_PATH_INFO_LIMIT = 4096
_GONE = "the Share's coordinator is not running (it was stopped, or its process died)"


class ShareClient:
    """Connections of this process to one Share's coordinator.

    Args:
        address: The coordinator's AF_UNIX socket path, or its TCP ``(host, port)``.
        authkey: Secret for the connection handshake.
        key: Secret that signs every request and reply.
    """

    def __init__(self, address: Address, authkey: bytes, key: bytes) -> None:
        self.address = address
        self.authkey = authkey
        self.key = key
        self._local = threading.local()
        self._types: dict[int, TypeInfo] = {}
        self._path_info: dict[Path, TypeInfo] = {}  # what a GET last found at each path
        self._timers = _LocalTimers()
        self.stopped = False  # set by the owner's stop(): fail fast without connecting
        self.connects = 0  # connections opened by this process (tests check reuse)
        self.requests = 0  # round trips made by this process (tests check the shortcuts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (client_for, (self.address, self.authkey, self.key))

    # -- connection -----------------------------------------------------------------------

    def _connection(self) -> Channel:
        local = self._local
        conn: Channel | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        if self.stopped:
            raise ShareError(_GONE)
        try:
            conn = connect(self.address, self.authkey)
        except (OSError, EOFError, AuthenticationError) as exc:
            raise ShareError(_GONE) from exc
        local.conn = conn
        local.pid = os.getpid()
        self.connects += 1
        return conn

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            conn.close()

    # -- requests -------------------------------------------------------------------------

    def request(self, request: tuple[Any, ...]) -> tuple[Any, ...]:
        """Send one request, wait for its reply; raise what the operation raised."""
        if self.address in inside_coordinator:
            # A proxy stored inside a shared value, used by the coordinator itself (e.g. to
            # repr a list holding it): asking ourselves would wait for our own lock forever.
            raise ShareError(
                f"a Share proxy was used inside its own coordinator ({_target(request)}); "
                "store values in a Share, not proxies of it"
            )
        try:
            data = encode(request, self.key)
        except Exception as exc:
            raise _name_failure(exc, request) from exc
        conn = self._connection()
        self.requests += 1
        try:
            conn.send(data)
            reply_data = conn.recv()
        except (EOFError, OSError) as exc:
            self._drop(conn)
            raise ShareError(_GONE) from exc
        except BaseException:
            # Interrupted (KeyboardInterrupt) between request and reply: the reply would be
            # read by the next request, so this connection cannot be used again.
            self._drop(conn)
            raise
        reply: tuple[Any, ...] = decode(reply_data, self.key)
        if reply[0] == ERROR:
            raise load_exception(reply[1])
        return reply

    def request_stop(self, timeout: float) -> bool:
        """Ask the coordinator to stop, on a fresh connection; False if it did not answer."""
        try:
            conn = connect(self.address, self.authkey)
        except (OSError, EOFError, AuthenticationError):
            return False
        try:
            conn.send(encode((STOP,), self.key))
            conn.recv(timeout)
            return True
        except (OSError, EOFError):  # TimeoutError is an OSError
            return False
        finally:
            conn.close()

    def _drop(self, conn: Channel) -> None:
        self._local.conn = None
        try:
            conn.close()
        except OSError:
            pass

    def value(self, request: tuple[Any, ...]) -> Any:
        """Send a request whose reply is a value and return it."""
        reply = self.request(request)
        return reply[1] if reply[0] == VALUE else None

    def apply(self, path: Path, func: str, args: tuple[Any, ...]) -> Any:
        """Return ``func(obj_at_path, *args)`` computed by the coordinator."""
        return self.value((APPLY, path, func, tuple(self.arg(a) for a in args)))

    def load(self, path: Path, usage: int) -> Any:
        """Read ``path`` for a caller that uses it as ``usage`` says (see ``share_usage``)."""
        if usage == share_usage.AUGMENT:
            return AugTarget(self, path)  # `x.name op= v`: the store sends one AUGMENT
        if usage == share_usage.METHOD:
            return Proxy(self, path, None)  # `x.name(...)`: the call is one CALL
        if usage == share_usage.RECEIVER:
            try:
                info = self._path_info.get(path)
            except TypeError:  # an unhashable key in the path (a slice before 3.12)
                info = None
            if info is not None:
                return make_proxy(self, path, info)  # `x.name.method(...)`: no GET needed
        return self.get(path)

    def get(self, path: Path) -> Any:
        """Read the object at ``path``: a scalar by value (tagged), anything else as a proxy."""
        reply = self.request((GET, path))
        if reply[0] == VALUE:
            self._remember(path, None)
            return tag(reply[1], self, path)
        assert reply[0] == REF
        type_id, info = reply[1], reply[2]
        if info is None:
            info = self._types[type_id]
        else:
            self._types[type_id] = info
        self._remember(path, info)
        return make_proxy(self, path, info)

    def _remember(self, path: Path, info: TypeInfo | None) -> None:
        try:
            if info is None:
                self._path_info.pop(path, None)
                return
            if len(self._path_info) >= _PATH_INFO_LIMIT:
                self._path_info.clear()
            self._path_info[path] = info
        except TypeError:  # an unhashable key in the path: nothing to remember
            pass

    def assign(self, path: Path, value: Any) -> None:
        """Store ``value`` at ``path`` (the end of ``share.x = v`` and ``share.x += v``)."""
        if type(value) is PendingAugment:
            if value.client is not self or value.path != path:
                raise TypeError(f"cannot store {value!r} at {describe(path)}")
            self.request((AUGMENT, path, value.op, self.arg(value.operand)))
            return
        pending = pending_for(value, self, path)
        if pending is not None:
            # The tail of `share.x op= v`: apply the operation atomically, in one request.
            self.request((AUGMENT, path, pending._sk_op, self.arg(pending._sk_operand)))
            return
        if isinstance(value, Proxy):
            if value._sk_client is self:
                if value._sk_path != path:
                    self.request((SET_REF, path, value._sk_path))
                # else: the tail of `proxy op= v`, already applied by the proxy's __iop__
                return
            # A proxy of another Share is stored by value: a copy of the object it stands for.
            value = value._sk_client.apply(value._sk_path, "value", ())
        self.request((SET, path, untag(value)))

    def arg(self, value: Any) -> Any:
        """Prepare an argument: proxies of this Share become references to the live object."""
        return untag(as_ref(value, self))

    def local_timer(self, path: Path) -> Any:
        """The local ``Sktimer`` that times ``start()``/``stop()`` of the timer at ``path``."""
        return self._timers.get(path)


def _target(request: tuple[Any, ...]) -> str:
    """The place a request is about, as the user wrote it (``share.d['k']``)."""
    if len(request) > 1 and isinstance(request[1], tuple):
        return describe(request[1])
    return "share"


def _name_failure(exc: Exception, request: tuple[Any, ...]) -> Exception:
    """Re-raise a serialization failure naming the Share attribute it was meant for."""
    from suitkaise.cerial import SerializationError

    if not isinstance(exc, SerializationError):
        return exc
    target = _target(request)
    return SerializationError(
        f"cannot send a value for {target} to the Share: {exc}",
        path=target,
        type_name=exc.type_name,
        reason=exc.reason,
        hint=exc.hint,
    )


# The clients of this process, most recently used last. Bounded: a long-lived worker that sees
# many short-lived Shares must not keep a connection to each of them forever (an evicted
# client's connections close when nothing uses it any more).
_clients: OrderedDict[Address, ShareClient] = OrderedDict()
_clients_lock = threading.Lock()
_CLIENTS_KEPT = 32


def _renew_lock_in_child() -> None:
    # A fork while another thread held the lock would leave it held forever in the child.
    global _clients_lock
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_lock_in_child)


def client_for(address: Address, authkey: bytes, key: bytes) -> ShareClient:
    """The one client of this process for the Share at ``address`` (cached per process)."""
    with _clients_lock:
        client = _clients.get(address)
        if client is None or client.authkey != authkey:
            client = _clients[address] = ShareClient(address, authkey, key)
            while len(_clients) > _CLIENTS_KEPT:
                _clients.popitem(last=False)
        else:
            _clients.move_to_end(address)
        return client


def forget_client(address: Address) -> None:
    """Drop the cached client of a stopped Share."""
    with _clients_lock:
        _clients.pop(address, None)
