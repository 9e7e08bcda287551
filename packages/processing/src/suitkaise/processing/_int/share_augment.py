"""One round trip for ``share.x += n``: recognise the augmented assignment being executed.

CPython (3.11 and later) compiles ``obj.name += v`` to::

    COPY 1; LOAD_ATTR name; <v>; BINARY_OP +=; SWAP 2; STORE_ATTR name

and ``obj[k] += v`` to ``COPY 2; COPY 2; BINARY_SUBSCR; <v>; BINARY_OP +=; SWAP 3; SWAP 2;
STORE_SUBSCR``. When a Share (or proxy) is asked for an attribute or item by such a load, the
value itself is never needed: it is only combined with ``v`` and stored back. So the load
returns an :class:`AugTarget` without asking the coordinator, its in-place operator returns a
:class:`PendingAugment`, and the store sends one ``AUGMENT`` request: read, operate and store
happen in one step in the coordinator. One round trip instead of two, and atomic.

This is only a shortcut. When the bytecode does not match exactly (another Python version, an
unusual construct), the load returns the value as usual and the tagged-value mechanism of
:mod:`~suitkaise.processing._int.share_values` keeps the statement atomic in two round trips.
Results are cached per code object and instruction offset, so the check costs a dict lookup.
"""

from __future__ import annotations

import dis
import threading
from types import CodeType, FrameType
from typing import Any

from suitkaise.processing._int.share_protocol import INPLACE_OPS, Path, describe

_cache: dict[CodeType, dict[int, bool]] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT = 4096  # code objects; cleared when full (results are cheap to recompute)

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


def _is_op(instr: dis.Instruction, name: str, arg: int | None = None) -> bool:
    return instr.opname == name and (arg is None or instr.arg == arg)


def _is_inplace(instr: dis.Instruction) -> bool:
    return instr.opname == "BINARY_OP" and instr.argrepr in _INPLACE_BY_SYMBOL


def _analyse(code: CodeType, offset: int, item: bool) -> bool:
    instrs = list(dis.get_instructions(code))
    index = next((i for i, ins in enumerate(instrs) if ins.offset == offset), None)
    if index is None:
        return False
    if item:
        if index < 2 or instrs[index].opname != "BINARY_SUBSCR":
            return False
        if not (_is_op(instrs[index - 1], "COPY", 2) and _is_op(instrs[index - 2], "COPY", 2)):
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
    load = instrs[index]
    if index < 1 or load.opname != "LOAD_ATTR" or not _is_op(instrs[index - 1], "COPY", 1):
        return False
    for j in range(index + 1, len(instrs)):
        if instrs[j].opname == "STORE_ATTR" and instrs[j].argval == load.argval:
            return j >= 2 and _is_op(instrs[j - 1], "SWAP", 2) and _is_inplace(instrs[j - 2])
    return False


def _check(frame: FrameType | None, item: bool) -> bool:
    if frame is None:
        return False
    code, offset = frame.f_code, frame.f_lasti
    per_code = _cache.get(code)
    if per_code is not None:
        found = per_code.get(offset)
        if found is not None:
            return found
    try:
        result = _analyse(code, offset, item)
    except Exception:  # an unexpected code layout: take the ordinary path
        result = False
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache.setdefault(code, {})[offset] = result
    return result


def augmenting_attr(frame: FrameType | None) -> bool:
    """True if ``frame`` is loading an attribute only to augment-assign it."""
    return _check(frame, item=False)


def augmenting_item(frame: FrameType | None) -> bool:
    """True if ``frame`` is loading an item only to augment-assign it."""
    return _check(frame, item=True)


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
