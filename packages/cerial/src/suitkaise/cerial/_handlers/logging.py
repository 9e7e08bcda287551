"""logging: loggers by name with their configuration, handlers rebuilt on the receiving side.

- ``Logger``: ``logging.getLogger(name)`` on the receiving side, then the carried level,
  ``propagate``, ``disabled``, filters and handlers are applied. A handler is added only if the
  logger has no equivalent one yet (same class and same file, stream, or level), so a round trip
  in one process does not duplicate output.
- ``Handler`` (any subclass, including user ones): a new handler with the same attributes and a
  fresh lock.
- ``StreamHandler`` on ``sys.stdout``/``sys.stderr``: rebound to the receiver's stream.
- ``FileHandler`` and its subclasses: reopened for append (never truncated), lazily on the first
  record.
- ``Formatter``, ``Filter``, ``LoggerAdapter``: plain pickling.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

_STD_NAMES = ("stdout", "stderr")


class StdStream:
    """Stands for ``sys.stdout``/``sys.stderr``; loads as the receiver's stream."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> Any:
        return std_stream, (self.name,)


def std_stream(name: str) -> Any:
    """Return the receiver's ``sys.<name>``."""
    return getattr(sys, name)


def std_name(stream: Any) -> str | None:
    for name in (*_STD_NAMES, "stdin"):
        if stream is getattr(sys, name, None) or stream is getattr(sys, f"__{name}__", None):
            return name
    return None


def make_logger(
    name: str | None,
    level: int,
    propagate: bool,
    disabled: bool,
    handlers: list[logging.Handler],
    filters: list[Any],
) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(level)
    logger.propagate = propagate
    logger.disabled = disabled
    for h in handlers:
        if not any(_same_handler(h, mine) for mine in logger.handlers):
            logger.addHandler(h)
    for f in filters:
        if f not in logger.filters:
            logger.addFilter(f)
    return logger


def _target(h: logging.Handler) -> Any:
    if isinstance(h, logging.FileHandler):
        return h.baseFilename
    stream = getattr(h, "stream", None)
    if stream is not None:
        return id(stream)
    return None


def _same_handler(a: logging.Handler, b: logging.Handler) -> bool:
    return type(a) is type(b) and a.level == b.level and _target(a) == _target(b)


def reduce_logger(logger: logging.Logger) -> Any:
    name = None if logger is logging.getLogger() else logger.name
    return make_logger, (
        name,
        logger.level,
        logger.propagate,
        logger.disabled,
        list(logger.handlers),
        list(logger.filters),
    )


def make_handler(cls: Any) -> logging.Handler:
    h: logging.Handler = cls.__new__(cls)
    logging.Handler.__init__(h)
    return h


def set_handler_state(h: logging.Handler, state: dict[str, Any]) -> logging.Handler:
    name = state.pop("_name", None)
    h.__dict__.update(state)
    if name is not None:
        h.set_name(name)
    return h


def reduce_handler(h: logging.Handler) -> Any:
    state = {k: v for k, v in vars(h).items() if k != "lock"}
    if isinstance(h, logging.FileHandler):
        state["stream"] = None  # reopened lazily by emit(), for append
        if "w" in h.mode:
            state["mode"] = h.mode.replace("w", "a")
    elif "stream" in state:
        name = std_name(state["stream"])
        if name is not None:
            state["stream"] = StdStream(name)
    return make_handler, (type(h),), state, None, None, set_handler_state
