"""``Share``: shared state across processes, owned by one coordinator process.

``Share()`` starts a coordinator process that owns the live objects; the ``Share`` object in
every process (the creator's, and every copy that travels to a worker) is a client. Each
operation is one request executed by the coordinator on the live object, in one global order;
see :mod:`suitkaise.processing._int.share_coordinator` for the data flow and
:mod:`suitkaise.processing._int.share_values` for how ``share.x += n`` is atomic.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import sys
import weakref
from multiprocessing.connection import wait
from types import TracebackType
from typing import Any

from suitkaise.processing._errors import RemoteTraceback, ShareError
from suitkaise.processing._int.share_client import ShareClient, client_for, forget_client
from suitkaise.processing._int.share_protocol import (
    ATTR,
    DELETE,
    LOCK,
    NAMES,
    REPR,
    SNAPSHOT,
    UNLOCK,
)
from suitkaise.processing._int.share_transport import Address, new_address
from suitkaise.processing._int.share_usage import usage

__all__ = ["Share"]

_RESERVED = frozenset({"stop", "snapshot", "lock"})
_START_TIMEOUT = 60.0  # a spawned coordinator imports suitkaise; a loaded CI machine is slow


class Share:
    """Shared state across processes: attributes set on it are visible to every process.

    A coordinator process owns the objects; every ``Share`` (this one, and each copy that
    reaches another process inside Pool items, Skprocess attributes or Process arguments) is a
    client whose operations run on the live objects, one at a time, in one global order.

    * ``share.name = value`` stores any value cerial can carry; ``share.name`` reads it back:
      ``None``, ``bool``, numbers, strings, bytes, and tuples and frozensets made only of
      those by value, any other object (what a property returns too) as a proxy whose attribute/item access, method calls, ``len``, ``in``, iteration,
      comparisons, arithmetic and ``repr`` run in the coordinator and return their real result.
    * ``share.x += n`` (and every augmented assignment), on attributes and on nested items and
      attributes (``share.d["k"] += 1``, ``share.stats.hits += 1``), is one atomic operation.
    * ``with share.lock():`` makes several operations one critical section.
    * A read sees every write that completed before it, in any process.

    Args:
        start_method: Start method for the coordinator process (``"fork"``, ``"forkserver"``,
            ``"spawn"``); ``None`` uses multiprocessing's default.
        listen: ``None`` (default): a private AF_UNIX socket, reachable only from this
            machine by this user. ``(host, port)``: listen on TCP instead, for clients on other
            machines such as the workers of ``Pool(cluster=...)``; ``host`` must be the address
            of a private interface those clients reach (not a wildcard such as ``"0.0.0.0"``),
            port ``0`` picks a free port. Clients still authenticate with the Share's secret
            authkey, which travels inside the Share's payloads (see the cluster docs page).

    Raises:
        ShareError: If the coordinator process cannot be started.
        TypeError, ValueError: ``listen`` is not a ``(host, port)`` pair that can be used.

    Examples:
        >>> from suitkaise.processing import Share
        >>> with Share() as share:
        ...     share.counter = 0
        ...     share.counter += 5
        ...     share.log = []
        ...     share.log.append("hello")
        ...     (share.counter, share.log.pop())
        (5, 'hello')
    """

    _sk_client: ShareClient
    _sk_process: multiprocessing.process.BaseProcess | None  # the coordinator, in its owner
    _sk_finalizer: weakref.finalize[Any, Share] | None

    def __init__(
        self, *, start_method: str | None = None, listen: tuple[str, int] | None = None
    ) -> None:
        from suitkaise.processing._int.share_coordinator import run_coordinator

        ctx: Any = multiprocessing.get_context(start_method)
        address: Address
        if listen is None:
            address, directory = new_address()  # POSIX: a socket in a private 0700 directory
        else:
            address, directory = _tcp_address(listen), None
        authkey = secrets.token_bytes(32)
        key = secrets.token_bytes(32)
        reader, writer = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=run_coordinator,
            args=(address, authkey, key, writer),
            name="suitkaise-share-coordinator",
            daemon=True,  # ended by multiprocessing at exit if the owner never calls stop()
        )
        try:
            process.start()
        except BaseException as exc:
            _remove(directory)
            reader.close()
            writer.close()
            if multiprocessing.current_process().daemon:
                raise ShareError(
                    "a Share cannot be created inside a daemonic process (multiprocessing "
                    "forbids it children); create it in the parent and pass it in"
                ) from exc
            raise
        writer.close()
        try:
            problem = _wait_until_ready(process, reader, ctx.get_start_method())
        finally:
            reader.close()
        if isinstance(problem, tuple):  # TCP: the address it listens on (the port it got)
            address, problem = (str(problem[0]), int(problem[1])), None
        client = client_for(address, authkey, key)
        object.__setattr__(self, "_sk_client", client)
        object.__setattr__(self, "_sk_process", process)
        object.__setattr__(
            self,
            "_sk_finalizer",
            weakref.finalize(self, _shut_down, process, client, directory, os.getpid()),
        )
        if problem is not None:
            self.stop()
            raise ShareError(f"could not start the Share's coordinator process: {problem}")

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the coordinator and free everything (socket, directory, process).

        Called by the process that created the Share, it ends the coordinator: afterwards
        every operation on this Share, in any process, raises ``ShareError``. Called in another
        process, it only closes that process's connection. Safe to call more than once.

        Examples:
            >>> from suitkaise.processing import Share
            >>> share = Share()
            >>> share.stop()
            >>> share.stop()  # no effect
        """
        finalizer = self._sk_finalizer
        if finalizer is not None and finalizer.alive:
            info = finalizer.peek()
            if info is not None and info[2][3] == os.getpid():
                finalizer()
                return
        self._sk_client.close()

    def __enter__(self) -> Share:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- attributes -----------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._sk_client.load(((ATTR, name),), usage(sys._getframe(1)))

    def __setattr__(self, name: str, value: Any) -> None:
        _check_name(name)
        self._sk_client.assign(((ATTR, name),), value)

    def __delattr__(self, name: str) -> None:
        _check_name(name)
        self._sk_client.request((DELETE, ((ATTR, name),)))

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        try:
            names.update(self._sk_client.value((NAMES,)))
        except ShareError:
            pass
        return sorted(names)

    # -- whole-share operations -----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return a plain local copy of every attribute, as a dict.

        Returns:
            ``{name: value}``, copies made at one moment (no other write lands in between).

        Raises:
            ShareError: If the coordinator is not running.

        Examples:
            >>> from suitkaise.processing import Share
            >>> with Share() as share:
            ...     share.a = 1
            ...     share.b = [2]
            ...     share.snapshot()
            {'a': 1, 'b': [2]}
        """
        result: dict[str, Any] = self._sk_client.value((SNAPSHOT,))
        return result

    def lock(self, timeout: float | None = None) -> ShareLock:
        """Return a context manager that holds off every other client while it is held.

        Use it for multi-step critical sections (read, decide, write). It is re-entrant: the
        same thread may nest it. Single operations, including augmented assignments, are
        already atomic and need no lock.

        Args:
            timeout: Seconds to wait for the lock; ``None`` waits as long as it takes.

        Returns:
            A :class:`ShareLock` (``with share.lock(): ...``).

        Examples:
            >>> from suitkaise.processing import Share
            >>> with Share() as share:
            ...     share.balance = 100
            ...     with share.lock():
            ...         if share.balance >= 30:
            ...             share.balance -= 30
            ...     share.balance
            70
        """
        return ShareLock(self._sk_client, timeout)

    def __repr__(self) -> str:
        try:
            reprs: dict[str, str] = self._sk_client.value((REPR,))
        except ShareError as exc:
            if isinstance(exc.__cause__, RemoteTraceback):
                raise  # raised by the coordinator while making a repr: a real error
            return "<Share (stopped)>"
        return "Share(" + ", ".join(f"{k}={v}" for k, v in reprs.items()) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        client = self._sk_client
        return (_client_share, (client.address, client.authkey, client.key))


class ShareLock:
    """The lock of a Share, from ``share.lock()``: a re-entrant context manager.

    Args:
        client: The Share's client (internal).
        timeout: Seconds ``acquire()`` waits; ``None`` waits as long as it takes.
    """

    def __init__(self, client: ShareClient, timeout: float | None = None) -> None:
        self._client = client
        self._timeout = timeout

    def acquire(self) -> None:
        """Take the lock; other clients' operations wait until it is released.

        Raises:
            TimeoutError: If ``timeout`` passed before the lock was free.
            ShareError: If the coordinator is not running.
        """
        if not self._client.value((LOCK, self._timeout)):
            raise TimeoutError(f"share.lock() was not free within {self._timeout} s")

    def release(self) -> None:
        """Release the lock once (it is free when every nested acquire is released).

        Raises:
            RuntimeError: If this thread does not hold the lock.
        """
        self._client.request((UNLOCK,))

    def __enter__(self) -> ShareLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _wait_until_ready(process: Any, reader: Any, method: str) -> str | tuple[str, int] | None:
    """None (or its TCP address) once the coordinator listens; otherwise why it will not."""
    ready = wait([reader, process.sentinel], timeout=_START_TIMEOUT)
    if reader in ready:
        try:
            problem: str | tuple[str, int] | None = reader.recv()
            return problem
        except EOFError:
            pass  # it exited before reporting
    elif process.sentinel not in ready:
        return f"it did not start within {_START_TIMEOUT:.0f} s"
    process.join(5.0)
    hint = ""
    if process.exitcode and method != "fork":
        hint = (
            " (with the spawn and forkserver start methods, create the Share under "
            "`if __name__ == '__main__':` so that the child can import your script)"
        )
    return f"it exited with code {process.exitcode}{hint}"


def _tcp_address(listen: Any) -> tuple[str, int]:
    """Check ``Share(listen=...)``: a ``(host, port)`` with a specific host."""
    if (
        not isinstance(listen, tuple)
        or len(listen) != 2
        or not isinstance(listen[0], str)
        or isinstance(listen[1], bool)
        or not isinstance(listen[1], int)
    ):
        raise TypeError(
            f"Share(listen=...) must be a (host, port) tuple such as ('10.0.0.5', 0), "
            f"got {listen!r}"
        )
    host, port = listen
    if host.strip() in ("", "0.0.0.0", "::", "*"):
        raise ValueError(
            f"Share(listen=({host!r}, {port})): give the address of one private interface "
            f"that the clients reach (e.g. '10.0.0.5'), not a wildcard: the address is also "
            f"the one clients connect to"
        )
    if not 0 <= port <= 65535:
        raise ValueError(f"Share(listen=...) port must be in 0..65535, got {port}")
    return host, port


def _check_name(name: str) -> None:
    if name.startswith("_") or name in _RESERVED:
        raise AttributeError(
            f"{name!r} cannot be used as a Share attribute: names starting with '_' and the "
            f"names {sorted(_RESERVED)} are reserved by Share itself"
        )


def _client_share(address: Address, authkey: bytes, key: bytes) -> Share:
    """Rebuild a pickled Share as a client of its coordinator (connects on first use)."""
    share = object.__new__(Share)
    object.__setattr__(share, "_sk_client", client_for(address, authkey, key))
    object.__setattr__(share, "_sk_finalizer", None)
    object.__setattr__(share, "_sk_process", None)
    return share


def _shut_down(
    process: multiprocessing.process.BaseProcess,
    client: ShareClient,
    directory: str | None,
    owner_pid: int,
) -> None:
    """Stop the coordinator (only in the process that started it) and remove its files."""
    if os.getpid() != owner_pid:
        return  # an inherited copy in a forked child: the owner stops it
    if process.is_alive():
        # A fresh connection with a bounded wait: this thread's own connection could be
        # waiting on a coordinator stuck in a user method.
        if client.request_stop(timeout=5.0):
            process.join(5.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()
    else:
        process.join()
    client.stopped = True
    client.close()
    forget_client(client.address)
    _remove(directory)


def _remove(directory: str | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


Share.__module__ = "suitkaise.processing"
ShareLock.__module__ = "suitkaise.processing"
