"""The cerial pickler: the C pickler, cloudpickle, and cerial's handlers, in one pass.

``CerialPickler`` subclasses ``cloudpickle.Pickler`` (itself the C ``pickle.Pickler``). Builtin
containers and scalars never reach Python code. For every other object the C pickler calls
``reducer_override``, which does one dict lookup keyed by the exact type (see ``_registry``):
most types resolve to "nothing to do" and go on to the C pickler's own path
(``copyreg.dispatch_table``, looked up in C, then ``__reduce_ex__``), classes and functions go
to cloudpickle, and the types pickle cannot handle go to cerial's handlers.

Each call builds its own pickler, so serializing is thread-safe. Nothing here keeps the
object graph alive after the call.

Data flow::

    dumps(obj, key) -> _dump_into: CerialPickler(chunks).dump(obj)
                       (RecursionError: _deep.run_deep retries; other errors: _walk.raise_for)
                    -> marker (version, length, CRC) [+ HMAC] + chunks -> bytes
    loads(data, key) -> [HMAC check] -> marker + CRC check -> pickle.loads(body)
                       (any error while loading -> DeserializationError)
"""

from __future__ import annotations

import copyreg
import hmac
import pickle
import zlib
from types import FunctionType
from typing import Any

import cloudpickle

from suitkaise.cerial import _format, _handlers, _registry  # noqa: F401  (_handlers fills the registry)
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
_copyreg_seen: dict[Any, Any] = dict(copyreg.dispatch_table)


def _sync_copyreg() -> None:
    """Forget cached decisions when ``copyreg.pickle`` was called since the last call."""
    global _copyreg_seen
    if copyreg.dispatch_table != _copyreg_seen:
        _copyreg_seen = dict(copyreg.dispatch_table)
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


def _dump_into(out: _Chunks, obj: Any) -> None:
    _sync_copyreg()
    # What cloudpickle.Pickler.__init__ and .dump do, without their two Python frames (a few
    # hundred ns per call, much of a small message's cost); dumps() handles RecursionError.
    p = CerialPickler.__new__(CerialPickler)
    _Pickler_init(p, out, 5)
    p.globals_ref = {}
    p.proto = 5
    _Pickler_dump(p, obj)


_TOO_DEEP = "nesting too deep"


def _dump_deep(obj: Any) -> _Chunks:
    """Retry in a thread with a big stack; return the chunks or raise what the pickler raised."""
    out = _Chunks()
    try:
        run_deep(lambda: _dump_into(out, obj))
    except Exception as exc:
        if is_recursion(exc):
            raise SerializationError(
                f"object is nested too deeply to serialize (more than about {DEEP_LIMIT // 2} "
                "levels, or a __reduce__ whose arguments lead back to the object itself); "
                "flatten it or serialize it in parts",
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
    """CRC-32 of the body without its large raw payloads; body length; those payloads."""
    if len(out) == 1:
        return zlib.crc32(out[0]), len(out[0]), []
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
    return crc, offset, regions


def dumps(obj: Any, key: bytes | None) -> bytes:
    """Serialize ``obj`` (see ``suitkaise.cerial.serialize``)."""
    out = _Chunks()
    try:
        _dump_into(out, obj)
    except Exception as exc:
        if is_recursion(exc):
            try:
                out = _dump_deep(obj)
            except Exception as deep_exc:
                if isinstance(deep_exc, SerializationError) and deep_exc.reason == _TOO_DEEP:
                    raise
                from suitkaise.cerial._walk import raise_for

                raise_for(obj, deep_exc)
        else:
            from suitkaise.cerial._walk import raise_for

            raise_for(obj, exc)
    if key is None:
        crc, length, regions = _checksum(out)
        prefix = _format.make_prefix(crc, length, regions)
        if len(out) == 1:
            return prefix + out[0]
        out.insert(0, prefix)
        return b"".join(out)
    # the HMAC covers every byte: no CRC needed
    if len(out) == 1:
        stream = _format.make_prefix(0, len(out[0])) + out[0]
        return _format.SIGNED_MAGIC + hmac.digest(key, stream, "sha256") + stream
    prefix = _format.make_prefix(0, sum(memoryview(c).nbytes for c in out))
    mac = hmac.new(key, prefix, "sha256")
    for chunk in out:
        mac.update(chunk)
    out.insert(0, _format.SIGNED_MAGIC + mac.digest() + prefix)
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


def loads(data: Any, key: bytes | None) -> Any:
    """Deserialize ``data`` (see ``suitkaise.cerial.deserialize``)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"deserialize() needs bytes (or a bytes-like object), not {type(data).__name__}"
        ) from None
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    signed = view[: len(_format.SIGNED_MAGIC)] == _format.SIGNED_MAGIC
    if key is not None:
        if not signed:
            raise DeserializationError(
                "payload is not signed but a key was given; refusing to load it"
            )
        if len(view) < _format.SIGNED_HEADER_LEN:
            raise DeserializationError("signed payload is truncated")
        mac = view[len(_format.SIGNED_MAGIC) : _format.SIGNED_HEADER_LEN]
        stream = view[_format.SIGNED_HEADER_LEN :]
        if not hmac.compare_digest(mac, hmac.digest(key, stream, "sha256")):
            raise DeserializationError(
                "payload signature does not match the key (tampered, corrupted, or signed "
                "with another key); refusing to load it"
            )
        body = _check_stream(stream, verify_crc=False)
    else:
        if signed:
            raise DeserializationError(
                "payload is signed; pass the key it was signed with: deserialize(data, key=...)"
            )
        body = _check_stream(view, verify_crc=True)
    try:
        # the marker is checked above: load the body, a complete pickle stream of its own
        return pickle.loads(body)
    except DeserializationError:
        raise
    except Exception as exc:
        raise DeserializationError(f"could not load payload: {type(exc).__name__}: {exc}") from exc
