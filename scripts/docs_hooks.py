"""mkdocs hook: give mkdocstrings one merged view of the ``suitkaise`` namespace.

The three portions live in separate ``src/`` folders, and the bundle's regular
``suitkaise/__init__.py`` (on ``sys.path`` in a development install) hides namespace portions
from griffe. When mkdocs loads this hook we copy the bundle's ``__init__.py`` and the three portions into
``.docs-api/suitkaise/``, the first search path in ``mkdocs.yml``, so griffe sees one package.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Parallel builds (the test suite) each pass their own folder; mkdocs.yml reads the same variable.
MERGED = REPO / os.environ.get("SUITKAISE_DOCS_API", ".docs-api") / "suitkaise"


def merge() -> None:
    if MERGED.exists():
        shutil.rmtree(MERGED)
    MERGED.mkdir(parents=True)
    shutil.copy2(REPO / "packages" / "suitkaise" / "src" / "suitkaise" / "__init__.py", MERGED)
    for portion in ("cerial", "sktime", "processing"):
        shutil.copytree(
            REPO / "packages" / portion / "src" / "suitkaise" / portion,
            MERGED / portion,
            ignore=shutil.ignore_patterns("__pycache__"),
        )


# At import time: mkdocstrings checks its search paths before hooks' on_config runs.
merge()
