"""Reconnectors: placeholders for live resources, and ``reconnect_all`` that revives them.

A live resource (socket, database connection, thread, subprocess, executor) cannot travel as
bytes. cerial carries a :class:`Reconnector` in its place: a small, plain object that records
how to get the resource back (path, host, port, user, database, ...) and never a password.
:func:`reconnect_all` walks an object graph and swaps every reconnector for the live resource
returned by its :meth:`Reconnector.reconnect`, passing the credentials the caller supplies.
"""

from __future__ import annotations

import types
from collections import deque
from typing import Any, ClassVar, Literal

from suitkaise.cerial._errors import ReconnectError

__all__ = ["Reconnector", "reconnect_all"]


class Reconnector:
    """Base class of the placeholders cerial puts where a live resource was.

    A reconnector keeps only what is needed to reconnect (never a password) in plain
    attributes, so it serializes like any small object. Subclass it for your own resources:
    set :attr:`auth_key`, store what you need in ``__init__``, implement :meth:`reconnect`, and
    return the reconnector from a reducer registered with :func:`register`.

    Attributes:
        auth_key: The key under which :func:`reconnect_all` looks up credentials for this kind
            of resource (e.g. ``"psycopg2.Connection"``).

    Examples:
        >>> from suitkaise import cerial
        >>> class Door(cerial.Reconnector):
        ...     auth_key = "example.Door"
        ...     def __init__(self, room):
        ...         self.room = room
        ...     def reconnect(self, auth=None):
        ...         return f"door to {self.room} opened with {auth}"
        >>> cerial.reconnect_all({"d": Door("kitchen")}, **{"example.Door": "key"})
        {'d': 'door to kitchen opened with key'}
    """

    auth_key: ClassVar[str] = ""

    def reconnect(self, auth: Any = None) -> Any:
        """Return the live resource.

        Args:
            auth: Credentials for this resource, as found by :func:`reconnect_all` (a password
                string, a dict of extra connection arguments, or ``None``).

        Returns:
            The live resource.

        Raises:
            Exception: Whatever connecting raises; :func:`reconnect_all` wraps it in a
                :class:`ReconnectError`.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement reconnect()")

    def describe(self) -> str:
        """A short, readable description of the resource (used by ``repr`` and errors)."""
        fields = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and v is not None
        )
        return fields

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.auth_key or '?'}: {self.describe()}>"


Reconnector.__module__ = "suitkaise.cerial"


def load_reconnector(cls: type[Reconnector], state: dict[str, Any]) -> Reconnector:
    """Rebuild a reconnector from its attributes (the receiving side of :func:`reduce_as`)."""
    r = cls.__new__(cls)
    r.__dict__.update(state)
    return r


def reduce_as(r: Reconnector) -> Any:
    """The reduction of a live resource: load ``r`` in its place."""
    return load_reconnector, (type(r), dict(vars(r)))


_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), range, memoryview)
_LEAVES = (*_ATOMS, *_SKIP)


class _Reviver:
    def __init__(self, errors: str, auth: dict[str, Any], collect: bool = False) -> None:
        self.errors = errors
        self.auth = auth
        # collecting: only record, per auth key, the attribute names on the paths to the
        # reconnectors (to tell a per-attribute auth dict from a dict of connection arguments)
        self.collect = collect
        self.names: dict[str, set[str]] = {}
        self.memo: dict[int, Any] = {}
        self.keep: list[Any] = []

    def auth_for(self, r: Reconnector, names: tuple[str, ...]) -> Any:
        key = r.auth_key if r.auth_key in self.auth else type(r).__name__
        entry = self.auth.get(key)
        if not isinstance(entry, dict):
            return entry
        named = self.names.get(key, set())
        if "*" not in entry and not any(k in named for k in entry):
            return entry  # a dict of connection arguments: the credential itself
        # a map by attribute: the innermost attribute on the path that has an entry wins; with
        # no match and no "*", no credential (never another attribute's password)
        for name in reversed(names):
            if name in entry:
                return entry[name]
        return entry.get("*")

    def revive(self, x: Any, path: str, names: tuple[str, ...]) -> Any:
        if isinstance(x, _LEAVES):
            return x
        key = id(x)
        if key in self.memo:
            return self.memo[key]
        self.keep.append(x)
        if isinstance(x, Reconnector):
            self.memo[key] = x
            self._revive_attrs(x, path, names)  # nested reconnectors first (a cursor's connection)
            if self.collect:
                for k in (x.auth_key, type(x).__name__):
                    self.names.setdefault(k, set()).update(names)
                return x
            try:
                live = x.reconnect(self.auth_for(x, names))
            except Exception as exc:
                if self.errors == "keep":
                    return x
                raise ReconnectError(
                    f"could not reconnect {x!r} at {path}: {type(exc).__name__}: {exc}",
                    path=path,
                    resource=repr(x),
                ) from exc
            self.memo[key] = live
            return live
        t = type(x)
        self.memo[key] = x
        if isinstance(x, list | deque):
            for i, v in enumerate(x):
                nv = self.revive(v, f"{path}[{i}]", names)
                if nv is not v:
                    x[i] = nv
        elif isinstance(x, dict):
            for k, v in list(x.items()):
                nv = self.revive(v, f"{path}[{k!r}]", (*names, k) if isinstance(k, str) else names)
                if nv is not v:
                    x[k] = nv
        elif isinstance(x, tuple):
            self._revive_attrs(x, path, names)  # a tuple subclass may carry a __dict__
            items = [self.revive(v, f"{path}[{i}]", names) for i, v in enumerate(x)]
            if any(a is not b for a, b in zip(items, x)):
                return self._rebuilt(x, items, path)
            return x
        elif isinstance(x, set):
            pairs = [(v, self.revive(v, f"{path}{{}}", names)) for v in x]
            for old, new in pairs:
                if new is not old:
                    x.discard(old)
                    x.add(new)
        elif isinstance(x, frozenset):
            self._revive_attrs(x, path, names)
            items2 = [self.revive(v, f"{path}{{}}", names) for v in x]
            if any(a is not b for a, b in zip(items2, x)):
                return self._rebuilt(x, items2, path)
            return x
        if t not in (list, deque, dict, set):
            self._revive_attrs(x, path, names)  # a plain object, or a container subclass
        return x

    def _rebuilt(self, x: tuple[Any, ...] | frozenset[Any], items: list[Any], path: str) -> Any:
        """An immutable container holding the revived items: same type, same ``__dict__``."""
        t = type(x)
        try:
            if t is tuple or t is frozenset:
                new: Any = t(items)
            elif isinstance(x, tuple) and hasattr(t, "_make") and hasattr(t, "_fields"):
                new = t._make(items)  # a namedtuple: its __new__ takes the fields one by one
            else:
                new = t(items)
            if type(new) is not t or len(new) != len(items):
                raise TypeError(f"{t.__name__}(items) does not rebuild it")
            d = getattr(x, "__dict__", None)
            if d:
                new.__dict__.update(d)
        except Exception as exc:
            if self.errors == "keep":
                return x
            raise ReconnectError(
                f"could not put the reconnected resources back into the {t.__name__} at {path}: "
                f"{type(exc).__name__}: {exc}; give the class a constructor taking an iterable",
                path=path,
                resource=repr(x),
            ) from exc
        self.memo[id(x)] = new
        return new

    def _revive_attrs(self, x: Any, path: str, names: tuple[str, ...]) -> None:
        d = getattr(x, "__dict__", None)
        if isinstance(d, dict):
            for k, v in list(d.items()):
                nv = self.revive(v, f"{path}.{k}", (*names, k))
                if nv is not v:
                    d[k] = nv  # through __dict__: works for frozen dataclasses too
        for klass in type(x).__mro__:
            for name in getattr(klass, "__slots__", ()) if klass is not object else ():
                if name in ("__dict__", "__weakref__"):
                    continue
                try:
                    v = getattr(x, name)
                except AttributeError:
                    continue
                nv = self.revive(v, f"{path}.{name}", (*names, name))
                if nv is not v:
                    object.__setattr__(x, name, nv)


def _revive(obj: Any, root: str, errors: str, auth: dict[str, Any]) -> Any:
    reviver = _Reviver(errors, auth)
    if any(isinstance(v, dict) for v in auth.values()):
        scout = _Reviver(errors, auth, collect=True)
        scout.revive(obj, root, ())
        reviver.names = scout.names
    return reviver.revive(obj, root, ())


def reconnect_all(obj: Any, *, errors: Literal["raise", "keep"] = "raise", **auth: Any) -> Any:
    """Replace every :class:`Reconnector` inside ``obj`` with its live resource.

    Walks lists, tuples, dicts, sets, deques and their subclasses (namedtuples included),
    instance ``__dict__`` and ``__slots__`` (cycles and shared references included; each
    reconnector is reconnected once). Mutable containers and objects are updated in place;
    tuples and frozensets holding a reconnector are rebuilt with the same type (a namedtuple
    with ``_make``, another subclass with ``type(x)(items)``, keeping its ``__dict__``; one that
    cannot be rebuilt that way raises :class:`ReconnectError`).

    Credentials are passed by the reconnector's :attr:`Reconnector.auth_key`. The value is
    either the credential itself, used for every resource of that kind, or a dict whose key
    ``"*"`` is the default and whose other keys name the attribute that holds the resource::

        reconnect_all(worker, **{"psycopg2.Connection": {"*": pw, "analytics_db": pw2}})

    A credential is typically a password string or a dict of extra connection arguments. A
    dict is a map by attribute when it has a ``"*"`` key or a key naming an attribute (or a
    string dict key) on the path to any reconnector of that kind; otherwise it is the
    credential itself. In a map, every name on the resource's path is tried, innermost first
    (a connection at ``svc.dbs["main"]`` matches ``"main"``, then ``"dbs"``), then ``"*"``; a
    resource that matches nothing gets no credential (``reconnect(None)``), never another
    attribute's.

    Args:
        obj: The object (typically fresh from :func:`deserialize`).
        errors: ``"raise"`` (default) raises on the first failure; ``"keep"`` leaves the
            reconnector in place and goes on.
        **auth: Credentials keyed by auth key.

    Returns:
        ``obj`` (or its live resource, when ``obj`` is itself a reconnector).

    Raises:
        ReconnectError: A resource could not be reconnected (names the resource and its path;
            the original error is the ``__cause__``).
        ValueError: If ``errors`` is not ``"raise"`` or ``"keep"``.

    Examples:
        >>> import sqlite3
        >>> from suitkaise import cerial
        >>> db = sqlite3.connect(":memory:")
        >>> _ = db.execute("create table t (x)"); _ = db.execute("insert into t values (1)")
        >>> state = cerial.deserialize(cerial.serialize({"db": db}))
        >>> state["db"]
        <SqliteReconnector sqlite3.Connection: database=':memory:'>
        >>> state = cerial.reconnect_all(state)
        >>> state["db"].execute("select x from t").fetchall()
        [(1,)]
    """
    if errors not in ("raise", "keep"):
        raise ValueError(f"errors must be 'raise' or 'keep', not {errors!r}")
    root = type(obj).__name__
    try:
        return _revive(obj, root, errors, auth)
    except RecursionError:
        # a very deep object: once more with a big stack. Reconnectors the first attempt
        # revived inside lists, dicts and objects are already replaced; ones inside tuples are
        # reconnected again (the first connection is dropped).
        from suitkaise.cerial._deep import run_deep

        return run_deep(lambda: _revive(obj, root, errors, auth))


reconnect_all.__module__ = "suitkaise.cerial"
