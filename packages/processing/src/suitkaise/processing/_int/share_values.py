"""Scalar values read from a Share, and how ``share.x += n`` stays atomic.

Python runs ``share.counter += 1`` as three steps: get ``share.counter``, call ``__iadd__`` on
the result, set ``share.counter`` to what that returned. To make the whole statement one atomic
operation in the coordinator, a scalar read from a Share comes back as a *tagged value*: an
instance of a subclass of its own type (``int``, ``float``, ``complex``, ``str``, ``bytes``,
``tuple``, ``frozenset``) that remembers where it was read. It is the value in every other
respect (arithmetic, comparison, hashing, formatting, pickling all give plain results).

Its in-place operators do not touch the Share: they return a *pending result*, the locally
computed result tagged with the operation (``iadd``, operand) and the place it came from. When
the Share (or a proxy) is asked to store a pending result back at that same place, it sends
one ``AUGMENT`` request instead of the value, and the coordinator applies the operation to the
current value. So:

* ``share.counter += 1`` is one atomic read-modify-write, whatever other processes do;
* ``x = share.counter; x += 1`` changes only ``x`` (nothing is sent), as with a plain int;
* a pending result stored somewhere else is stored as its plain value.

``None`` and ``bool`` cannot be subclassed; they come back plain (``share.x is None`` works), and
an augmented assignment on them is an ordinary get-then-set.
"""

from __future__ import annotations

import operator
from typing import Any

from suitkaise.processing._int.share_protocol import INPLACE_OPS, Path


class _Tagged:
    """Mixin of tagged values: remembers the Share client and the path it was read from."""

    _sk_client: Any
    _sk_path: Path
    _sk_plain: type

    def __reduce__(self) -> tuple[Any, ...]:
        return (self._sk_plain, (self._sk_plain(self),))

    def __copy__(self) -> Any:
        return self._sk_plain(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self._sk_plain(self)


class _Pending(_Tagged):
    """A result of an in-place operator on a tagged value, not yet stored anywhere."""

    _sk_op: str
    _sk_operand: Any


def _inplace(op_name: str) -> Any:
    binary = getattr(operator, op_name[1:] if op_name not in ("iand", "ior") else op_name[1:] + "_")

    def method(self: _Tagged, other: Any) -> Any:
        result = binary(self._sk_plain(self), other)
        pending_cls = PENDING_TYPES.get(type(result))
        if pending_cls is None:
            return result  # e.g. an int += numpy value: stored as an ordinary set
        pending = pending_cls(result)
        pending._sk_client = self._sk_client
        pending._sk_path = self._sk_path
        pending._sk_op = op_name
        pending._sk_operand = other
        return pending

    method.__name__ = f"__{op_name}__"
    return method


for _op in INPLACE_OPS:
    setattr(_Tagged, f"__{_op}__", _inplace(_op))
del _op


def _plain_inplace(op_name: str) -> Any:
    # A pending result used again in place (x += 1; x += 1) is just a local value.
    binary = getattr(operator, op_name[1:] if op_name not in ("iand", "ior") else op_name[1:] + "_")

    def method(self: _Pending, other: Any) -> Any:
        return binary(self._sk_plain(self), other)

    method.__name__ = f"__{op_name}__"
    return method


for _op in INPLACE_OPS:
    setattr(_Pending, f"__{_op}__", _plain_inplace(_op))
del _op


TAGGED_TYPES: dict[type, type] = {}
PENDING_TYPES: dict[type, type] = {}

for _plain in (int, float, complex, str, bytes, tuple, frozenset):
    _name = _plain.__name__.capitalize()
    TAGGED_TYPES[_plain] = type(f"Shared{_name}", (_Tagged, _plain), {"_sk_plain": _plain})
    PENDING_TYPES[_plain] = type(f"Pending{_name}", (_Pending, _plain), {"_sk_plain": _plain})
del _plain, _name

_PENDING_CLASSES = frozenset(PENDING_TYPES.values())
_TAGGED_CLASSES = frozenset(TAGGED_TYPES.values()) | _PENDING_CLASSES


def tag(value: Any, client: Any, path: Path) -> Any:
    """Return ``value`` as a tagged value read from ``path`` (plain if it cannot be tagged)."""
    cls = TAGGED_TYPES.get(type(value))
    if cls is None:
        return value
    tagged = cls(value)
    tagged._sk_client = client
    tagged._sk_path = path
    return tagged


def pending_for(value: Any, client: Any, path: Path) -> _Pending | None:
    """Return ``value`` if it is a pending result of an operation on ``client``'s ``path``."""
    if type(value) in _PENDING_CLASSES and value._sk_client is client and value._sk_path == path:
        return value  # type: ignore[no-any-return]
    return None


def untag(value: Any) -> Any:
    """Return a tagged value or pending result as its plain value; anything else unchanged."""
    if type(value) in _TAGGED_CLASSES:
        return value._sk_plain(value)
    return value
