"""Items that both the local Pool tests and the cluster Pool tests send to workers.

They live in a module of their own (imported by its full name, which the pytest ``pythonpath``
makes importable) so that workers under every start method, and dask workers, load them by
reference.
"""

from __future__ import annotations

import os
from pathlib import Path

from suitkaise.processing import Skprocess


def square(x: int) -> int:
    return x * x


class CustomError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def fail_on_five(x: int) -> int:
    if x == 5:
        raise CustomError(f"item {x} is bad", code=42)
    return x


def crash_on_three(x: int) -> int:
    if x == 3:
        os._exit(7)
    return x


class Doubler(Skprocess):
    def __init__(self, value: int) -> None:
        self.value = value
        self.total = 0
        self.process_config.runs = 3

    def __run__(self) -> None:
        self.total += self.value

    def __result__(self) -> int:
        return self.total


class Adder(Skprocess):
    def __init__(self, a: int, b: int) -> None:
        self.a, self.b = a, b
        self.process_config.runs = 1

    def __run__(self) -> None:
        pass

    def __result__(self) -> int:
        return self.a + self.b


class Flaky(Skprocess):
    """Fails on the first attempt, succeeds on the second (lives=2)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.process_config.runs = 1
        self.process_config.lives = 2

    def __run__(self) -> None:
        path = Path(self.marker)
        if not path.exists():
            path.write_text("tried")
            raise RuntimeError("first attempt fails")

    def __result__(self) -> str:
        return "recovered"


class AlwaysFails(Skprocess):
    def __init__(self, value: int) -> None:
        self.value = value
        self.process_config.runs = 1

    def __run__(self) -> None:
        raise KeyError(f"no {self.value}")
