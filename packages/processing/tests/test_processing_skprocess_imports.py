"""Importing suitkaise.processing is cheap: Pool, Share, sktime, cerial, multiprocessing load on use."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WAIT = 60.0

CHECK = textwrap.dedent(
    """
    import sys
    # Measure only what this import adds: some environments preload modules at start-up
    # (coverage's .pth hook imports multiprocessing, for one).
    before = set(sys.modules)
    import suitkaise.processing as processing

    heavy = [
        "multiprocessing",
        "psutil",
        "suitkaise.cerial",
        "suitkaise.processing._pool",
        "suitkaise.processing._share",
        "suitkaise.sktime",
        "importlib.metadata",
    ]
    print(sorted(name for name in heavy if name in sys.modules and name not in before))
    print(processing.Pool.__name__, processing.Share.__name__, processing.ShareLock.__name__)
    print("suitkaise.processing._pool" in sys.modules, "suitkaise.processing._share" in sys.modules)
    namespace = {}
    exec("from suitkaise.processing import *", namespace)
    print(sorted(set(processing.__all__) - set(namespace)))
    print(sorted(set(processing.__all__) - set(dir(processing))))
    try:
        processing.NotAName
    except AttributeError as exc:
        print("AttributeError", exc)
    """
)


def test_import_loads_nothing_heavy_and_names_resolve_on_first_use() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]",
        "Pool Share ShareLock",
        "True True",
        "[]",
        "[]",
        "AttributeError module 'suitkaise.processing' has no attribute 'NotAName'",
    ]
