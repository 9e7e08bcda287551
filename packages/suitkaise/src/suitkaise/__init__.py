"""suitkaise: Python multiprocessing that a beginner can use and an expert would choose.

This bundle owns the ``suitkaise`` package and re-exports the three portions
(``suitkaise.cerial``, ``suitkaise.sktime``, ``suitkaise.processing``), which are
separately installed PEP 420 namespace portions.

Guarantees:
    * ``import suitkaise`` imports none of the portions, prints nothing and writes nothing;
      names are resolved on first access (the ``concurrent.futures`` pattern).
    * A portion that is not installed only breaks the names that come from it.
"""

from __future__ import annotations

import importlib
from pkgutil import extend_path
from typing import TYPE_CHECKING, Any

# Editable installs of the portions put their own ``src/suitkaise`` folders on sys.path;
# without this the bundle's regular package would hide them.
__path__ = extend_path(__path__, __name__)

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "cerial": "suitkaise.cerial",
    "sktime": "suitkaise.sktime",
    "processing": "suitkaise.processing",
    "serialize": "suitkaise.cerial",
    "deserialize": "suitkaise.cerial",
    "reconnect_all": "suitkaise.cerial",
    "Sktimer": "suitkaise.sktime",
    "TimeThis": "suitkaise.sktime",
    "timethis": "suitkaise.sktime",
    "Skprocess": "suitkaise.processing",
    "Pool": "suitkaise.processing",
    "Share": "suitkaise.processing",
    "autoreconnect": "suitkaise.processing",
}

__all__ = [
    "Pool",
    "Share",
    "Skprocess",
    "Sktimer",
    "TimeThis",
    "autoreconnect",
    "cerial",
    "deserialize",
    "processing",
    "reconnect_all",
    "serialize",
    "sktime",
    "timethis",
]

if TYPE_CHECKING:
    __version__: str
    from suitkaise import cerial, processing, sktime
    from suitkaise.cerial import deserialize, reconnect_all, serialize
    from suitkaise.processing import Pool, Share, Skprocess, autoreconnect
    from suitkaise.sktime import Sktimer, TimeThis, timethis


def _version() -> str:
    # Looked up on first use: importlib.metadata costs tens of milliseconds to import, and
    # every `import suitkaise.<portion>` runs this module first.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("suitkaise")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = found = _version()
        return found
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'suitkaise' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, "suitkaise"):
            raise
        distribution = "suitkaise-" + module_name.rsplit(".", 1)[1]
        raise ImportError(
            f"suitkaise.{name} comes from the {distribution!r} distribution, which is not "
            f"installed: pip install {distribution}"
        ) from exc
    value = module if module_name.rsplit(".", 1)[1] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
