"""The examples in the docstrings are true: run them with doctest.

The public objects report ``__module__ == "suitkaise.sktime"``, so they are collected from the
package namespace (``doctest.testmod`` on the underscore modules would skip them).
"""

from __future__ import annotations

import doctest

import pytest

import suitkaise.sktime as sktime
from suitkaise.sktime import _format

FINDER = doctest.DocTestFinder(exclude_empty=True)  # module=False: no module filtering
TESTS = [
    test
    for name in sktime.__all__
    for test in FINDER.find(getattr(sktime, name), f"suitkaise.sktime.{name}", module=False)
] + FINDER.find(_format)


def test_there_are_many_examples() -> None:
    assert sum(len(t.examples) for t in TESTS) >= 60


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_docstring_example(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} failing example(s)"
