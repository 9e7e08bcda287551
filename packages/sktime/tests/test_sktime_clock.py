"""time(), sleep() and elapsed(): thin wrappers with checked arguments."""

from __future__ import annotations

import time as stdlib_time

import pytest

from suitkaise import sktime


def test_time_is_wall_clock() -> None:
    before = stdlib_time.time()
    now = sktime.time()
    after = stdlib_time.time()
    assert before <= now <= after


def test_sleep_sleeps_at_least_the_time_asked() -> None:
    start = stdlib_time.perf_counter()
    assert sktime.sleep(0.02) is None
    assert stdlib_time.perf_counter() - start >= 0.02
    sktime.sleep(0)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_sleep_rejects_bad_input(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="sleep"):
        sktime.sleep(value)  # type: ignore[arg-type]


def test_elapsed_is_symmetric_and_defaults_to_now() -> None:
    assert sktime.elapsed(10.0, 12.5) == 2.5
    assert sktime.elapsed(12.5, 10.0) == 2.5
    assert sktime.elapsed(3, 3) == 0.0
    past = stdlib_time.time() - 5.0
    assert 5.0 <= sktime.elapsed(past) < 65.0


@pytest.mark.parametrize(
    ("t1", "t2", "error", "names"),
    [
        ("a", 1.0, TypeError, "t1"),
        (1.0, "b", TypeError, "t2"),
        (float("nan"), 1.0, ValueError, "t1"),
        (1.0, float("inf"), ValueError, "t2"),
        (None, None, TypeError, "t1"),
    ],
)
def test_elapsed_rejects_bad_input(
    t1: object, t2: object, error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=names):
        sktime.elapsed(t1, t2)  # type: ignore[arg-type]
