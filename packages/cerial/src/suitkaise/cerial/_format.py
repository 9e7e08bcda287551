"""The cerial payload format.

An unsigned payload is a standard pickle stream (protocol 5)::

    PROTO 5
    suitkaise.cerial._format.check(FORMAT_VERSION, crc32)   # pushed, then POPped
    <the object, as written by the cerial pickler>
    STOP

The marker comes first, so ``pickle.loads`` (wherever cerial is installed) checks the format
version before anything else is loaded, and a mismatch is a clear ``DeserializationError``.
``crc32`` covers every byte after the marker; ``cerial.deserialize`` verifies it before
unpickling, so truncated or corrupted bytes never reach the unpickler (whose memo can be made to
allocate gigabytes by one flipped byte). ``pickle.loads`` cannot see the stream and ignores it.

A signed payload is ``SIGNED_MAGIC + HMAC-SHA256(key, stream) + stream``; the HMAC is checked
with ``hmac.compare_digest`` before anything is unpickled.

Code objects are wrapped by :func:`make_code`, which refuses code compiled by another Python
minor version with a readable error instead of a crash.
"""

from __future__ import annotations

import sys
import types
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
CRC_OFFSET = VERSION_OFFSET + 1 + 2  # version byte, then SHORT_BINBYTES opcode + length
#: TUPLE2, REDUCE, POP
TAIL = b"\x86R0"
PREFIX_LEN = CRC_OFFSET + 4 + len(TAIL)


def make_prefix(crc: int = 0) -> bytes:
    """Return the marker that starts every unsigned stream."""
    return HEAD + bytes([FORMAT_VERSION]) + b"C\x04" + crc.to_bytes(4, "little") + TAIL


SIGNED_MAGIC = b"\x00SKCERIAL-HMAC1"
MAC_LEN = 32
SIGNED_HEADER_LEN = len(SIGNED_MAGIC) + MAC_LEN


def check(version: int, crc: bytes) -> None:
    """Refuse a payload written in another cerial format version (called while loading).

    Args:
        version: The format version recorded in the payload.
        crc: The payload's checksum (verified by ``cerial.deserialize`` before loading).

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
