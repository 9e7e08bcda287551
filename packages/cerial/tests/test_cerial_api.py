"""The public door: every name in __all__ is importable, documented, and reports its public path."""

from __future__ import annotations

import importlib
import subprocess
import sys

import suitkaise.cerial as cerial


def test_all_is_sorted_and_complete() -> None:
    assert cerial.__all__ == sorted(cerial.__all__)
    for name in cerial.__all__:
        assert hasattr(cerial, name), name


def test_every_public_name_documented_with_public_module() -> None:
    for name in cerial.__all__:
        obj = getattr(importlib.import_module("suitkaise.cerial"), name)
        assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
        assert obj.__module__ == "suitkaise.cerial", f"{name}.__module__ = {obj.__module__}"


def test_errors_hierarchy_and_pickle_roundtrip() -> None:
    import pickle

    assert issubclass(cerial.SerializationError, cerial.CerialError)
    assert issubclass(cerial.SerializationError, TypeError)
    assert issubclass(cerial.SerializationError, pickle.PicklingError)
    assert issubclass(cerial.DeserializationError, pickle.UnpicklingError)
    assert issubclass(cerial.ReconnectError, ConnectionError)
    e = cerial.SerializationError("m", path="A.b", type_name="t", reason="r", hint="h")
    for loads, dumps in ((pickle.loads, pickle.dumps), (cerial.deserialize, cerial.serialize)):
        e2 = loads(dumps(e))
        assert type(e2) is cerial.SerializationError
        assert (str(e2), e2.path, e2.type_name, e2.reason, e2.hint) == ("m", "A.b", "t", "r", "h")
    r = pickle.loads(pickle.dumps(cerial.ReconnectError("x", path="p", resource="res")))
    assert (str(r), r.path, r.resource) == ("x", "p", "res")
    d = pickle.loads(pickle.dumps(cerial.DeserializationError("bad")))
    assert str(d) == "bad"


def test_import_is_cheap() -> None:
    code = (
        "import sys, threading\n"
        "import suitkaise.cerial\n"
        "assert 'cloudpickle' not in sys.modules, 'cloudpickle imported eagerly'\n"
        "assert threading.active_count() == 1\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(cerial, verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0
