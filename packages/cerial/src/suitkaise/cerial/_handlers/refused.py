"""Objects cerial refuses on purpose: their state lives in a running frame."""

from __future__ import annotations

from typing import Any

from suitkaise.cerial._errors import SerializationError

_HINTS = {
    "generator": "materialise it first, e.g. list(gen), or send what creates it (a function)",
    "coroutine": "send the coroutine function and its arguments, and create the coroutine on "
    "the receiving side",
    "async_generator": "collect its items first (e.g. [x async for x in agen]) or send the "
    "function that creates it",
}


def reduce_refused(obj: Any) -> Any:
    kind = type(obj).__name__
    reason = f"a {kind} cannot be serialized (its running state lives in a frame)"
    raise SerializationError(reason, reason=reason, hint=_HINTS.get(kind))
