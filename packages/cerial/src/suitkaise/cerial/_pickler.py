"""The cerial pickler: the C pickler, cloudpickle, and cerial's handlers, in one pass.

``CerialPickler`` subclasses ``cloudpickle.Pickler`` (itself the C ``pickle.Pickler``). Builtin
containers and scalars never reach Python code. For every other object the C pickler calls
``reducer_override``, which does one dict lookup keyed by the exact type (see ``_registry``):
most types resolve to "nothing to do" and go on to the C pickler's own path
(``copyreg.dispatch_table``, looked up in C, then ``__reduce_ex__``), classes and functions go
to cloudpickle, and the types pickle cannot handle go to cerial's handlers.

Picklers are reused (building one costs about as much as pickling a small message): a call
takes an idle one from a small pool and puts it back when done, so no two calls (threads, or a
``serialize`` nested inside a reducer) ever share one and serializing is thread-safe. After
each call the pickler's memo and cloudpickle's globals map are emptied: nothing here keeps the
object graph alive after the call. A pickler that raised is dropped.

Data flow::

    dumps(obj, key) -> an idle pooled CerialPickler(chunks).dump(obj)
                       (RecursionError: _deep.run_deep retries; other errors: _walk.raise_for)
                    -> marker (version, length, CRC) [+ HMAC] + chunks -> bytes
    loads(data, key) -> [HMAC check] -> marker + CRC check -> pickle.loads(body)
                       (any error while loading -> DeserializationError)
"""

from __future__ import annotations

import copyreg
import hmac
import pickle
import sys
import zlib
from types import FunctionType
from typing import Any

import cloudpickle

from suitkaise.cerial import _format, _handlers, _mac, _registry  # noqa: F401  (_handlers fills the registry)
from suitkaise.cerial._deep import DEEP_LIMIT, is_recursion, run_deep
from suitkaise.cerial._errors import DeserializationError, SerializationError
from suitkaise.cerial._handlers.functions import share_cells as _share_cells

_cloud_reducer_override = cloudpickle.Pickler.reducer_override
_cache = _registry._cache
_resolve = _registry.resolve
_CLOUD = _registry.CLOUD
_MISS = object()

# The pickler has *no* ``dispatch_table`` value (the member below hides cloudpickle's
# ChainMap): the C pickler then looks types up in ``copyreg.dispatch_table`` with a plain C dict
# lookup. Any Python-level table, even a plain dict assigned to the attribute, costs a raised and
# cleared KeyError per object (about 1 us: 18 ms instead of 8 ms for 10k dataclass instances).
# cloudpickle's own table is consulted by ``_registry.resolve`` instead, once per type.
#
# The cached decisions (``_registry._cache``) depend only on which types are *keys* of
# ``copyreg.dispatch_table`` (``_registry._resolve`` tests membership, never the value), and a
# reducer replaced for an existing key is read by the C pickler from copyreg itself at each
# object. So a decision only goes stale when a key is added or removed, which changes the
# length: one ``len`` per call instead of comparing the whole table (568 ns at 63 entries).
# Not noticed: as many keys deleted as added between two calls (copyreg has no API to delete).
_copyreg_len = len(copyreg.dispatch_table)


def _sync_copyreg() -> None:
    """Forget cached decisions when ``copyreg.pickle`` added a type since the last call."""
    global _copyreg_len
    if len(copyreg.dispatch_table) != _copyreg_len:
        _copyreg_len = len(copyreg.dispatch_table)
        _cache.clear()


class CerialPickler(cloudpickle.Pickler):  # type: ignore[misc]
    """cloudpickle's pickler with cerial's handler registry in front of it."""

    # The C pickler's own (empty) member descriptor: reading it raises AttributeError in C,
    # so the pickler falls back to copyreg's table, with no Python frame per pickler.
    dispatch_table = pickle.Pickler.__dict__["dispatch_table"]

    def reducer_override(self, obj: Any) -> Any:
        t = type(obj)
        r = _cache.get(t, _MISS)
        if r is _MISS:
            r = _resolve(t)
        if r is None:
            return NotImplemented
        if r is _CLOUD:
            rv = _cloud_reducer_override(self, obj)
            if t is FunctionType and rv is not NotImplemented:
                return _share_cells(obj, rv)
            return rv
        return r(obj)


class _Chunks(list[bytes]):
    """The pickler's output file: keeps the chunks it writes, without copying them.

    The C pickler hands large ``bytes`` payloads (>= 64 KiB) to ``write`` as the original object
    and flushes its own buffer in frames, so a 50 MB bytes object is never copied before the
    single final ``join``, exactly like ``pickle.dumps``.
    """

    write = list.append


