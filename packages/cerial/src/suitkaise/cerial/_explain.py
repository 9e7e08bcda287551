"""``explain``: show how each part of an object would be carried, without raising."""

from __future__ import annotations

from typing import Any

from suitkaise.cerial import _registry

__all__ = ["explain"]

_MAX_LINES = 200
_CONTAINERS = (list, tuple, dict, set, frozenset)


def explain(obj: Any) -> str:
    """Describe how each part of ``obj`` will be serialized, and where it would fail.

    Walks the object the way :func:`serialize` does and prints one line per part (plain
    scalars are left out): its path, its type, and how it is carried (``pickle``, ``by
    reference``, ``by value (cloudpickle)``, a cerial handler, a reconnector) or ``FAILS`` with
    the reason and a hint. Never raises.

    Args:
        obj: Any object.

    Returns:
        A multi-line report; its last line says whether ``obj`` can be serialized.

    Examples:
        >>> import threading
        >>> from suitkaise import cerial
        >>> print(cerial.explain({"lock": threading.Lock(), "n": 1}))
        dict: dict (2 items) -> pickle
        dict['lock']: _thread.lock -> handler locks.reduce_lock
        ok: every part can be serialized
    """
    from suitkaise.cerial._walk import ATOMS, walk

    lines: list[str] = []
    failures: list[str] = []
    hidden = 0
    try:
        for node in walk(obj, stop_at_error=False):
            t = type(node.obj)
            if node.error is None and (
                t in ATOMS
                or node.path.endswith("<reconstructor>")
                or (node.how == "by reference" and node.path.endswith(">"))  # e.g. <cls>
            ):
                continue
            name = _registry.qualname(t)
            if node.error is not None:
                err = node.error
                reason = getattr(err, "reason", None) or str(err) or type(err).__name__
                hint = getattr(err, "hint", None)
                line = f"{node.path}: {name} -> FAILS: {reason}"
                if hint:
                    line += f" (hint: {hint})"
                failures.append(node.path)
            elif t in _CONTAINERS:
                line = f"{node.path}: {t.__name__} ({len(node.obj)} items) -> pickle"
            else:
                line = f"{node.path}: {name} -> {node.how}"
            if len(lines) < _MAX_LINES or node.error is not None:
                lines.append(line)
            else:
                hidden += 1
    except Exception as exc:  # explain never raises
        lines.append(f"(explain stopped: {type(exc).__name__}: {exc})")
    if not failures:
        failures = _pickling_failure(obj, lines)
    if hidden:
        lines.append(f"... {hidden} more parts not shown")
    if failures:
        lines.append(f"fails: {len(failures)} part(s) cannot be serialized: {', '.join(failures)}")
    else:
        lines.append("ok: every part can be serialized")
    return "\n".join(lines)


explain.__module__ = "suitkaise.cerial"


def _pickling_failure(obj: Any, lines: list[str]) -> list[str]:
    """Every part reduces: pickle the whole, and on failure find the part that fails."""
    from suitkaise.cerial import _pickler
    from suitkaise.cerial._walk import find_unpicklable

    try:
        try:
            _pickler._dump_into(_pickler._Chunks(), obj)
        except RecursionError:
            return []  # serialize retries these with a big stack
        except Exception:
            node = find_unpicklable(obj)
            if node is None or node.error is None:
                return []
            err = node.error
            reason = str(err) or type(err).__name__
            lines.append(f"{node.path}: {_registry.qualname(type(node.obj))} -> FAILS: {reason}")
            return [node.path]
    except Exception as exc:  # explain never raises
        lines.append(f"(explain stopped: {type(exc).__name__}: {exc})")
    return []
