"""Walk an object graph the way the pickler will, naming each part by its path.

Used only off the fast path: to name the failing part when serialization fails
(``Worker.pool.conns[2].sock``) and by ``explain``. The walk is iterative (deep objects do not
overflow the stack), visits each object once (cycles and shared references), and reduces each
object with the same reducer the pickler would use.
"""

from __future__ import annotations

import copyreg
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from suitkaise.cerial import _pickler, _registry
from suitkaise.cerial._errors import SerializationError

ATOMS: frozenset[type] = frozenset(
    {type(None), bool, int, float, complex, str, bytes, bytearray, type(...), type(NotImplemented)}
)
_NEWOBJ_EX: Any = getattr(copyreg, "__newobj_ex__")  # noqa: B009  (missing from typeshed)
_NEWOBJ = {copyreg.__newobj__, _NEWOBJ_EX, copyreg._reconstructor}  # type: ignore[attr-defined]
_MP_HINT = (
    "multiprocessing locks, queues and shared values only travel to a child when it starts "
    "(by inheritance); in a payload use threading primitives (carried by value) or "
    "suitkaise.processing.Share for state shared between processes"
)
_DEFAULT_HINT = (
    "register a reducer with cerial.register(type, reducer), give the class "
    "__serialize__/__deserialize__ (or __reduce__), or leave this attribute out"
)


@dataclass
class Node:
    """One visited part of the graph."""

    path: str
    obj: Any
    how: str
    error: BaseException | None = None
    children: list[tuple[str, Any]] = field(default_factory=list)


def _root_name(obj: Any) -> str:
    return type(obj).__name__


def _key_repr(k: Any) -> str:
    r = repr(k)
    return r if len(r) <= 40 else r[:37] + "..."


def _function_children(func: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    code = func.__code__
    if func.__closure__:
        for name, cell in zip(code.co_freevars, func.__closure__):
            try:
                out.append((f".<closure {name}>", cell.cell_contents))
            except ValueError:  # empty cell
                pass
    g = func.__globals__
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, type(code)))
    for name in sorted(names):
        if name in g:
            value = g[name]
            if isinstance(value, type(cloudpickle)):  # modules go by name
                continue
            out.append((f".<global {name}>", value))
    return out


def _class_children(cls: type) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, value in vars(cls).items():
        if name in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__"):
            continue
        out.append((f".{name}", value))
    return out