_Pickler_init = pickle.Pickler.__init__
_Pickler_dump = pickle.Pickler.dump


def _new_pickler(out: _Chunks) -> CerialPickler:
    # What cloudpickle.Pickler.__init__ does, without its Python frame; dumps() calls the C
    # pickler's dump directly (cloudpickle's turns RecursionError into a PicklingError).
    p = CerialPickler.__new__(CerialPickler)
    _Pickler_init(p, out, 5)
    p.globals_ref = {}
    p.proto = 5
    return p


def _dump_into(out: _Chunks, obj: Any) -> None:
    """Pickle ``obj`` into ``out`` with a pickler of its own (the deep-recursion retry)."""
    _sync_copyreg()
    _Pickler_dump(_new_pickler(out), obj)


class _PyCerialPickler(pickle._Pickler):
    """``CerialPickler`` on the pure-Python pickler: same reducers, same output format.

    From Python 3.12 the C pickler's nesting is bounded by the interpreter's fixed C recursion
    limit (a few thousand levels), which neither ``sys.setrecursionlimit`` nor a big thread
    stack raises; the Python pickler recurses in Python frames, which they do. Several times
    slower, so it serves only the deep retry.
    """

    dispatch_table = cloudpickle.Pickler.dispatch_table
    _dynamic_function_reduce = cloudpickle.Pickler._dynamic_function_reduce
    _function_reduce = cloudpickle.Pickler._function_reduce
    _function_getnewargs = cloudpickle.Pickler._function_getnewargs
    reducer_override = CerialPickler.reducer_override

    def __init__(self, out: _Chunks) -> None:
        super().__init__(_Copying(out), 5)
        self.globals_ref: dict[int, Any] = {}


class _Copying:
    """A file that keeps copies: pickle.py's framer writes views of a buffer that lives on."""

    def __init__(self, out: _Chunks) -> None:
        self._append = out.append

    def write(self, data: Any) -> None:
        self._append(bytes(data))


def _dump_into_python(out: _Chunks, obj: Any) -> None:
    """``_dump_into`` with the pure-Python pickler (deep objects on Python 3.12+)."""
    _sync_copyreg()
    _PyCerialPickler(out).dump(obj)


# Idle picklers with their output lists. A call pops one (list.pop and append are atomic), so
# no two calls share a pickler, and a serialize nested inside a reducer takes or builds another.
_idle: list[tuple[CerialPickler, _Chunks]] = []
_MAX_IDLE = 8  # more than this many threads serializing at once build the extra ones per call
# The C pickler's memo table never shrinks, and clear_memo() zeroes all of it (350 us after a
# 200k-object dump, on every later call): after a body larger than this the memo is replaced.
_MEMO_CLEAR_MAX = 512


def _give_back(p: CerialPickler, out: _Chunks, size: int) -> None:
    if size <= _MEMO_CLEAR_MAX:
        p.clear_memo()
    else:
        p.memo = {}
    if p.globals_ref:
        p.globals_ref = {}
    if len(_idle) < _MAX_IDLE:
        _idle.append((p, out))


_TOO_DEEP = "nesting too deep"
# Python 3.12 and 3.13 bound every call that goes through C by a fixed limit that no thread stack
# or sys.setrecursionlimit raises: the pure-Python pickler then still nests lists, tuples and
# dicts about DEEP_LIMIT / 2 deep, but objects pickled through __reduce__ only a few thousand.
_C_STACK_BOUND = (3, 12) <= sys.version_info < (3, 14)
_DEPTH_REACH = (
    f"more than about {DEEP_LIMIT // 2} levels of lists, tuples and dicts, or a few thousand "
    f"levels of other objects on Python 3.12 and 3.13"
    if _C_STACK_BOUND
    else f"more than about {DEEP_LIMIT // 2} levels"
)


def _dump_deep(obj: Any) -> _Chunks:
    """Retry in a thread with a big stack; return the chunks or raise what the pickler raised."""
    out = _Chunks()
    dump = _dump_into_python if _C_STACK_BOUND else _dump_into
    try:
        run_deep(lambda: dump(out, obj))
    except Exception as exc:
        if is_recursion(exc):
            raise SerializationError(
                f"object is nested too deeply to serialize ({_DEPTH_REACH}, or a __reduce__ "
                "whose arguments lead back to the object itself); flatten it or serialize it "
                "in parts",
                path=None,
                type_name=_registry.qualname(type(obj)),
                reason=_TOO_DEEP,
                hint="flatten the structure or serialize it in parts",
            ) from None
        raise
    return out


