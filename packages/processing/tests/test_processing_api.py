"""The public door of suitkaise.processing: every name exported, documented and public."""

from __future__ import annotations

import inspect

import pytest

import suitkaise.processing as processing

NAMES = list(processing.__all__)


def test_all_is_sorted_and_complete() -> None:
    assert sorted(NAMES) == NAMES
    for expected in ("Skprocess", "Pool", "Share", "autoreconnect", "ProcessError", "ShareError"):
        assert expected in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_name_is_importable_documented_and_reports_the_public_module(name: str) -> None:
    obj = getattr(processing, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    assert getattr(obj, "__module__", None) == "suitkaise.processing", (
        f"{name}.__module__ is {getattr(obj, '__module__', None)!r}"
    )


@pytest.mark.parametrize("name", [n for n in NAMES if inspect.isclass(getattr(processing, n))])
def test_public_methods_and_properties_are_documented(name: str) -> None:
    cls = getattr(processing, name)
    if issubclass(cls, BaseException):
        return  # exceptions document themselves at class level
    missing = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        member = callable(value) or isinstance(value, (property, classmethod, staticmethod))
        if member and not inspect.getdoc(getattr(cls, attr, value)):
            missing.append(attr)
    assert not missing, f"{name}: undocumented public members {missing}"
