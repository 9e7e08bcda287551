"""The cerial payload format.

An unsigned payload is a standard pickle stream (protocol 5)::

    PROTO 5
    suitkaise.cerial._format.check(FORMAT_VERSION, meta)   # pushed, then POPped
    <the object, as written by the cerial pickler>          # "the body"
    STOP

The marker comes first, so ``pickle.loads`` (wherever cerial is installed) checks the format
version before anything else is loaded, and a mismatch is a clear ``DeserializationError``.

``meta`` records the body's length and a checksum, which ``cerial.deserialize`` verifies before
unpickling, so truncated or corrupted bytes never reach the unpickler (whose memo can be made to
allocate gigabytes by one flipped byte). The checksum is Adler-32 for a body shorter than
``SMALL_BODY`` bytes (zlib's CRC-32 costs about 300 ns on 100 bytes, Adler-32 under 100 ns, and
any one damaged byte still changes it) and CRC-32 for longer ones. It is called "the CRC" below
and in the code. The CRC covers the whole pickle structure; the content
of *large raw payloads* (a bytes, str, bytearray or out-of-band buffer of at least
``RAW_MIN`` bytes, written by the pickler as one block after its length header) is listed as a
region and left out, so a 50 MB array is not checksummed twice per round trip. Damage there
cannot reach the unpickler's structure; the regions are checked to sit right after a length
header that matches them. ``pickle.loads`` ignores ``meta``.

A signed payload is ``SIGNED_MAGIC + HMAC-SHA256(key, stream) + stream``; the HMAC (checked
with ``hmac.compare_digest`` before anything is unpickled) covers every byte, so the stream's
CRC is not computed (``0``).

Code objects are wrapped by :func:`make_code`, which refuses code compiled by another Python
minor version with a readable error instead of a crash.
"""

from __future__ import annotations

import struct
import sys
import types
import zlib
from typing import Any

from suitkaise.cerial._errors import DeserializationError

FORMAT_VERSION = 1

_MODULE = b"suitkaise.cerial._format"
_NAME = b"check"

#: Everything before the version byte.
HEAD = (
    b"\x80\x05"  # PROTO 5
    + b"\x8c"
    + bytes([len(_MODULE)])
    + _MODULE  # SHORT_BINUNICODE
    + b"\x8c"
    + bytes([len(_NAME)])
    + _NAME
    + b"\x93"  # STACK_GLOBAL
    + b"K"  # BININT1 <version>
)
VERSION_OFFSET = len(HEAD)
META_OFFSET = VERSION_OFFSET + 1 + 5  # version byte, then BINBYTES opcode + 4-byte length
#: TUPLE2, REDUCE, POP
TAIL = b"\x86R0"
_META = struct.Struct("<IQI")  # crc32, body length, number of raw regions
_REGION = struct.Struct("<QQ")  # offset in the body, length
#: Raw payloads at least this big are left out of the CRC (see the module docstring).
RAW_MIN = 1 << 20

#: Bodies shorter than this are checked with Adler-32 (see the module docstring).
SMALL_BODY = 1024


def checksum(body: Any) -> int:
    """The checksum recorded for a body without raw regions (Adler-32 or CRC-32, by size)."""
    if len(body) < SMALL_BODY:
        return zlib.adler32(body)
    return zlib.crc32(body)


SIGNED_MAGIC = b"\x00SKCERIAL-HMAC1"
MAC_LEN = 32
SIGNED_HEADER_LEN = len(SIGNED_MAGIC) + MAC_LEN
_BASE = HEAD + bytes([FORMAT_VERSION]) + b"B"


_BASE_PLAIN = _BASE + _META.size.to_bytes(4, "little")
# head, version, opcode, meta length, crc, body length, region count
_FIXED = struct.Struct(f"<{len(HEAD)}sBcIIQI")
#: The whole marker of a stream without raw regions (the usual case, and every small
#: message): constant bytes, crc, body length, region count (0), TAIL. One pack or unpack.
PLAIN = struct.Struct(f"<{len(_BASE_PLAIN)}sIQI{len(TAIL)}s")
PLAIN_BASE = _BASE_PLAIN
PLAIN_LEN = PLAIN.size


def make_prefix(crc: int, length: int, regions: list[tuple[int, int]] | tuple[()] = ()) -> bytes:
    """Return the marker that starts every stream."""
    if not regions:
        return PLAIN.pack(_BASE_PLAIN, crc, length, 0, TAIL)
    meta = _META.pack(crc, length, len(regions)) + b"".join(_REGION.pack(*r) for r in regions)
    return _BASE + len(meta).to_bytes(4, "little") + meta + TAIL


def parse_prefix(data: memoryview) -> tuple[int, int, int, list[tuple[int, int]]]:
    """Return (prefix length, crc, body length, raw regions) of a stream, or raise."""
    n = len(data)
    if n < _FIXED.size + len(TAIL):
        raise DeserializationError(
            f"not a cerial payload ({n} bytes; too short or missing cerial's marker)"
        )
    head, version, opcode, meta_len, crc, length, count = _FIXED.unpack_from(data)
    if head != HEAD:
        raise DeserializationError(f"not a cerial payload ({n} bytes; missing cerial's marker)")
    if version != FORMAT_VERSION:
        check(version, b"")
    if opcode != b"B":
        raise DeserializationError("not a cerial payload (damaged marker)")
    end = META_OFFSET + meta_len
    if meta_len != _META.size + count * _REGION.size or end + len(TAIL) > n:
        raise DeserializationError("payload is corrupted or truncated (damaged marker)")
    if bytes(data[end : end + len(TAIL)]) != TAIL:
        raise DeserializationError("payload is corrupted or truncated (damaged marker)")
    if not count:
        return end + len(TAIL), crc, length, []
    regions = [
        _REGION.unpack_from(data, META_OFFSET + _META.size + i * _REGION.size) for i in range(count)
    ]
    return end + len(TAIL), crc, length, regions


def check(version: int, meta: bytes) -> None:
    """Refuse a payload written in another cerial format version (called while loading).

    Args:
        version: The format version recorded in the payload.
        meta: Length and checksum of the payload (verified by ``cerial.deserialize`` before
            loading; ignored here).

    Raises:
        DeserializationError: When ``version`` is not this cerial's format version.
    """
    if version != FORMAT_VERSION:
        raise DeserializationError(
            f"payload uses cerial format version {version}; this suitkaise-cerial reads "
            f"version {FORMAT_VERSION} (serialize and deserialize with the same cerial version)"
        )


def make_code(python: tuple[int, int], args: tuple[Any, ...]) -> types.CodeType:
    """Rebuild a code object, refusing one compiled by another Python minor version.

    Raises:
        DeserializationError: When ``python`` differs from this interpreter's version.
    """
    here = tuple(sys.version_info[:2])
    if tuple(python) != here:
        raise DeserializationError(
            f"payload carries code compiled by Python {python[0]}.{python[1]}; this is Python "
            f"{here[0]}.{here[1]}. Functions and classes carried by value need the same Python "
            "minor version on both sides."
        )
    return types.CodeType(*args)