_RAW_HEADERS_4 = frozenset(b"BX")  # BINBYTES, BINUNICODE: 4-byte length
_RAW_HEADERS_8 = frozenset(b"\x8e\x8d\x96")  # BINBYTES8, BINUNICODE8, BYTEARRAY8: 8 bytes


def _follows_header(before: memoryview, size: int) -> bool:
    """Whether ``before`` ends with a pickle length header announcing ``size`` raw bytes."""
    n = len(before)
    if (
        n >= 9
        and before[n - 9] in _RAW_HEADERS_8
        and (int.from_bytes(before[n - 8 :], "little") == size)
    ):
        return True
    return (
        n >= 5
        and before[n - 5] in _RAW_HEADERS_4
        and (int.from_bytes(before[n - 4 :], "little") == size)
    )


def _checksum(out: _Chunks) -> tuple[int, int, list[tuple[int, int]]]:
    """Checksum of the body without its large raw payloads; body length; those payloads.

    The checksum is Adler-32 for a body shorter than ``_format.SMALL_BODY`` bytes, else CRC-32
    (see ``_format``).
    """
    if len(out) == 1:
        return _format.checksum(out[0]), len(out[0]), []
    crc = 0
    offset = 0
    regions: list[tuple[int, int]] = []
    prev: Any = b""
    for chunk in out:
        view = memoryview(chunk).cast("B")
        size = len(view)
        if size >= _format.RAW_MIN and _follows_header(memoryview(prev).cast("B")[-9:], size):
            regions.append((offset, size))
        else:
            crc = zlib.crc32(view, crc)
        offset += size
        prev = chunk
    if offset < _format.SMALL_BODY:  # only with a user's tiny writes; never from the C pickler
        return _format.checksum(b"".join(out)), offset, regions
    return crc, offset, regions


def _dump_failed(obj: Any, exc: Exception) -> _Chunks:
    """Retry a too-deep object in a big-stack thread, or raise a SerializationError."""
    if is_recursion(exc):
        try:
            return _dump_deep(obj)
        except Exception as deep_exc:
            if isinstance(deep_exc, SerializationError) and deep_exc.reason == _TOO_DEEP:
                raise
            exc = deep_exc
    from suitkaise.cerial._walk import raise_for

    raise_for(obj, exc)
    raise AssertionError("unreachable")  # raise_for always raises


def dumps(obj: Any, key: bytes | None) -> bytes:
    """Serialize ``obj`` (see ``suitkaise.cerial.serialize``)."""
    if len(copyreg.dispatch_table) != _copyreg_len:
        _sync_copyreg()
    try:
        p, out = _idle.pop()
    except IndexError:
        out = _Chunks()
        p = _new_pickler(out)
    try:
        _Pickler_dump(p, obj)
    except Exception as exc:  # the pickler is dropped: its state is unknown
        out = _dump_failed(obj, exc)
    else:
        if len(out) == 1:  # small and medium payloads: one chunk, always bytes
            body = out.pop()
            size = len(body)
            if size <= _MEMO_CLEAR_MAX and not p.globals_ref and len(_idle) < _MAX_IDLE:
                p.clear_memo()  # _give_back, inlined for small messages
                _idle.append((p, out))
            else:
                _give_back(p, out, size)
            if key is None:
                return (
                    _format.PLAIN.pack(
                        _format.PLAIN_BASE,
                        zlib.adler32(body) if size < _SMALL_CHECK else zlib.crc32(body),
                        size,
                        0,
                        _format.TAIL,
                    )
                    + body
                )
            # the HMAC covers every byte: no CRC needed
            stream = _format.PLAIN.pack(_format.PLAIN_BASE, 0, size, 0, _format.TAIL) + body
            return _format.SIGNED_MAGIC + _mac.digest(key, stream) + stream
        chunks = _Chunks(out)
        out.clear()
        _give_back(p, out, _MEMO_CLEAR_MAX + 1)
        out = chunks
    if key is None:
        crc, length, regions = _checksum(out)
        out.insert(0, _format.make_prefix(crc, length, regions))
        return b"".join(out)
    prefix = _format.make_prefix(0, sum(memoryview(c).nbytes for c in out))
    out.insert(0, prefix)
    mac = _mac.digest_parts(key, out)
    out.insert(0, _format.SIGNED_MAGIC + mac)
    return b"".join(out)


