"""Make sure a spawned child can rebuild a class, even from a module it cannot import.

cerial (cloudpickle) carries classes from importable modules *by reference*: the child imports
the module. That fails for modules that exist in the parent but cannot be found on the child's
``sys.path`` - test modules loaded by pytest's ``importlib`` import mode, files loaded with
``importlib.util.spec_from_file_location``, notebooks' helper modules. For those modules we ask
cloudpickle to carry their classes and functions *by value*, as it already does for
``__main__``. Only the parent's pickling changes; nothing is needed in the child.

Non-goal: modules that are importable but differ between parent and child (edited files).
"""

from __future__ import annotations

import importlib.machinery
import sys
from functools import lru_cache

__all__ = ["carry_by_value_if_unimportable"]


@lru_cache(maxsize=256)
def _importable_from_path(name: str, path: tuple[str, ...]) -> bool:
    """True if module ``name`` can be found from ``path`` alone (as a fresh child would)."""
    parts = name.split(".")
    if parts[0] in sys.builtin_module_names or parts[0] in sys.stdlib_module_names:
        return True
    try:
        spec = importlib.machinery.PathFinder.find_spec(parts[0], list(path))
        for i in range(1, len(parts)):
            if spec is None or spec.submodule_search_locations is None:
                return False
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: i + 1]), list(spec.submodule_search_locations)
            )
    except (ImportError, ValueError):
        return False
    return spec is not None


def carry_by_value_if_unimportable(cls: type) -> None:
    """Register with cloudpickle, by value, every module in ``cls``'s MRO a child cannot import.

    Args:
        cls: The class about to be sent to a child started with spawn or forkserver.
    """
    import cloudpickle

    path = tuple(sys.path)
    for klass in cls.__mro__:
        name = klass.__module__
        if name in ("__main__", "builtins") or name.startswith("suitkaise."):
            continue
        module = sys.modules.get(name)
        if module is None or _importable_from_path(name, path):
            continue
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:  # not registrable (e.g. not in sys.modules under that name)
            continue
