"""Functions by value, with closure cells shared the way they were.

cloudpickle rebuilds each function with fresh cells and copies the values in, so two closures
that shared a cell no longer share it after a round trip. Here a dynamic function is rebuilt
around the *unpickled cells themselves*; each cell is created empty (and memoized) before its
contents are loaded, so recursive closures and cells shared between functions keep identity.
"""

from __future__ import annotations

import types
from typing import Any

from cloudpickle import cloudpickle as _cp


def set_cell(cell: types.CellType, state: tuple[Any, ...]) -> types.CellType:
    """Fill a cell created empty (state is ``()`` for a cell that stays empty)."""
    if state:
        cell.cell_contents = state[0]
    return cell


def reduce_cell(cell: types.CellType) -> Any:
    try:
        contents: tuple[Any, ...] = (cell.cell_contents,)
    except ValueError:  # empty cell
        contents = ()
    return _cp._make_empty_cell, (), contents, None, None, set_cell


def share_cells(func: types.FunctionType, rv: Any) -> Any:
    """Turn cloudpickle's reduction of a dynamic function into one that keeps its cells."""
    if not isinstance(rv, tuple) or func.__closure__ is None or len(rv) != 6:
        return rv
    make, newargs, state, listitems, dictitems, setter = rv
    code, base_globals, name, argdefs, _ = newargs
    fstate, slotstate = state
    slotstate = dict(slotstate)
    slotstate["__closure__"] = None  # the real cells are in the constructor's arguments
    return (
        make,
        (code, base_globals, name, argdefs, func.__closure__),
        (fstate, slotstate),
        listitems,
        dictitems,
        setter,
    )
