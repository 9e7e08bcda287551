"""The bundle re-exports the portions lazily and quietly."""

from __future__ import annotations

import subprocess
import sys

import pytest

import suitkaise

MAIN_NAMES = [
    "serialize",
    "deserialize",
    "reconnect_all",
    "Sktimer",
    "TimeThis",
    "timethis",
    "Skprocess",
    "Pool",
    "Share",
    "autoreconnect",
]


def test_all_lists_packages_and_main_names() -> None:
    assert sorted(suitkaise.__all__) == suitkaise.__all__
    assert set(suitkaise.__all__) == {"cerial", "sktime", "processing", *MAIN_NAMES}


def test_subpackages_are_the_portions() -> None:
    from suitkaise import cerial, processing, sktime

    assert cerial.__name__ == "suitkaise.cerial"
    assert sktime.__name__ == "suitkaise.sktime"
    assert processing.__name__ == "suitkaise.processing"


@pytest.mark.parametrize("name", MAIN_NAMES)
def test_main_names_resolve_to_the_portion_objects(name: str) -> None:
    value = getattr(suitkaise, name)
    owner = {
        "serialize": "cerial",
        "deserialize": "cerial",
        "reconnect_all": "cerial",
        "Sktimer": "sktime",
        "TimeThis": "sktime",
        "timethis": "sktime",
    }.get(name, "processing")
    module = __import__(f"suitkaise.{owner}", fromlist=[name])
    assert value is getattr(module, name)


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        suitkaise.no_such_thing


def test_import_is_lazy_quiet_and_starts_nothing() -> None:
    code = (
        "import sys, threading, multiprocessing.process as mpp\n"
        "import suitkaise\n"
        "loaded = [m for m in ('suitkaise.cerial', 'suitkaise.sktime', 'suitkaise.processing') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert threading.active_count() == 1\n"
        "assert not mpp.active_children()\n"
        "assert 'cerial' in dir(suitkaise) and 'Pool' in dir(suitkaise)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_version_comes_from_metadata() -> None:
    from importlib.metadata import version

    assert suitkaise.__version__ == version("suitkaise")
