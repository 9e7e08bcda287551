"""The public functions ``serialize`` and ``deserialize``.

The heavy parts (cloudpickle, the pickler, the handlers) are imported on first use, so
``import suitkaise.cerial`` stays cheap.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["deserialize", "serialize"]

_impl: ModuleType | None = None  # suitkaise.cerial._pickler, imported on first use


def _load_impl() -> ModuleType:
    global _impl
    from suitkaise.cerial import _pickler

    _impl = _pickler
    return _pickler


def _normalize_key(key: bytes | str | None) -> bytes | None:
    if type(key) is bytes and key:
        return key
    if key is None:
        return None
    if isinstance(key, str):
        out = key.encode("utf-8")
    elif isinstance(key, bytes | bytearray | memoryview):
        out = bytes(key)
    else:
        raise TypeError(f"key must be bytes or str, not {type(key).__name__}")
    if not out:
        raise ValueError("key must not be empty")
    return out


def serialize(obj: Any, *, key: bytes | str | None = None) -> bytes:
    """Serialize ``obj`` to bytes.

    Plain data goes through the C pickler; functions, lambdas, closures and classes defined in
    ``__main__`` (or inside functions) travel by value (cloudpickle); locks, queues, loggers,
    open files, regex matches and the other types of the supported-types table go through
    cerial's handlers; live resources (sockets, database connections, threads) become
    :class:`Reconnector` placeholders, revived with :func:`reconnect_all`.

    The result is a standard pickle stream (protocol 5) unless ``key`` is given, in which case
    it is signed with HMAC-SHA256 and only ``deserialize(data, key=key)`` loads it.

    Args:
        obj: Any object.
        key: Optional secret (bytes or str) to sign the payload with.

    Returns:
        The payload.

    Raises:
        SerializationError: If a part of ``obj`` cannot be serialized; the error names the path
            to that part (e.g. ``Worker.pool.conns[2].sock``), its type and the reason.
        TypeError: If ``key`` is not bytes or str.
        ValueError: If ``key`` is empty.

    Examples:
        >>> import threading
        >>> from suitkaise import cerial
        >>> lock = threading.Lock(); lock.acquire()
        True
        >>> cerial.deserialize(cerial.serialize({"lock": lock}))["lock"].locked()
        True
    """
    impl = _impl or _load_impl()
    return impl.dumps(obj, None if key is None else _normalize_key(key))  # type: ignore[no-any-return]


def deserialize(data: bytes | bytearray | memoryview, *, key: bytes | str | None = None) -> Any:
    """Turn bytes made by :func:`serialize` back into an object.

    Deserializing can run code, exactly like ``pickle.loads``: only load payloads you trust,
    and use ``key=`` between processes so that tampered payloads are rejected before anything
    is loaded.

    Args:
        data: The payload.
        key: The key the payload was signed with (required for signed payloads).

    Returns:
        The object.

    Raises:
        DeserializationError: For truncated, corrupted or random bytes, another cerial format
            version, code compiled by another Python minor version, a bad or missing signature,
            or any error raised while loading (chained as ``__cause__``).
        TypeError: If ``data`` is not bytes-like or ``key`` is not bytes or str.

    Examples:
        >>> from suitkaise import cerial
        >>> payload = cerial.serialize(lambda x: x + 1, key="secret")
        >>> cerial.deserialize(payload, key="secret")(41)
        42
    """
    impl = _impl or _load_impl()
    return impl.loads(data, None if key is None else _normalize_key(key))


serialize.__module__ = "suitkaise.cerial"
deserialize.__module__ = "suitkaise.cerial"
