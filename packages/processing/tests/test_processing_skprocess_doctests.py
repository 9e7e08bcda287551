"""The Examples sections of the Skprocess public names run as shown."""

from __future__ import annotations

import doctest

import pytest

from suitkaise.processing import (
    ProcessConfig,
    ProcessTimers,
    Skprocess,
    TimeoutConfig,
    autoreconnect,
)


@pytest.mark.parametrize(
    "obj", [Skprocess, ProcessConfig, TimeoutConfig, ProcessTimers, autoreconnect]
)
def test_examples(obj: object) -> None:
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, globs={obj.__name__: obj})  # type: ignore[attr-defined]
    examples = sum(len(t.examples) for t in tests)
    assert examples > 0, f"{obj!r} has no Examples section"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
