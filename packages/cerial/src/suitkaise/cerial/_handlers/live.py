"""Live resources that become reconnectors: sockets, threads, subprocesses, executors.

Each reducer builds a :class:`~suitkaise.cerial.Reconnector` holding what is needed to get the
resource back; :func:`~suitkaise.cerial.reconnect_all` (or ``reconnector.reconnect()``) does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from typing import Any

from suitkaise.cerial._reconnector import Reconnector, reduce_as


class SocketReconnector(Reconnector):
    """A socket: reconnects to the same peer, or listens again on the same address.

    ``reconnect()`` creates a socket of the same family, type and protocol with the same timeout;
    a connected socket connects to the same remote address, a listening one binds and listens on
    the same local address, any other socket comes back unconnected. Data in flight is not
    carried.
    """

    auth_key = "socket.socket"

    def __init__(
        self,
        family: int,
        type: int,
        proto: int,
        timeout: float | None,
        local: Any,
        remote: Any,
        listening: bool,
        closed: bool,
    ) -> None:
        self.family = family
        self.type = type
        self.proto = proto
        self.timeout = timeout
        self.local = local
        self.remote = remote
        self.listening = listening
        self.closed = closed

    def describe(self) -> str:
        if self.closed:
            return "closed"
        if self.remote is not None:
            return f"connected to {self.remote!r}"
        if self.listening:
            return f"listening on {self.local!r}"
        if self.type == socket.SOCK_DGRAM and _is_bound(self.local):
            return f"bound to {self.local!r}"
        return "unconnected"

    def reconnect(self, auth: Any = None) -> socket.socket:
        s = socket.socket(self.family, self.type, self.proto)
        if self.closed:
            s.close()
            return s
        try:
            s.settimeout(self.timeout)
            if self.remote is not None:
                s.connect(self.remote)
            elif self.listening:
                if os.name != "nt" and self.family != getattr(socket, "AF_UNIX", None):
                    # as socket.create_server does: rebind despite TIME_WAIT connections
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(self.local)
                s.listen()
            elif self.type == socket.SOCK_DGRAM and _is_bound(self.local):
                s.bind(self.local)  # a UDP server: bound again to the same address
        except BaseException:
            s.close()
            raise
        return s


def _is_bound(address: Any) -> bool:
    if isinstance(address, tuple) and len(address) >= 2:
        return bool(address[1])  # (host, port, ...): port 0 means not bound
    return bool(address)  # AF_UNIX path ('' when unbound)


def reduce_socket(s: socket.socket) -> Any:
    if s.fileno() == -1:
        return reduce_as(
            SocketReconnector(s.family, s.type, s.proto, None, None, None, False, True)
        )
    try:
        local = s.getsockname()
    except OSError:
        local = None
    try:
        remote = s.getpeername()
    except OSError:
        remote = None
    try:
        listening = bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except (OSError, AttributeError):
        listening = False
    return reduce_as(
        SocketReconnector(
            int(s.family), int(s.type), s.proto, s.gettimeout(), local, remote, listening, False
        )
    )


# Attributes every Thread has after Thread.__init__ (they differ between Python versions):
# the reconnector carries target, args, kwargs, name and daemon itself and none of these.
_THREAD_INTERNALS = frozenset(vars(threading.Thread()))


class ThreadReconnector(Reconnector):
    """A thread: ``reconnect()`` returns a new, not yet started thread of the same class with
    the same target, arguments, name, daemon flag and other attributes."""

    auth_key = "threading.Thread"

    def __init__(
        self,
        cls: type,
        name: str,
        daemon: bool,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attrs: dict[str, Any],
        was_alive: bool,
    ) -> None:
        self.cls = cls
        self.name = name
        self.daemon = daemon
        self.target = target
        self.args = args
        self.kwargs = kwargs
        self.attrs = attrs
        self.was_alive = was_alive

    def describe(self) -> str:
        return f"{self.cls.__name__} {self.name!r}" + (" (was running)" if self.was_alive else "")

    def reconnect(self, auth: Any = None) -> threading.Thread:
        cls: Any = self.cls
        t: threading.Thread = cls.__new__(cls)
        threading.Thread.__init__(
            t,
            target=self.target,
            name=self.name,
            args=self.args,
            kwargs=self.kwargs,
            daemon=self.daemon,
        )
        t.__dict__.update(self.attrs)
        return t


def reduce_thread(t: threading.Thread) -> Any:
    d = vars(t)
    attrs = {k: v for k, v in d.items() if k not in _THREAD_INTERNALS}
    return reduce_as(
        ThreadReconnector(
            type(t),
            t.name,
            t.daemon,
            d.get("_target"),
            tuple(d.get("_args", ())),
            dict(d.get("_kwargs", {})),
            attrs,
            t.is_alive(),
        )
    )


class PopenReconnector(Reconnector):
    """A subprocess: records its command line and working directory.

    ``reconnect()`` **starts the command again** (a process cannot be moved), with the same
    arguments and working directory and inherited standard streams. The environment is not
    recorded (it may hold secrets); pass ``{"env": {...}}`` as the credential to set one.
    """

    auth_key = "subprocess.Popen"

    def __init__(self, args: Any, cwd: str | None, pid: int, returncode: int | None) -> None:
        self.args = args
        self.cwd = cwd
        self.pid = pid
        self.returncode = returncode

    def describe(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"{self.args!r} (pid {self.pid}, {state})"

    def reconnect(self, auth: Any = None) -> subprocess.Popen[Any]:
        extra = dict(auth) if isinstance(auth, dict) else {}
        return subprocess.Popen(self.args, cwd=self.cwd, **extra)


def reduce_popen(p: subprocess.Popen[Any]) -> Any:
    return reduce_as(PopenReconnector(p.args, None, p.pid, p.poll()))


class ExecutorReconnector(Reconnector):
    """A ``concurrent.futures`` executor: ``reconnect()`` makes a new one of the same class and
    size (pending work is not carried)."""

    auth_key = "concurrent.futures.Executor"

    def __init__(self, cls: type, max_workers: int | None, thread_name_prefix: str | None) -> None:
        self.cls = cls
        self.max_workers = max_workers
        self.thread_name_prefix = thread_name_prefix

    def describe(self) -> str:
        return f"{self.cls.__name__}(max_workers={self.max_workers})"

    def reconnect(self, auth: Any = None) -> Any:
        kwargs: dict[str, Any] = {"max_workers": self.max_workers}
        if self.thread_name_prefix is not None:
            kwargs["thread_name_prefix"] = self.thread_name_prefix
        return self.cls(**kwargs)


def reduce_executor(ex: Any) -> Any:
    prefix = getattr(ex, "_thread_name_prefix", None)
    return reduce_as(
        ExecutorReconnector(type(ex), getattr(ex, "_max_workers", None), prefix or None)
    )
