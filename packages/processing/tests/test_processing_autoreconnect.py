"""@autoreconnect: live resources are revived in the child before __prerun__."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from suitkaise import cerial
from suitkaise.processing import PreRunError, RunError, Skprocess, autoreconnect
from suitkaise.processing._int.engine import run_inline

WAIT = 30.0


class Door(cerial.Reconnector):
    """A resource whose reconnection needs a key and leaves a trace in a file."""

    auth_key = "tests.Door"

    def __init__(self, trace: str, fail: bool = False) -> None:
        self.trace = trace
        self.fail = fail

    def reconnect(self, auth: Any = None) -> Any:
        with open(self.trace, "a") as f:
            f.write("r")
        if self.fail:
            raise ConnectionRefusedError("door stuck")
        return f"open with {auth}"


class Reader(Skprocess):
    """Reads a table through a sqlite connection made in the parent."""

    def __init__(self, db_path: str) -> None:
        self.db = sqlite3.connect(db_path)
        self.rows: list[Any] = []
        self.process_config.runs = 1

    def __prerun__(self) -> None:
        self.kind = type(self.db).__name__  # already live here

    def __run__(self) -> None:
        self.rows = self.db.execute("select x from t order by x").fetchall()

    def __result__(self) -> Any:
        return self.kind, self.rows


@autoreconnect()
class AutoReader(Reader):
    pass


@autoreconnect(**{"tests.Door": "secret"})
class DoorUser(Skprocess):
    def __init__(self, trace: str, fail: bool = False, lives: int = 1) -> None:
        self.door = Door(trace, fail)
        self.process_config.runs = 1
        self.process_config.lives = lives

    def __prerun__(self) -> None:
        self.seen_in_prerun = self.door

    def __run__(self) -> None:
        pass

    def __result__(self) -> Any:
        return self.seen_in_prerun


@autoreconnect
class BareDecorated(DoorUser):
    """The bare form works too (no credentials): it replaces the parent's auth."""


def _make_db(tmp_path: Path) -> str:
    path = str(tmp_path / "data.db")
    with sqlite3.connect(path) as db:
        db.execute("create table t (x)")
        db.executemany("insert into t values (?)", [(1,), (2,)])
    db.close()
    return path


def test_connection_is_live_before_prerun(start_method: str, tmp_path: Path) -> None:
    p = AutoReader(_make_db(tmp_path))
    p.process_config.start_method = start_method
    try:
        assert p.run.timeout(WAIT)() == ("Connection", [(1,), (2,)])
    finally:
        p.db.close()


def test_without_decorator_the_child_sees_a_reconnector(start_method: str, tmp_path: Path) -> None:
    p = Reader(_make_db(tmp_path))
    p.process_config.start_method = start_method
    try:
        with pytest.raises(RunError) as info:  # a reconnector has no execute()
            p.run.timeout(WAIT)()
        assert isinstance(info.value.original_error, AttributeError)
        assert "Reconnector" in str(info.value)
    finally:
        p.db.close()


def test_auth_is_passed_to_reconnect(start_method: str, tmp_path: Path) -> None:
    p = DoorUser(str(tmp_path / "trace"))
    p.process_config.start_method = start_method
    assert p.run.timeout(WAIT)() == "open with secret"
    b = BareDecorated(str(tmp_path / "trace2"))
    b.process_config.start_method = start_method
    assert b.run.timeout(WAIT)() == "open with None"


def test_failure_is_a_prerun_error_and_costs_a_life(start_method: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    p = DoorUser(str(trace), fail=True, lives=2)
    p.process_config.start_method = start_method
    with pytest.raises(PreRunError) as info:
        p.run.timeout(WAIT)()
    assert "@autoreconnect" in str(info.value)
    assert "door stuck" in str(info.value)
    assert trace.read_text() == "rr"  # one try per life


def test_run_inline_reconnects_too(tmp_path: Path) -> None:
    # Pool workers build the object in the worker from a deserialized item: simulate that.
    p = cerial.deserialize(cerial.serialize(DoorUser(str(tmp_path / "trace"))))
    assert isinstance(p.door, Door)
    assert run_inline(p) == "open with secret"


def test_decorator_rejects_non_skprocess() -> None:
    with pytest.raises(TypeError, match="Skprocess"):
        autoreconnect()(dict)
    with pytest.raises(TypeError, match="Skprocess"):
        autoreconnect(int)
