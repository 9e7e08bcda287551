"""``@autoreconnect(**auth)``: revive live resources when an Skprocess arrives in its child.

cerial carries resources that cannot cross a process boundary (database connections, sockets)
as reconnectors; ``cerial.reconnect_all(obj, **auth)`` turns them back into live objects. With
this decorator the engine calls it on the object right after it is rebuilt in the child (or in
a Pool worker) and before ``__prerun__``. A failure is reported like an error in ``__prerun__``:
a ``PreRunError`` that costs a life.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from suitkaise.processing._process import Skprocess

__all__ = ["autoreconnect", "reconnect_process"]

P = TypeVar("P", bound=type)

_ATTR = "_sk_autoreconnect"


@overload
def autoreconnect(cls: P, /) -> P: ...


@overload
def autoreconnect(**auth: Any) -> Callable[[P], P]: ...


def autoreconnect(cls: Any = None, /, **auth: Any) -> Any:
    """Class decorator: call ``cerial.reconnect_all(self, **auth)`` in the child before
    ``__prerun__``.

    Args:
        cls: The class, when used bare as ``@autoreconnect``.
        **auth: Passed to ``reconnect_all`` (for example credentials per resource type; see
            cerial's documentation).

    Returns:
        The decorator (or the decorated class, when used bare).

    Raises:
        TypeError: The decorated object is not an Skprocess subclass.

    Examples:
        >>> from suitkaise.processing import Skprocess, autoreconnect
        >>> @autoreconnect()
        ... class Reader(Skprocess):
        ...     def __run__(self):
        ...         pass
        >>> Reader._sk_autoreconnect
        {}
    """

    def decorate(target: P) -> P:
        from suitkaise.processing._process import Skprocess

        if not (isinstance(target, type) and issubclass(target, Skprocess)):
            raise TypeError(f"@autoreconnect decorates Skprocess subclasses, got {target!r}")
        setattr(target, _ATTR, dict(auth))
        return target

    if cls is not None:
        return decorate(cls)
    return decorate


def reconnect_process(process: Skprocess) -> None:
    """Run ``reconnect_all`` on ``process`` with its class's auth, in place."""
    from suitkaise import cerial

    auth = getattr(type(process), _ATTR)
    revived = cerial.reconnect_all(process, **auth)
    if revived is not None and revived is not process and isinstance(revived, type(process)):
        # reconnect_all returned a new object instead of reviving in place: adopt its state.
        state = process.__dict__.get("_sk")
        process.__dict__.update(revived.__dict__)
        if state is not None:
            process.__dict__["_sk"] = state


autoreconnect.__module__ = "suitkaise.processing"
