"""suitkaise.cerial: serialize anything to bytes and back, and revive live resources.

Built on the pickle protocol (protocol 5) and cloudpickle: plain data goes through the C
pickler, functions and classes travel by value, and a registry of handlers covers what pickle
cannot (locks, queues, loggers, open files, regex matches, sockets, database connections, ...).

Examples:
    >>> from suitkaise import cerial
    >>> data = cerial.serialize({"double": lambda x: 2 * x})
    >>> cerial.deserialize(data)["double"](21)
    42
"""

from typing import TYPE_CHECKING

from suitkaise.cerial._api import deserialize, serialize
from suitkaise.cerial._errors import (
    CerialError,
    DeserializationError,
    ReconnectError,
    SerializationError,
)
from suitkaise.cerial._explain import explain
from suitkaise.cerial._reconnector import Reconnector, reconnect_all
from suitkaise.cerial._register import register

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata is slow to import (cheap-import rule).
    if name != "__version__":
        raise AttributeError(f"module 'suitkaise.cerial' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("suitkaise-cerial")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0.0.0"
    globals()["__version__"] = found
    return found


__all__ = [
    "CerialError",
    "DeserializationError",
    "ReconnectError",
    "Reconnector",
    "SerializationError",
    "deserialize",
    "explain",
    "reconnect_all",
    "register",
    "serialize",
]
