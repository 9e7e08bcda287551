"""Classes that define ``__serialize__(self) -> state`` and classmethod ``__deserialize__``."""

from __future__ import annotations

from typing import Any


def load_serialized(cls: Any, state: Any) -> Any:
    """Rebuild an object with its class's ``__deserialize__``."""
    return cls.__deserialize__(state)


def reduce_serialize(obj: Any) -> Any:
    return load_serialized, (type(obj), obj.__serialize__())
