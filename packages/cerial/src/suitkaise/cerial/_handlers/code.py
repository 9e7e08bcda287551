"""Code objects: cloudpickle's reduction, wrapped with the Python version that compiled them."""

from __future__ import annotations

import sys
import types
from typing import Any

from cloudpickle import cloudpickle as _cp

from suitkaise.cerial._format import make_code

_PY = tuple(sys.version_info[:2])


def reduce_code(obj: types.CodeType) -> Any:
    _, args = _cp._code_reduce(obj)
    return make_code, (_PY, args)