def _check_stream(data: memoryview, verify_crc: bool) -> memoryview:
    """Verify the marker (and the CRC); return the body, itself a complete pickle stream."""
    start, crc, length, regions = _format.parse_prefix(data)
    body = data[start:]
    n = len(body)
    if n != length:
        raise DeserializationError(
            f"payload is corrupted or truncated (body is {n} bytes, expected {length})"
        )
    if not verify_crc:
        return body
    if not regions and n < _format.SMALL_BODY:
        if _format.checksum(body) != crc:
            raise DeserializationError(
                f"payload is corrupted or truncated ({len(data)} bytes; checksum does not match)"
            )
        return body
    actual = 0
    pos = 0
    for off, size in regions:
        if off < pos or off + size > n or not _follows_header(body[max(0, off - 9) : off], size):
            raise DeserializationError("payload is corrupted (damaged marker)")
        actual = zlib.crc32(body[pos:off], actual)
        pos = off + size
    actual = zlib.crc32(body[pos:], actual)
    if actual != crc:
        raise DeserializationError(
            f"payload is corrupted or truncated ({len(data)} bytes; checksum does not match)"
        )
    return body


def _body(stream: Any, verify_crc: bool) -> Any:
    """The body of a stream with the usual marker, verified; None for any other marker.

    ``stream`` is at least ``_PLAIN_LEN`` bytes. The usual marker (no raw regions, this format
    version) is checked with one unpack; anything else (raw regions, another version, damage)
    goes through ``_check_stream`` for the precise error.
    """
    base, crc, length, count, tail = _PLAIN_unpack(stream)
    if base != _PLAIN_BASE or count or tail != _TAIL:
        return None
    body = stream[_PLAIN_LEN:]
    if len(body) != length:
        raise DeserializationError(
            f"payload is corrupted or truncated (body is {len(body)} bytes, expected {length})"
        )
    if verify_crc and (zlib.adler32(body) if length < _SMALL_CHECK else zlib.crc32(body)) != crc:
        raise DeserializationError(
            f"payload is corrupted or truncated ({len(stream)} bytes; checksum does not match)"
        )
    return body


_SMALL_CHECK = _format.SMALL_BODY
_PLAIN_unpack = _format.PLAIN.unpack_from
_PLAIN_LEN = _format.PLAIN_LEN
_PLAIN_BASE = _format.PLAIN_BASE
_TAIL = _format.TAIL
_MAGIC = _format.SIGNED_MAGIC
_MAGIC_LEN = len(_MAGIC)
_HEADER_LEN = _format.SIGNED_HEADER_LEN


# Small bytes payloads are sliced as bytes (copying a few hundred bytes is cheaper than a
# memoryview and its slices); larger ones through a memoryview, never copied.
_COPY_MAX = 4096


def _unsigned_fallback(view: Any) -> Any:
    if view[:_MAGIC_LEN] == _MAGIC:
        raise DeserializationError(
            "payload is signed; pass the key it was signed with: deserialize(data, key=...)"
        )
    return _check_stream(view, verify_crc=True)


def loads(data: Any, key: bytes | None) -> Any:
    """Deserialize ``data`` (see ``suitkaise.cerial.deserialize``)."""
    if type(data) is bytes and len(data) <= _COPY_MAX:
        view: Any = data
    else:
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(
                f"deserialize() needs bytes (or a bytes-like object), not {type(data).__name__}"
            ) from None
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
    if key is None:
        body = _body(view, verify_crc=True) if len(view) >= _PLAIN_LEN else None
        if body is None:
            body = _unsigned_fallback(view)
    else:
        if view[:_MAGIC_LEN] != _MAGIC:
            raise DeserializationError(
                "payload is not signed but a key was given; refusing to load it"
            )
        if len(view) < _HEADER_LEN:
            raise DeserializationError("signed payload is truncated")
        stream = view[_HEADER_LEN:]
        if not hmac.compare_digest(view[_MAGIC_LEN:_HEADER_LEN], _mac.digest(key, stream)):
            raise DeserializationError(
                "payload signature does not match the key (tampered, corrupted, or signed "
                "with another key); refusing to load it"
            )
        body = _body(stream, verify_crc=False) if len(stream) >= _PLAIN_LEN else None
        if body is None:
            body = _check_stream(stream, verify_crc=False)
    try:
        # the marker is checked above: load the body, a complete pickle stream of its own
        return pickle.loads(body)
    except DeserializationError:
        raise
    except Exception as exc:
        raise DeserializationError(f"could not load payload: {type(exc).__name__}: {exc}") from exc
