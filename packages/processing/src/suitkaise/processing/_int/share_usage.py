"""One round trip for ``share.x += n`` and ``share.items.append(x)``: read the caller's intent.

CPython (3.11 and later) compiles ``obj.name += v`` to::

    COPY 1; LOAD_ATTR name; <v>; BINARY_OP +=; SWAP 2; STORE_ATTR name

and ``obj[k] += v`` to ``COPY 2; COPY 2; BINARY_SUBSCR; <v>; BINARY_OP +=; SWAP 3; SWAP 2;
STORE_SUBSCR``. When a Share (or proxy) is asked for an attribute or item by such a load, the
value itself is never needed: it is only combined with ``v`` and stored back. So the load
returns an :class:`AugTarget` without asking the coordinator, its in-place operator returns a
:class:`PendingAugment`, and the store sends one ``AUGMENT`` request: read, operate and store
happen in one step in the coordinator. One round trip instead of two, and atomic.

Method calls get the same treatment: in ``share.items.append(x)`` the load of ``items`` is
followed by a method load (``LOAD_METHOD`` on 3.11, ``LOAD_ATTR`` with its method bit on 3.12+),
so ``share.items`` is only the receiver of a call. The Share returns a proxy at once (when it has
seen what lives at that path before; a timer needs its own proxy class), and the method load
returns a callable proxy, so the call is one ``CALL`` request. Likewise when the loaded value is
only the container of the next step: an attribute (``share.stats.hits``, ``share.stats.hits +=
1``, ``share.stats.hits = 0``) or a subscript with a constant or variable key
(``share.counts[word] += 1``, ``share.d["k"]``, ``share.d[k] = v``): the last step is the only
request. The coordinator resolves the path
when the call runs, so this is exact even if the object was replaced in between.

These are only shortcuts. When the bytecode does not match exactly (another Python version, an
unusual construct), the load returns the value as usual: the tagged-value mechanism of
:mod:`~suitkaise.processing._int.share_values` keeps an augmented assignment atomic in two round
trips, and a method call costs a GET and a CALL. Results are cached per code object and
instruction offset, so the check costs a dict lookup.
"""

from __future__ import annotations

import dis
import sys
from types import CodeType, FrameType
from typing import Any

from suitkaise.processing._int.share_protocol import INPLACE_OPS, Path, describe

_cache: dict[CodeType, dict[int, int]] = {}
_CACHE_LIMIT = 4096  # code objects; cleared when full (results are cheap to recompute)

_METHOD_FLAG_IN_LOAD_ATTR = sys.version_info >= (3, 12)

# ``BINARY_OP`` argument text -> in-place operator name (``"+="`` -> ``"iadd"``).
_INPLACE_BY_SYMBOL = {
    "+=": "iadd",
    "-=": "isub",
    "*=": "imul",
    "/=": "itruediv",
    "//=": "ifloordiv",
    "%=": "imod",
    "**=": "ipow",
    "@=": "imatmul",
    "&=": "iand",
    "|=": "ior",
    "^=": "ixor",
    "<<=": "ilshift",
    ">>=": "irshift",
}


# What the caller does with the value being loaded (see ``usage``).
PLAIN = 0  # anything: return the value (or a proxy)
AUGMENT = 1  # ``x.name op= v`` / ``x[k] op= v``: return an AugTarget, no round trip
RECEIVER = 2  # ``x.name.method(...)``: the value only receives a method call
METHOD = 3  # ``x.name(...)``: the attribute is called at once


def _is_op(instr: dis.Instruction, name: str, arg: int | None = None) -> bool:
    return instr.opname == name and (arg is None or instr.arg == arg)


def _is_inplace(instr: dis.Instruction) -> bool:
    return instr.opname == "BINARY_OP" and instr.argrepr in _INPLACE_BY_SYMBOL


def _is_method_load(instr: dis.Instruction) -> bool:
    # 3.11: LOAD_METHOD; 3.12+: LOAD_ATTR with the low bit of its argument set.
    if instr.opname == "LOAD_METHOD":
        return True
    return _METHOD_FLAG_IN_LOAD_ATTR and instr.opname == "LOAD_ATTR" and bool((instr.arg or 0) & 1)


def _augmented_item(instrs: list[dis.Instruction], index: int) -> bool:
    if index < 2 or not (
        _is_op(instrs[index - 1], "COPY", 2) and _is_op(instrs[index - 2], "COPY", 2)
    ):
        return False
    for j in range(index + 1, len(instrs)):
        if instrs[j].opname == "STORE_SUBSCR":
            return (
                j >= 3
                and _is_op(instrs[j - 1], "SWAP", 2)
                and _is_op(instrs[j - 2], "SWAP", 3)
                and _is_inplace(instrs[j - 3])
            )
    return False


