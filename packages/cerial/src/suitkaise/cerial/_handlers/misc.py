"""re.Match, contextvars, weak references.

- ``re.Match``: the pattern is re-run on the same string at the match's start, which gives an
  equal match (same span, groups and groupdict; ``pos`` becomes the match's start).
- ``ContextVar``: a new variable with the same name and default; if it had a value in the
  serializing context, that value is set in the deserializing context.
- ``Context``: a new context holding the same variables and values.
- ``memoryview``: a view of the same format and shape over a copy of the bytes (over
  ``bytes`` when the original was read-only, else over a ``bytearray``); a format ``cast``
  cannot produce comes back as a flat byte view.
- ``weakref.ref``/``proxy``, ``WeakValueDictionary``/``WeakKeyDictionary``: the referents are
  carried. A weak reference whose referent is carried nowhere else dies on arrival (as it would
  in the sender once the last strong reference goes); a dead reference arrives dead.
"""

from __future__ import annotations

import contextvars
import re
import weakref
from typing import Any

from suitkaise.cerial._errors import DeserializationError


def make_match(pattern: re.Pattern[Any], string: Any, span: tuple[int, int], endpos: int) -> Any:
    m = pattern.match(string, span[0], endpos)
    if m is None or m.span() != span:
        for m in pattern.finditer(string, 0, endpos):
            if m.span() == span:
                break
        else:
            raise DeserializationError(f"could not re-match {pattern.pattern!r} at {span}")
    return m


def reduce_match(m: re.Match[Any]) -> Any:
    return make_match, (m.re, m.string, m.span(), m.endpos)


_NO_DEFAULT = "__cerial_no_default__"


def _missing(x: Any) -> bool:
    # never ``x == _NO_DEFAULT`` alone: a value may compare elementwise (a numpy array)
    return type(x) is str and x == _NO_DEFAULT


def make_memoryview(data: bytes, fmt: str, shape: tuple[int, ...], readonly: bool) -> Any:
    view: Any = memoryview(data if readonly else bytearray(data))
    if fmt == "B" and shape == (len(data),):
        return view
    return view.cast(fmt, shape)


def reduce_memoryview(m: memoryview) -> Any:
    data = m.tobytes()
    fmt, shape = m.format, tuple(m.shape or ())
    try:  # cast takes native single-item formats only (not "<i" or structs)
        memoryview(data).cast(fmt, shape)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        fmt, shape = "B", (len(data),)
    return make_memoryview, (data, fmt, shape, m.readonly)


def make_contextvar(name: str, default: Any, value: Any) -> contextvars.ContextVar[Any]:
    var: contextvars.ContextVar[Any] = (
        contextvars.ContextVar(name)
        if _missing(default)
        else contextvars.ContextVar(name, default=default)
    )
    if not _missing(value):
        var.set(value)
    return var


def _get(var: contextvars.ContextVar[Any], ctx: Any = None) -> Any:
    missing = object()
    value = (ctx or contextvars.copy_context()).get(var, missing)
    return _NO_DEFAULT if value is missing else value


def reduce_contextvar(var: contextvars.ContextVar[Any]) -> Any:
    try:  # an empty context shows the variable's own default
        default = contextvars.Context().run(var.get)
    except LookupError:
        default = _NO_DEFAULT
    return make_contextvar, (var.name, default, _get(var))


def make_context(items: list[tuple[contextvars.ContextVar[Any], Any]]) -> contextvars.Context:
    ctx = contextvars.Context()

    def fill() -> None:
        for var, value in items:
            var.set(value)

    ctx.run(fill)
    return ctx


def reduce_context(ctx: contextvars.Context) -> Any:
    return make_context, (list(ctx.items()),)


class _Dead:
    pass


def make_ref(referent: Any, proxy: bool) -> Any:
    if referent is None:  # a dead reference arrives dead
        obj = _Dead()
        ref = weakref.proxy(obj) if proxy else weakref.ref(obj)
        del obj
        return ref
    return weakref.proxy(referent) if proxy else weakref.ref(referent)


def reduce_ref(ref: Any) -> Any:
    return make_ref, (ref(), False)


def make_weak_method(method: Any) -> Any:
    if method is None:
        return make_ref(None, False)
    return weakref.WeakMethod(method)


def reduce_weak_method(ref: Any) -> Any:
    return make_weak_method, (ref(),)


def reduce_proxy(p: Any) -> Any:
    try:
        referent = p.__repr__.__self__
    except ReferenceError:
        referent = None
    return make_ref, (referent, True)


def make_weak_dict(cls: Any, items: list[tuple[Any, Any]]) -> Any:
    d = cls()
    for k, v in items:
        d[k] = v
    return d


def reduce_weak_dict(d: Any) -> Any:
    return make_weak_dict, (type(d), list(d.items()))
