"""HMAC-SHA256 with the key's padded states computed once per key.

``hmac.digest(key, msg, "sha256")`` sets up a new OpenSSL HMAC context on every call (about
2 µs with OpenSSL 3, more than pickling a small message). HMAC (RFC 2104) is
``H((K ^ opad) || H((K ^ ipad) || msg))``: the SHA-256 states after the two padded key blocks
depend only on the key, so they are computed once per key and copied for each message (about
0.8 µs). The result is byte for byte ``hmac.digest(key, msg, "sha256")``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

_BLOCK = 64  # SHA-256 block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_MAX_KEYS = 32  # processing uses one key per run; a bound keeps odd callers from growing it

_states: dict[bytes, tuple[Any, Any]] = {}


def _pads(key: bytes) -> tuple[Any, Any]:
    pads = _states.get(key)
    if pads is None:
        block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        block = block.ljust(_BLOCK, b"\0")
        pads = (hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD)))
        if len(_states) >= _MAX_KEYS:
            _states.clear()
        _states[key] = pads
    return pads


def digest(key: bytes, msg: Any) -> bytes:
    """Return HMAC-SHA256(key, msg) for one bytes-like ``msg``."""
    inner_pad, outer_pad = _pads(key)
    inner = inner_pad.copy()
    inner.update(msg)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.digest()  # type: ignore[no-any-return]


def digest_parts(key: bytes, parts: Iterable[Any]) -> bytes:
    """Return HMAC-SHA256(key, b"".join(parts)) without joining the parts."""
    inner_pad, outer_pad = _pads(key)
    inner = inner_pad.copy()
    for part in parts:
        inner.update(part)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.digest()  # type: ignore[no-any-return]
