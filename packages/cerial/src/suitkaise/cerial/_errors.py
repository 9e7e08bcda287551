"""Errors raised by suitkaise.cerial.

One base, :class:`CerialError`; each concrete error also inherits the builtin or stdlib class
users already catch around ``pickle`` (``pickle.PicklingError``/``TypeError`` for
serialization, ``pickle.UnpicklingError`` for deserialization, ``ConnectionError`` for
reconnecting). Data lives on attributes; every error survives a pickle round trip because its
constructor takes the message as the only positional argument and the attributes travel in
``__dict__``.
"""

from __future__ import annotations

import pickle

__all__ = ["CerialError", "DeserializationError", "ReconnectError", "SerializationError"]


class CerialError(Exception):
    """Base class of every error raised by :mod:`suitkaise.cerial`.

    Examples:
        >>> from suitkaise import cerial
        >>> issubclass(cerial.SerializationError, cerial.CerialError)
        True
    """


class SerializationError(CerialError, pickle.PicklingError, TypeError):
    """An object (or a part of it) cannot be serialized.

    Attributes:
        path: Where the failing part sits inside the object, e.g. ``Worker.pool.conns[2].sock``
            (``None`` when unknown).
        type_name: Qualified name of the failing part's type.
        reason: Why it failed (the underlying message).
        hint: What to do about it, when cerial knows (may be ``None``).

    Examples:
        >>> from suitkaise import cerial
        >>> try:
        ...     cerial.serialize({"gen": (i for i in range(3))})
        ... except cerial.SerializationError as e:
        ...     print(e.path)
        dict['gen']
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        type_name: str | None = None,
        reason: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.type_name = type_name
        self.reason = reason
        self.hint = hint


class DeserializationError(CerialError, pickle.UnpicklingError):
    """Bytes that cannot be turned back into an object.

    Raised for truncated, corrupted or random bytes, a different cerial format version, code
    compiled by a different Python minor version, a bad or missing signature, and any error
    raised while loading (available as ``__cause__``).

    Examples:
        >>> from suitkaise import cerial
        >>> try:
        ...     cerial.deserialize(b"not a payload")
        ... except cerial.DeserializationError as e:
        ...     print(type(e).__name__)
        DeserializationError
    """


class ReconnectError(CerialError, ConnectionError):
    """A :class:`~suitkaise.cerial.Reconnector` could not revive its resource.

    Attributes:
        path: Where the reconnector sits inside the object passed to ``reconnect_all``.
        resource: The reconnector's readable description of the resource.

    Examples:
        >>> from suitkaise import cerial
        >>> issubclass(cerial.ReconnectError, ConnectionError)
        True
    """

    def __init__(
        self, message: str, *, path: str | None = None, resource: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.resource = resource


for _cls in (CerialError, SerializationError, DeserializationError, ReconnectError):
    _cls.__module__ = "suitkaise.cerial"
del _cls
