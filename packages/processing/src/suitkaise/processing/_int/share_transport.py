"""The Share's wire: authenticated connections carrying one message per request or reply.

Connections are opened and accepted with ``multiprocessing.connection`` (its HMAC challenge
proves that the peer knows the Share's authkey). On POSIX the address is an AF_UNIX socket in a
private 0700 directory, and after the handshake the connection is used as a plain socket: each
message is a 4-byte big-endian length and the bytes. Requests and replies strictly alternate on
a connection, so a small message is read with one ``recv`` call; ``Connection.recv_bytes``
always makes two (header, then body), and on a ~10 microsecond round trip that difference is
about a third of the time.

``Share(listen=(host, port))`` listens on TCP instead (for clients on other machines, e.g. dask
workers): the same handshake and framing over an ``AF_INET`` socket, with Nagle's algorithm off
so that a small request is not held back waiting for an acknowledgement.

On Windows (no AF_UNIX in ``multiprocessing``) the address is a named pipe and messages use the
``Connection`` itself. That branch is written for the supported platforms but is not exercised
by this repository's tests, which run on Linux.
"""

from __future__ import annotations

import os
import socket
import struct
import tempfile
from multiprocessing import AuthenticationError
from multiprocessing import connection as _mp_connection
from multiprocessing.connection import Client, Connection

POSIX = os.name == "posix"
FAMILY = "AF_UNIX" if POSIX else "AF_PIPE"
RAW_SOCKETS = POSIX  # False: messages go through the Connection itself (named pipes)
_HEADER = struct.Struct("!I")
_FIRST_READ = 65536

#: An AF_UNIX path or named pipe (the default), or a TCP ``(host, port)``.
Address = str | tuple[str, int]


def family_of(address: Address) -> str:
    """The ``multiprocessing.connection`` family of ``address``."""
    return "AF_INET" if isinstance(address, tuple) else FAMILY


class Channel:
    """One authenticated connection, used by one thread at a time."""

    __slots__ = ("_conn", "_sock")

    def __init__(self, conn: Connection) -> None:
        if RAW_SOCKETS:
            # Take the socket over from the Connection (its handshake is done).
            self._sock: socket.socket | None = socket.socket(fileno=os.dup(conn.fileno()))
            self._conn: Connection | None = None
            conn.close()
            if self._sock.family in (socket.AF_INET, socket.AF_INET6):
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            self._sock = None
            self._conn = conn

    def send(self, data: bytes) -> None:
        """Send one message."""
        if self._sock is None:
            assert self._conn is not None
            self._conn.send_bytes(data)
        elif len(data) < _FIRST_READ:
            self._sock.sendall(_HEADER.pack(len(data)) + data)
        else:  # no copy of a big payload
            self._sock.sendall(_HEADER.pack(len(data)))
            self._sock.sendall(data)

    def recv(self, timeout: float | None = None) -> bytes:
        """Receive one message.

        Raises:
            EOFError: The peer closed the connection.
            TimeoutError: ``timeout`` passed first (only when a timeout is given).
        """
        sock = self._sock
        if sock is None:
            assert self._conn is not None
            if timeout is not None and not self._conn.poll(timeout):
                raise TimeoutError("no reply in time")
            return self._conn.recv_bytes()
        if timeout is not None:
            sock.settimeout(timeout)
        chunk = sock.recv(_FIRST_READ)
        if timeout is not None:
            sock.settimeout(None)
        if not chunk:
            raise EOFError("connection closed")
        while len(chunk) < _HEADER.size:
            more = sock.recv(_FIRST_READ)
            if not more:
                raise EOFError("connection closed")
            chunk += more
        (size,) = _HEADER.unpack_from(chunk)
        have = len(chunk) - _HEADER.size
        if have == size:
            return chunk[_HEADER.size :]
        if have > size:
            raise OSError("Share protocol error: unexpected data after a message")
        parts = [chunk[_HEADER.size :]]
        remaining = size - have
        while remaining:
            part = sock.recv(min(remaining, 1 << 20))
            if not part:
                raise EOFError("connection closed")
            parts.append(part)
            remaining -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            self._sock.close()
        elif self._conn is not None:
            self._conn.close()

    def __del__(self) -> None:
        # A thread's channel is dropped when the thread ends (and a forked child drops the
        # copy it inherited): close it quietly, as multiprocessing's Connection does.
        try:
            self.close()
        except Exception:
            pass


def connect(address: Address, authkey: bytes) -> Channel:
    """Open an authenticated channel to the coordinator at ``address``.

    Raises:
        OSError, EOFError, AuthenticationError: The coordinator is gone or refused us.
    """
    return Channel(Client(address, family=family_of(address), authkey=authkey))


def new_address() -> tuple[str, str | None]:
    """A fresh address for a coordinator, and the private directory holding it (POSIX).

    The directory is made by ``tempfile.mkdtemp`` with mode 0700, so other users of the
    machine cannot reach the socket inside it.
    """
    if POSIX:
        directory = tempfile.mkdtemp(prefix="suitkaise-share-")
        return os.path.join(directory, "sock"), directory
    # arbitrary_address is undocumented (and missing from typeshed) but is what
    # multiprocessing's own Listener uses to name a fresh pipe.
    address: str = _mp_connection.arbitrary_address(FAMILY)  # type: ignore[attr-defined]
    return address, None


__all__ = [
    "FAMILY",
    "Address",
    "AuthenticationError",
    "Channel",
    "connect",
    "family_of",
    "new_address",
]
