"""Which reducer carries which type.

Lookup is a plain dict keyed by exact type (``_cache``), filled on first sight of each type by
:func:`resolve`; the common case (a plain user-class instance, nothing to do) costs one dict
lookup in ``reducer_override``. Order of precedence when resolving a type:

1. handlers added with :func:`register` (exact type, then ``subclasses=True`` ones by MRO, then
   ones registered by qualified name: the exact type, or a base with ``subclasses=True``);
2. classes and functions: cloudpickle (by reference when importable, else by value);
3. ``copyreg.dispatch_table`` entries (the user's ``copyreg.pickle`` wins over built-ins);
4. ``__serialize__``/``__deserialize__`` on the class;
5. built-in handlers, looked up by qualified type name so that no handler module (and no
   database driver) is imported until a matching object is actually met;
6. nothing: pickle's own protocol (``dispatch_table`` then ``__reduce_ex__``).
"""

from __future__ import annotations

import copyreg
import importlib
import os
import threading
import types
from collections.abc import Callable
from typing import Any

Reducer = Callable[[Any], Any]

#: Marker: let cloudpickle's ``reducer_override`` reduce it (classes and functions).
CLOUD: Any = object()

# qualified type name -> "module:function" of the reducer; exact types only.
_BUILTIN_EXACT: dict[str, str] = {}
# qualified base-class name -> reducer; applies to subclasses unless they define their own
# pickle protocol (``__reduce__``, ``__reduce_ex__``, ``__getstate__``) below the base.
_BUILTIN_BASES: dict[str, str] = {}
# bases whose handler applies even when a subclass defines its own protocol (the handler
# calls the subclass's protocol itself, e.g. exceptions).
_BUILTIN_BASES_ALWAYS: set[str] = set()

_user_exact: dict[type, Reducer] = {}
_user_sub: dict[type, Reducer] = {}
# qualified name -> (reducer, whether it also applies to subclasses)
_user_names: dict[str, tuple[Reducer, bool]] = {}

_cache: dict[type, Any] = {}
_CACHE_MAX = 4096
_lock = threading.Lock()


def _reinit_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
_PROTOCOL_NAMES = ("__reduce__", "__reduce_ex__", "__getstate__")


def builtin(name: str, target: str, *, subclasses: bool = False, always: bool = False) -> None:
    """Declare a built-in handler (``target`` is ``"module:function"``)."""
    if subclasses:
        _BUILTIN_BASES[name] = target
        if always:
            _BUILTIN_BASES_ALWAYS.add(name)
    else:
        _BUILTIN_EXACT[name] = target


def qualname(t: type) -> str:
    """Return ``module.QualName`` for a type."""
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', t.__name__)}"


def _load(target: str) -> Reducer:
    module, _, attr = target.partition(":")
    fn: Reducer = getattr(importlib.import_module(module), attr)
    return fn


def add_user(type_: type | str, reducer: Reducer, *, subclasses: bool = False) -> None:
    """Register a user reducer (user handlers win over every built-in one)."""
    with _lock:
        if isinstance(type_, str):
            _user_names[type_] = (reducer, subclasses)
        elif subclasses:
            _user_sub[type_] = reducer
        else:
            _user_exact[type_] = reducer
        _cache.clear()


def remove_user(type_: type | str) -> bool:
    """Remove a user reducer; return whether one was registered."""
    with _lock:
        found = False
        for table in (_user_exact, _user_sub, _user_names):
            if type_ in table:
                del table[type_]  # type: ignore[arg-type]
                found = True
        _cache.clear()
        return found


def _cloud_table() -> dict[type, Reducer]:
    """cloudpickle's own reducers (classmethod, property, mappingproxy, dict views, ...)."""
    import cloudpickle

    table: dict[type, Reducer] = cloudpickle.Pickler._dispatch_table
    return table


def _defines_protocol(t: type, stop: type) -> bool:
    for klass in t.__mro__:
        if klass is stop:
            return False
        if any(n in vars(klass) for n in _PROTOCOL_NAMES):
            return True
    return False


def _serialize_protocol(obj: Any) -> Any:
    from suitkaise.cerial._handlers.protocol import reduce_serialize

    return reduce_serialize(obj)


def resolve(t: type) -> Any:
    """Return the reducer for type ``t`` (``None``: plain pickle; ``CLOUD``: cloudpickle)."""
    result = _resolve(t)
    if len(_cache) >= _CACHE_MAX:
        # classes made at run time (a local class per call) must not pile up here forever
        _cache.clear()
    _cache[t] = result
    return result


def _resolve(t: type) -> Any:
    if t in _user_exact:
        return _user_exact[t]
    mro = getattr(t, "__mro__", (t,))
    for base in mro:
        if base in _user_sub:
            return _user_sub[base]
    if _user_names:
        for base in mro:
            name = qualname(base)
            entry = _user_names.get(name)
            if entry is not None and (base is t or entry[1]):
                return entry[0]
    if issubclass(t, type) or t is types.FunctionType:
        return CLOUD
    if t in copyreg.dispatch_table:
        return None
    if callable(getattr(t, "__serialize__", None)) and callable(
        getattr(t, "__deserialize__", None)
    ):
        return _serialize_protocol
    name = qualname(t)
    if name in _BUILTIN_EXACT:
        return _load(_BUILTIN_EXACT[name])
    for base in mro:
        bname = qualname(base)
        if bname in _BUILTIN_BASES:
            if bname not in _BUILTIN_BASES_ALWAYS and _defines_protocol(t, base):
                return None
            return _load(_BUILTIN_BASES[bname])
    return _cloud_table().get(t)


def describe(t: type) -> str:
    """Say in words which mechanism carries instances of ``t`` (used by ``explain``)."""
    r = _cache.get(t) if t in _cache else resolve(t)
    if r is None:
        return "pickle"
    if r is CLOUD:
        return "cloudpickle"
    if r is _serialize_protocol:
        return "__serialize__/__deserialize__"
    named = [reducer for reducer, _ in _user_names.values()]
    for table in (_user_exact.values(), _user_sub.values(), named):
        if r in table:
            return f"registered handler {getattr(r, '__qualname__', r)!s}"
    return f"handler {getattr(r, '__module__', '').rsplit('.', 1)[-1]}.{getattr(r, '__name__', r)}"