def _augmented_attr(instrs: list[dis.Instruction], index: int) -> bool:
    load = instrs[index]
    if index < 1 or not _is_op(instrs[index - 1], "COPY", 1):
        return False
    for j in range(index + 1, len(instrs)):
        if instrs[j].opname == "STORE_ATTR" and instrs[j].argval == load.argval:
            return j >= 2 and _is_op(instrs[j - 1], "SWAP", 2) and _is_inplace(instrs[j - 2])
    return False


def _analyse(code: CodeType, offset: int) -> int:
    instrs = list(dis.get_instructions(code))
    index = next((i for i, ins in enumerate(instrs) if ins.offset == offset), None)
    if index is None:
        return PLAIN
    instr = instrs[index]
    following = instrs[index + 1] if index + 1 < len(instrs) else None
    if _is_method_load(instr):
        return METHOD
    if instr.opname == "LOAD_ATTR":
        if _augmented_attr(instrs, index):
            return AUGMENT
    elif instr.opname == "BINARY_SUBSCR":
        if _augmented_item(instrs, index):
            return AUGMENT
    else:
        return PLAIN
    if following is None:
        return PLAIN
    if following.opname in _ATTRIBUTE_OPS or _is_method_load(following):
        return RECEIVER  # x.name.attr, x.name.attr = v, del x.name.attr, x.name.method()
    if (
        _is_op(following, "COPY", 1)
        and index + 2 < len(instrs)
        and instrs[index + 2].opname == "LOAD_ATTR"
        and _augmented_attr(instrs, index + 2)
    ):
        return RECEIVER  # x.name.attr op= v
    if _subscripted_next(instrs, index):
        return RECEIVER  # x.name[key], x.name[key] = v, del x.name[key], x.name[key] op= v
    return PLAIN


_ATTRIBUTE_OPS = frozenset({"LOAD_ATTR", "STORE_ATTR", "DELETE_ATTR"})


# Loads that push exactly one value and run no user code: a subscript key.
_SIMPLE_LOADS = frozenset(
    {"LOAD_CONST", "LOAD_FAST", "LOAD_NAME", "LOAD_DEREF", "LOAD_SMALL_INT", "LOAD_FAST_BORROW"}
)
_SUBSCRIPT_OPS = frozenset({"BINARY_SUBSCR", "STORE_SUBSCR", "DELETE_SUBSCR"})


def _subscripted_next(instrs: list[dis.Instruction], index: int) -> bool:
    """True if the value loaded at ``index`` is only subscripted: ``x.name[key]`` (read, store,
    delete or augmented), with ``key`` a constant or a variable."""
    if index + 2 >= len(instrs):
        return False
    key = instrs[index + 1]
    simple = key.opname in _SIMPLE_LOADS or (
        key.opname == "LOAD_GLOBAL" and not (key.arg or 0) & 1  # no NULL pushed for a call
    )
    if not simple:
        return False
    if instrs[index + 2].opname in _SUBSCRIPT_OPS:
        return True
    return (
        index + 4 < len(instrs)
        and _is_op(instrs[index + 2], "COPY", 2)
        and _is_op(instrs[index + 3], "COPY", 2)
        and instrs[index + 4].opname == "BINARY_SUBSCR"
    )


def usage(frame: FrameType | None) -> int:
    """How the code running in ``frame`` uses the attribute or item it is loading now.

    Returns one of ``PLAIN``, ``AUGMENT``, ``RECEIVER``, ``METHOD``; ``PLAIN`` whenever the
    bytecode is not one of the exact shapes described in the module docstring.
    """
    if frame is None:
        return PLAIN
    code, offset = frame.f_code, frame.f_lasti
    per_code = _cache.get(code)
    if per_code is not None:
        found = per_code.get(offset)
        if found is not None:
            return found
    try:
        result = _analyse(code, offset)
    except Exception:  # an unexpected code layout: take the ordinary path
        result = PLAIN
    # No lock (fork-safe): each dict operation is atomic, and a lost entry is recomputed.
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache.setdefault(code, {})[offset] = result
    return result


class AugTarget:
    """What ``share.x`` evaluates to inside ``share.x op= v``: a place, not a value."""

    __slots__ = ("client", "path")

    def __init__(self, client: Any, path: Path) -> None:
        self.client = client
        self.path = path

    def __repr__(self) -> str:
        return f"<augmented assignment target {describe(self.path)}>"


class PendingAugment:
    """``share.x op v`` computed nowhere yet; storing it at ``share.x`` applies it atomically."""

    __slots__ = ("client", "op", "operand", "path")

    def __init__(self, client: Any, path: Path, op: str, operand: Any) -> None:
        self.client = client
        self.path = path
        self.op = op
        self.operand = operand

    def __repr__(self) -> str:
        return f"<pending {self.op} of {describe(self.path)}>"


def _inplace(op_name: str) -> Any:
    def method(self: AugTarget, other: Any) -> PendingAugment:
        return PendingAugment(self.client, self.path, op_name, other)

    method.__name__ = f"__{op_name}__"
    return method


for _op in INPLACE_OPS:
    setattr(AugTarget, f"__{_op}__", _inplace(_op))
del _op
