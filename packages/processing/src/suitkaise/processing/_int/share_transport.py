"""The Share's wire: authenticated AF_UNIX connections carrying length-prefixed messages.

Connections are opened and accepted with ``multiprocessing.connection`` (its HMAC challenge
proves that the peer knows the Share's authkey), then used as plain sockets. Each message is a
4-byte big-endian length and the bytes. Requests and replies strictly alternate on a
connection, so a small message is read with one ``recv`` call; ``Connection.recv_bytes`` always
makes two (header, then body), and on a ~10 microsecond round trip that difference is about a
third of the time.
"""

from __future__ import annotations

import os
import socket
import struct
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection

_HEADER = struct.Struct("!I")
_FIRST_READ = 65536


class Channel:
    """One authenticated connection, used by one thread at a time."""

    __slots__ = ("_sock",)

    def __init__(self, conn: Connection) -> None:
        # Take the socket over from the Connection (its handshake is done).
        self._sock = socket.socket(fileno=os.dup(conn.fileno()))
        conn.close()

    def send(self, data: bytes) -> None:
        """Send one message."""
        if len(data) < _FIRST_READ:
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
        self._sock.close()

    def __del__(self) -> None:
        # A thread's channel is dropped when the thread ends (and a forked child drops the
        # copy it inherited): close it quietly, as multiprocessing's Connection does.
        try:
            self._sock.close()
        except Exception:
            pass


def connect(address: str, authkey: bytes) -> Channel:
    """Open an authenticated channel to the coordinator at ``address``.

    Raises:
        OSError, EOFError, AuthenticationError: The coordinator is gone or refused us.
    """
    return Channel(Client(address, family="AF_UNIX", authkey=authkey))


__all__ = ["AuthenticationError", "Channel", "connect"]