def _param_names(func: Any) -> list[str]:
    """Positional parameter names of a reconstructor (``make_logger(name, level, ...)``)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _reduce_children(rv: Any) -> list[tuple[str, Any]]:
    if isinstance(rv, str) or not isinstance(rv, tuple):
        return []
    out: list[tuple[str, Any]] = []
    func = rv[0]
    args = rv[1] if len(rv) > 1 else ()
    if func in _NEWOBJ:
        args = args[1:] if args else ()
        if func is copyreg._reconstructor:  # type: ignore[attr-defined]
            args = args[2:] if len(args) > 1 else ()
        for i, a in enumerate(args):
            if isinstance(a, dict) and func is _NEWOBJ_EX:
                out.extend((f"<kwarg {k}>", v) for k, v in a.items())
            elif isinstance(a, tuple) and func is _NEWOBJ_EX:
                out.extend((f"<arg {j}>", v) for j, v in enumerate(a))
            else:
                out.append((f"<arg {i}>", a))
    else:
        out.append(("<reconstructor>", func))
        names = _param_names(func)
        for i, a in enumerate(args or ()):
            out.append((f"<{names[i]}>" if i < len(names) else f"<arg {i}>", a))
    state = rv[2] if len(rv) > 2 else None
    if state is not None:
        parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
        for part in parts:
            if isinstance(part, dict):
                for k, v in part.items():
                    out.append((f".{k}" if isinstance(k, str) else f"[{_key_repr(k)}]", v))
            elif part is not None:
                out.append(("<state>", part))
    if len(rv) > 3 and rv[3] is not None:
        out.extend((f"[{i}]", v) for i, v in enumerate(list(rv[3])))
    if len(rv) > 4 and rv[4] is not None:
        out.extend((f"[{_key_repr(k)}]", v) for k, v in list(rv[4]))
    return out


_pickler_loaded = _pickler  # the pickler module fills the handler table


def classify(obj: Any) -> tuple[str, list[tuple[str, Any]]]:
    """Return (how it is carried, children) for one object; raise if it cannot be reduced."""
    t = type(obj)
    if t in ATOMS:
        return "pickle", []
    if t is list or t is tuple:
        return "pickle", [(f"[{i}]", v) for i, v in enumerate(obj)]
    if t is dict:
        out: list[tuple[str, Any]] = []
        for k, v in obj.items():
            if type(k) not in ATOMS:
                out.append((f"<key {_key_repr(k)}>", k))
            out.append((f"[{_key_repr(k)}]", v))
        return "pickle", out
    if t is set or t is frozenset:
        return "pickle", [("<item>", v) for v in obj]
    r = _registry._cache[t] if t in _registry._cache else _registry.resolve(t)
    if r is _registry.CLOUD:
        by_ref = cloudpickle.cloudpickle._should_pickle_by_reference(obj)
        if by_ref:
            return "by reference", []
        if isinstance(obj, type):
            return "by value (cloudpickle)", _class_children(obj)
        return "by value (cloudpickle)", _function_children(obj)
    if r is None:
        if t in copyreg.dispatch_table:
            rv = copyreg.dispatch_table[t](obj)
            how = "pickle (copyreg)"
        else:
            rv = obj.__reduce_ex__(5)
            how = "pickle"
    else:
        rv = r(obj)
        how = _registry.describe(t)
    from suitkaise.cerial._reconnector import Reconnector, load_reconnector

    if isinstance(obj, Reconnector):
        how = f"reconnector ({type(obj).__name__})"
    elif isinstance(rv, tuple) and len(rv) > 1 and rv[0] is load_reconnector:
        how = f"{how} -> {rv[1][0].__name__}"
        return how, [(f".{k}", v) for k, v in rv[1][1].items()]
    return how, _reduce_children(rv)


def walk(root: Any, *, stop_at_error: bool) -> Iterator[Node]:
    """Yield a :class:`Node` per visited object, depth first, in pickling order."""
    seen: set[int] = set()
    keep: list[Any] = []  # keeps temporaries alive so their ids are not reused
    stack: list[tuple[str, Any]] = [(_root_name(root), root)]
    while stack:
        path, obj = stack.pop()
        if type(obj) not in ATOMS:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            keep.append(obj)
        try:
            how, children = classify(obj)
        except Exception as exc:
            yield Node(path, obj, "fails", exc)
            if stop_at_error:
                return
            continue
        node = Node(path, obj, how, None, children)
        yield node
        for suffix, child in reversed(children):
            stack.append((path + suffix, child))


def find_failure(root: Any) -> Node | None:
    """Return the first part of ``root`` that cannot be reduced (``None`` if none is found)."""
    for node in walk(root, stop_at_error=True):
        if node.error is not None:
            return node
    return None


_PROBE_LIMIT = 5000  # parts pickled one by one at most (only after a failure)


def find_unpicklable(root: Any) -> Node | None:
    """Return the innermost part of ``root`` that fails to pickle on its own.

    For when every part reduces but pickling a reduction's output fails (a ``super`` object:
    its ``__newobj__`` arguments are refused by the pickler). In reverse walk order every
    descendant comes before its ancestors, so the first part that fails has no failing part
    inside it.
    """
    nodes: list[Node] = []
    for node in walk(root, stop_at_error=False):
        if type(node.obj) not in ATOMS:
            nodes.append(node)
            if len(nodes) > _PROBE_LIMIT:
                return None
    for node in reversed(nodes):
        try:
            _pickler._dump_into(_pickler._Chunks(), node.obj)
        except RecursionError:
            continue
        except Exception as exc:
            return Node(node.path, node.obj, node.how, exc)
    return None


def raise_for(root: Any, exc: BaseException) -> None:
    """Raise a :class:`SerializationError` naming the failing path, chained to ``exc``."""
    node = find_failure(root)
    if node is None and not isinstance(exc, SerializationError):
        node = find_unpicklable(root)
    if node is None:
        if isinstance(exc, SerializationError):
            raise exc
        reason = f"{type(exc).__name__}: {exc}"
        raise SerializationError(
            f"cannot serialize {_registry.qualname(type(root))} object: {reason}",
            type_name=_registry.qualname(type(root)),
            reason=reason,
            hint=_DEFAULT_HINT,
        ) from exc
    err = node.error
    assert err is not None
    type_name = _registry.qualname(type(node.obj))
    if isinstance(err, SerializationError):
        reason = err.reason or str(err)
        hint = err.hint
    else:
        reason = str(err) or type(err).__name__
        hint = _MP_HINT if type_name.startswith("multiprocessing.") else _DEFAULT_HINT
    msg = f"cannot serialize {node.path} ({type_name}): {reason}"
    if hint:
        msg += f". Hint: {hint}"
    raise SerializationError(
        msg, path=node.path, type_name=type_name, reason=reason, hint=hint
    ) from err
