"""The link between an Skprocess object in the parent and its child process.

Per started process (no Manager server, no queue feeder threads)::

    parent                                   child
    ------                                   -----
    ControlBlock (shared doubles) <-------> stop flag, section deadline, current_run
    down: Connection  --- tell(obj) ------> listen()
    up:   Connection  <-- tell(obj),  ----- "m" (message) / "l" (lives) / "f" (final)
                          lives lost, final outcome

Every payload on the pipes is a cerial payload signed with the per-run key, so a process that
does not hold the key cannot inject objects. The ControlBlock carries only numbers, so the child
can check the stop flag between sections for the price of one memory read, and the parent can see
which section is running (and since when) without any message.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import DupFd
from typing import Any

from suitkaise import cerial

__all__ = ["BadPayload", "Channel", "ControlBlock", "SECTION_INDEX", "SECTION_NAMES"]

SECTION_NAMES = ("prerun", "run", "postrun", "onfinish", "result", "error", "autoreconnect")
SECTION_INDEX = {name: i for i, name in enumerate(SECTION_NAMES)}

_STOP, _DEADLINE, _SECTION, _TIMEOUT, _CURRENT_RUN = range(5)
_SIZE = 5 * 8  # five doubles


def _shared_memory_file(size: int) -> int:
    """A descriptor of ``size`` zero bytes of shared memory that has no name anywhere."""
    if hasattr(os, "memfd_create"):  # Linux
        fd = os.memfd_create("suitkaise-control", os.MFD_CLOEXEC)
    else:  # other POSIX: a file unlinked at once (where /dev/shm exists, in memory)
        directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, name = tempfile.mkstemp(prefix="suitkaise-control-", dir=directory)
        os.unlink(name)
    try:
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _attach_block(fd: Any) -> ControlBlock:
    """Rebuild a ControlBlock in a spawned child from its passed descriptor."""
    block = object.__new__(ControlBlock)
    descriptor = fd.detach() if hasattr(fd, "detach") else fd
    try:
        block._map = mmap.mmap(descriptor, _SIZE)
    finally:
        os.close(descriptor)  # the mapping outlives the descriptor
    block._fd = -1
    block._array = memoryview(block._map).cast("d")
    return block


class ControlBlock:
    """Five shared doubles: the only state both processes read without a message.

    Created in the parent before the child starts; it travels to the child with the process
    arguments. Under fork it is an anonymous shared mapping the child inherits; under spawn and
    forkserver it is a mapping of an unlinked shared-memory file whose descriptor is passed to
    the child (no file name exists, so nothing can be left behind). A plain ``mmap`` read through
    a ``memoryview``: no ``ctypes`` (a spawned child would import it just for this) and no
    shared heap.

    Args:
        inherited: True when the child is forked (the block is never pickled).
    """

    __slots__ = ("_array", "_fd", "_map")

    def __init__(self, *, inherited: bool = False) -> None:
        self._fd = -1 if inherited else _shared_memory_file(_SIZE)
        self._map: mmap.mmap | None = mmap.mmap(self._fd, _SIZE)  # fd -1: shared, anonymous
        self._array: Any = memoryview(self._map).cast("d")

    def __reduce__(self) -> tuple[Any, ...]:
        if self._fd < 0:
            raise TypeError(
                "this ControlBlock cannot be sent (made for a forked child, or released)"
            )
        return (_attach_block, (DupFd(self._fd),))  # only while multiprocessing starts a child

    def release(self) -> None:
        """Unmap the shared memory once no child will use it again; idempotent.

        The last values stay readable (``current_run``) from a private copy. This frees the
        descriptor the mapping holds, so finished processes kept alive hold no descriptors.
        """
        shared = self._map
        if shared is None:
            return
        view = self._array
        self._array = view.tolist()
        view.release()  # mmap.close() refuses while a view exports its buffer
        self._map = None
        shared.close()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "_map", None) is not None:
            self.release()

    # stop flag -------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._array[_STOP] = 1.0

    def stop_requested(self) -> bool:
        return bool(self._array[_STOP])

    # section deadline (the parent's backstop for a child that ignores SIGALRM) -------
    def section_started(self, section: str, timeout: float, grace: float) -> None:
        array = self._array
        array[_SECTION] = SECTION_INDEX[section]
        array[_TIMEOUT] = timeout
        array[_DEADLINE] = time.monotonic() + timeout + grace

    def section_ended(self) -> None:
        self._array[_DEADLINE] = 0.0

    def overdue_section(self) -> tuple[str, float] | None:
        """``(section, timeout)`` if the child is past a section's deadline, else ``None``."""
        array = self._array
        deadline = array[_DEADLINE]
        if deadline and time.monotonic() > deadline:
            return SECTION_NAMES[int(array[_SECTION])], float(array[_TIMEOUT])
        return None

    def seconds_to_deadline(self) -> float | None:
        deadline = float(self._array[_DEADLINE])
        if not deadline:
            return None
        return max(0.0, deadline - time.monotonic())

    # progress ------------------------------------------------------------------------
    @property
    def current_run(self) -> int:
        return int(self._array[_CURRENT_RUN])

    @current_run.setter
    def current_run(self, value: int) -> None:
        self._array[_CURRENT_RUN] = value

    def reset_progress(self) -> None:
        self._array[_DEADLINE] = 0.0
        self._array[_CURRENT_RUN] = 0.0


class BadPayload(Exception):
    """A message arrived but could not be deserialized here (``kind`` tells what it was)."""

    def __init__(self, kind: str, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.kind = kind
        self.error = error


class Channel:
    """Signed cerial messages, each tagged with a one-letter kind, over one-way connections.

    The kind travels outside the signed payload so that a payload that cannot be rebuilt on
    this side (say, a class that does not exist here) is still known to be a user message, a
    final result, etc., and is reported as such instead of being lost.

    Args:
        send: Connection this side writes to (``None``: this side only receives).
        recv: Connection this side reads from (``None``: this side only sends).
        key: The per-run HMAC key shared by parent and child.
    """

    __slots__ = ("key", "recv_conn", "send_conn")

    def __init__(self, send: Connection | None, recv: Connection | None, key: bytes) -> None:
        self.send_conn = send
        self.recv_conn = recv
        self.key = key

    def encode(self, kind: str, obj: Any) -> bytes:
        return kind.encode("ascii") + cerial.serialize(obj, key=self.key)

    def send(self, kind: str, obj: Any) -> None:
        self.send_encoded(self.encode(kind, obj))

    def send_encoded(self, data: bytes) -> None:
        assert self.send_conn is not None
        self.send_conn.send_bytes(data)

    def recv(self) -> tuple[str, Any]:
        """Return ``(kind, obj)``. Raises EOFError, or BadPayload if ``obj`` cannot be rebuilt."""
        assert self.recv_conn is not None
        raw = self.recv_conn.recv_bytes()
        kind = chr(raw[0])
        try:
            return kind, cerial.deserialize(memoryview(raw)[1:], key=self.key)
        except Exception as exc:
            raise BadPayload(kind, exc) from exc

    def poll(self, timeout: float | None = 0.0) -> bool:
        assert self.recv_conn is not None
        return self.recv_conn.poll(timeout)

    def close(self) -> None:
        for conn in (self.send_conn, self.recv_conn):
            if conn is not None:
                conn.close()
