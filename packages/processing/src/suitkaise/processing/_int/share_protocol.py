"""The wire protocol between Share clients and their coordinator.

A request is one tuple ``(op, path, *args)`` and a reply is one tuple ``(kind, ...)``; both are
encoded and signed by ``share_codec`` (C pickle for plain data, cerial for the rest) and carried
by ``share_transport`` over an authenticated connection (an AF_UNIX socket in a private 0700
directory).

A *path* names a location inside the Share, from the root namespace: a tuple of steps, each
``(ATTR, name)`` or ``(ITEM, key)``. ``share.stats.hits`` is ``((ATTR, "stats"), (ATTR, "hits"))``
and ``share.d["k"]`` is ``((ATTR, "d"), (ITEM, "k"))``. The coordinator resolves a path on the
live objects every time, so a path stays meaningful when the object at it is replaced.

Replies:

* ``(VALUE, obj)``: the operation's result, by value (a copy).
* ``(REF, type_id, info)``: the result is a live, non-scalar object at the requested path; the
  client makes a proxy for it. ``info`` (``TypeInfo``) is sent once per type and connection.
* ``(ERROR, record)``: the operation raised; ``record`` comes from ``dump_exception``.
* ``(DONE,)``: the operation succeeded and returns nothing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Path step kinds.
ATTR = 0
ITEM = 1

Step = tuple[int, Any]
Path = tuple[Step, ...]

# Operations (small ints keep the per-request payload small).
GET = 0  # GET path -> VALUE | REF
SET = 1  # SET path value -> DONE
SET_REF = 2  # SET_REF path source_path -> DONE (alias another live object of the Share)
DELETE = 3  # DELETE path -> DONE
CALL = 4  # CALL path args kwargs -> VALUE (calls the object at path)
APPLY = 5  # APPLY path func_name args -> VALUE (func(obj, *args): len, repr, eq, add, ...)
AUGMENT = 6  # AUGMENT path op_name operand -> DONE (obj = iop(obj, operand), stored back)
LOCK = 7  # LOCK timeout -> VALUE bool (re-entrant per connection)
UNLOCK = 8  # UNLOCK -> DONE
SNAPSHOT = 9  # SNAPSHOT -> VALUE dict of every top-level name
REPR = 10  # REPR -> VALUE dict name -> repr string
STOP = 11  # STOP -> DONE, then the coordinator exits
NAMES = 12  # NAMES -> VALUE list of the top-level names

# Reply kinds.
VALUE = 0
REF = 1
ERROR = 2
DONE = 3


class TypeInfo(NamedTuple):
    """What a client needs to know about the type of a proxied object."""

    name: str
    methods: frozenset[str]
    is_timer: bool


# Augmented assignment operators by the name of their in-place dunder, applied by the
# coordinator with the ``operator`` module's in-place functions.
INPLACE_OPS = (
    "iadd",
    "isub",
    "imul",
    "itruediv",
    "ifloordiv",
    "imod",
    "ipow",
    "imatmul",
    "iand",
    "ior",
    "ixor",
    "ilshift",
    "irshift",
)

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
# Binary operators by their name in the ``operator`` module (``and_``, ``or_``); the proxy's
# dunder is the name without the trailing underscore (``__and__``).
BINARY_OPS = (
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "pow",
    "matmul",
    "and_",
    "or_",
    "xor",
    "lshift",
    "rshift",
)


def describe(path: Path) -> str:
    """Return ``path`` as the user wrote it, e.g. ``share.d['k'].hits``."""
    parts = ["share"]
    for kind, key in path:
        parts.append(f".{key}" if kind == ATTR else f"[{key!r}]")
    return "".join(parts)


class Ref(NamedTuple):
    """An argument that stands for the live object at ``path`` in the same Share."""

    path: Path
