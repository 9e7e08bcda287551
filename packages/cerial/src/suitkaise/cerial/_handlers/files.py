"""Open files: reopened at the same path, mode and position on the receiving side.

Write modes never truncate on the receiving side: ``"w"``/``"x"`` files are reopened without
``O_TRUNC`` (through ``os.open``), append files stay in append mode, read files are reopened
for reading. The path is made absolute when serializing. Standard streams (``sys.stdout``,
``sys.stderr``, ``sys.stdin``) load as the receiver's own. A file opened from a bare file
descriptor (no path) is refused with a hint. ``StringIO``/``BytesIO`` pickle natively (content
and position). ``mmap``: the content and position, as a new anonymous map (a map of a file
does not write back to that file on the receiving side). ``NamedTemporaryFile``: the file is
reopened and the receiving side never deletes it (the creator owns it).
"""

from __future__ import annotations

import io
import mmap
import os
import tempfile
from typing import Any

from suitkaise.cerial._errors import SerializationError
from suitkaise.cerial._handlers.logging import std_name, std_stream


def _kind(f: Any) -> str:
    if isinstance(f, io.TextIOBase):
        return "text"
    if isinstance(f, io.FileIO):
        return "raw"
    return "buffered"


def _open_flags(mode: str) -> int:
    plus = "+" in mode
    if "a" in mode:
        flags = os.O_APPEND | os.O_CREAT | (os.O_RDWR if plus else os.O_WRONLY)
    elif "w" in mode or "x" in mode:
        flags = os.O_CREAT | (os.O_RDWR if plus else os.O_WRONLY)  # no O_TRUNC on purpose
    else:
        flags = os.O_RDWR if plus else os.O_RDONLY
    return flags | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _set_name(f: Any, path: str) -> None:
    raw = getattr(f, "buffer", f)
    raw = getattr(raw, "raw", raw)
    if isinstance(raw, io.FileIO):
        # FileIO keeps its name in its __dict__, so it can be set
        raw.name = path


def reopen_file(
    path: str,
    mode: str,
    position: int | None,
    kind: str,
    encoding: str | None,
    errors: str | None,
    closed: bool,
) -> Any:
    """Reopen a file on the receiving side (see the module docstring for the rules)."""
    fmode = mode.replace("x", "w").replace("t", "")
    if closed:
        f: Any = open(os.devnull, "rb" if kind != "text" else "r")  # noqa: SIM115
        f.close()
        return f
    fd = os.open(path, _open_flags(fmode), 0o666)
    try:
        if kind == "text":
            f = open(fd, fmode.replace("b", ""), encoding=encoding, errors=errors)  # noqa: SIM115
        elif kind == "raw":
            f = open(fd, fmode if "b" in fmode else fmode + "b", buffering=0)  # noqa: SIM115
        else:
            f = open(fd, fmode if "b" in fmode else fmode + "b")  # noqa: SIM115
    except BaseException:
        os.close(fd)
        raise
    _set_name(f, path)
    if position is not None and "a" not in fmode:
        f.seek(position)
    return f


def reduce_file(f: Any) -> Any:
    name = std_name(f)
    if name is not None:
        return std_stream, (name,)
    path = getattr(f, "name", None)
    if not isinstance(path, str | bytes):
        reason = f"the file was opened from a file descriptor ({path!r}) and has no path"
        raise SerializationError(
            reason, reason=reason, hint="open it by path, or send the path instead of the file"
        )
    path = os.path.abspath(os.fsdecode(path))
    kind = _kind(f)
    mode = getattr(f, "mode", "r")  # FileIO: "rb", "rb+", "wb", ...; text: as passed to open()
    if f.closed:
        return reopen_file, (path, mode, None, kind, None, None, True)
    if f.writable():
        f.flush()
    try:
        position = f.tell() if f.seekable() else None
    except OSError:
        position = None
    return reopen_file, (
        path,
        mode,
        position,
        kind,
        getattr(f, "encoding", None),
        getattr(f, "errors", None),
        False,
    )


def make_mmap(data: bytes, position: int, closed: bool) -> mmap.mmap:
    m = mmap.mmap(-1, max(len(data), 1))
    if data:
        m.write(data)
    m.seek(position)
    if closed:
        m.close()
    return m


def reduce_mmap(m: mmap.mmap) -> Any:
    if m.closed:
        return make_mmap, (b"", 0, True)
    return make_mmap, (m[:], m.tell(), False)


def make_tempfile(file: Any, name: str) -> Any:
    return tempfile._TemporaryFileWrapper(file, name, delete=False)


def reduce_tempfile(t: Any) -> Any:
    return make_tempfile, (t.file, t.name)
