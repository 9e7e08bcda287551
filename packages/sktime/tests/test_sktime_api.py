"""The public door: every exported name is importable, documented, and reports its public path."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

import pytest

import suitkaise.sktime as sktime


def test_all_is_sorted_and_unique() -> None:
    assert list(sktime.__all__) == sorted(set(sktime.__all__))


@pytest.mark.parametrize("name", sktime.__all__)
def test_every_public_name_is_importable_documented_and_public(name: str) -> None:
    module = importlib.import_module("suitkaise.sktime")
    obj = getattr(module, name)
    assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
    assert obj.__module__ == "suitkaise.sktime", f"{name}.__module__ is {obj.__module__}"


def test_spec_names_are_exported() -> None:
    for name in ("Sktimer", "TimeThis", "timethis", "TimerStats", "time", "sleep", "elapsed"):
        assert name in sktime.__all__


def test_public_methods_and_properties_are_documented() -> None:
    for cls in (sktime.Sktimer, sktime.TimerStats, sktime.TimeThis):
        for attr, value in vars(cls).items():
            if attr.startswith("_"):
                continue
            doc = getattr(value, "__doc__", None)
            if isinstance(value, property | classmethod | staticmethod) or callable(value):
                assert doc and doc.strip(), f"{cls.__name__}.{attr} has no docstring"


def test_errors_share_a_base_inherit_builtins_and_pickle() -> None:
    err = sktime.TimerStateError("boom", operation="stop", state="idle")
    assert isinstance(err, sktime.SktimeError)
    assert isinstance(err, RuntimeError)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is sktime.TimerStateError
    assert str(back) == "boom"
    assert (back.operation, back.state) == ("stop", "idle")


def test_import_is_cheap() -> None:
    # Importing must start no thread and pull in nothing heavy (numpy, asyncio, ...).
    code = (
        "import sys, threading; import suitkaise.sktime; "
        "heavy = [m for m in ('numpy', 'asyncio', 'statistics') if m in sys.modules]; "
        "print(threading.active_count(), heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "1 []"


def test_version_is_the_distribution_version() -> None:
    from importlib.metadata import version

    assert sktime.__version__ == version("suitkaise-sktime")
    with pytest.raises(AttributeError, match="no attribute 'Sktimr'"):
        sktime.Sktimr  # type: ignore[attr-defined]
