"""``register``: add a handler for a type (user handlers win over built-in ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from suitkaise.cerial import _registry
from suitkaise.cerial._errors import SerializationError
from suitkaise.cerial._reconnector import Reconnector, reduce_as

__all__ = ["register"]

R = TypeVar("R", bound=Callable[[Any], Any])

# Exact types the C pickler saves before it calls reducer_override (a subclass is fine).
_BUILTIN_FAST_PATH: frozenset[Any] = frozenset(
    {type(None), bool, int, float, str, bytes, bytearray, list, tuple, dict, set, frozenset}
)
# The same types by qualified name ("builtins.int"), refused as well.
_BUILTIN_FAST_PATH_NAMES: dict[str, str] = {
    _registry.qualname(t): t.__name__ for t in _BUILTIN_FAST_PATH
}


def _checked(reducer: Callable[[Any], Any]) -> Callable[[Any], Any]:
    name = getattr(reducer, "__qualname__", repr(reducer))

    def reduce(obj: Any) -> Any:
        rv = reducer(obj)
        if isinstance(rv, Reconnector):
            return reduce_as(rv)
        if isinstance(rv, str) or (isinstance(rv, tuple) and 2 <= len(rv) <= 6 and callable(rv[0])):
            return rv
        reason = (
            f"reducer {name} returned {type(rv).__name__}; expected a reduce tuple "
            "(callable, args[, state[, listitems[, dictitems[, state_setter]]]]) or a Reconnector"
        )
        raise SerializationError(reason, reason=reason, hint=f"fix the reducer {name}")

    reduce.__qualname__ = name
    reduce.__wrapped__ = reducer  # type: ignore[attr-defined]
    return reduce


@overload
def register(
    type_: type | str, reducer: None = None, *, subclasses: bool = False
) -> Callable[[R], R]: ...
@overload
def register(type_: type | str, reducer: R, *, subclasses: bool = False) -> R: ...
def register(
    type_: type | str, reducer: Callable[[Any], Any] | None = None, *, subclasses: bool = False
) -> Any:
    """Tell cerial how to carry objects of ``type_``; also usable as a decorator.

    The reducer receives the object and returns what ``__reduce__`` would: a tuple
    ``(callable, args[, state[, listitems[, dictitems[, state_setter]]]])``, whose callable is
    called with ``args`` on the receiving side. It may also return a :class:`Reconnector` for
    a live resource. Registered handlers win over cerial's built-in ones and over the class's
    own pickle protocol. Registering the same type again replaces the handler.

    Args:
        type_: The type, or its qualified name (``"module.QualName"``) to register it without
            importing the module that defines it (useful for optional client libraries).
        reducer: The reducer; omit it to use ``register`` as a decorator.
        subclasses: Also use this reducer for subclasses of ``type_`` (default: the exact
            type only, like ``copyreg``).

    Returns:
        The reducer (so it can decorate).

    Raises:
        TypeError: If ``type_`` is not a type or a string, is one of the builtin types the C
            pickler always writes itself (``int``, ``str``, ``list``, ``dict``, ...) or its
            qualified name (``"builtins.int"``), or ``reducer`` is not callable.

    Examples:
        >>> from suitkaise import cerial
        >>> class Celsius:
        ...     def __init__(self, degrees):
        ...         self.degrees = degrees
        >>> @cerial.register(Celsius)
        ... def _reduce_celsius(c):
        ...     return Celsius, (round(c.degrees, 1),)
        >>> cerial.deserialize(cerial.serialize(Celsius(21.04))).degrees
        21.0
    """
    if not isinstance(type_, type | str):
        raise TypeError(f"register() needs a type or a 'module.QualName' string, not {type_!r}")
    if isinstance(type_, str) and "." not in type_:
        raise TypeError(f"a type name must be qualified as 'module.QualName', not {type_!r}")
    if isinstance(type_, str):
        builtin_name = _BUILTIN_FAST_PATH_NAMES.get(type_)
    else:
        builtin_name = type_.__name__ if type_ in _BUILTIN_FAST_PATH else None
    if builtin_name is not None:
        raise TypeError(
            f"cannot register a reducer for {builtin_name}: the C pickler writes "
            "instances of this builtin type itself, without consulting any reducer"
        )

    def add(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if not callable(fn):
            raise TypeError(f"reducer must be callable, not {type(fn).__name__}")
        _registry.add_user(type_, _checked(fn), subclasses=subclasses)
        return fn

    if reducer is None:
        return add
    return add(reducer)


register.__module__ = "suitkaise.cerial"
