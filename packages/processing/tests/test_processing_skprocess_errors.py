"""Skprocess errors: one per section, with current_run, original error and remote traceback."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from suitkaise import cerial
from suitkaise.processing import (
    ErrorHandlerError,
    OnFinishError,
    PostRunError,
    PreRunError,
    ProcessCrashError,
    ProcessError,
    ProcessTimeoutError,
    RemoteTraceback,
    ResultError,
    ResultTimeoutError,
    RunError,
    Skprocess,
)

WAIT = 30.0


class CustomError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message, code)
        self.code = code


class FailsIn(Skprocess):
    def __init__(self, section: str) -> None:
        self.section = section
        self.process_config.runs = 3

    def _maybe_fail(self, section: str) -> None:
        if section == self.section and (self.current_run == 2 or section in ("onfinish", "result")):
            raise CustomError(f"broken {section}", 42)

    def __prerun__(self) -> None:
        self._maybe_fail("prerun")

    def __run__(self) -> None:
        self._maybe_fail("run")

    def __postrun__(self) -> None:
        self._maybe_fail("postrun")

    def __onfinish__(self) -> None:
        self._maybe_fail("onfinish")

    def __result__(self) -> Any:
        self._maybe_fail("result")
        return "ok"


class HandlerFails(FailsIn):
    def __error__(self) -> Any:
        raise CustomError("handler broke", 7)


@pytest.mark.parametrize(
    ("section", "error_type", "current_run"),
    [
        ("prerun", PreRunError, 2),
        ("run", RunError, 2),
        ("postrun", PostRunError, 2),
        ("onfinish", OnFinishError, 3),
        ("result", ResultError, 3),
    ],
)
def test_section_errors_cross_the_process_boundary(
    start_method: str, section: str, error_type: type, current_run: int
) -> None:
    p = FailsIn(section)
    p.process_config.start_method = start_method
    with pytest.raises(error_type) as info:
        p.run.timeout(WAIT)()
    err = info.value
    assert isinstance(err, ProcessError)
    assert err.current_run == current_run
    assert isinstance(err.original_error, CustomError)
    assert err.original_error.code == 42
    assert str(err.original_error.args[0]) == f"broken {section}"
    assert f"broken {section}" in str(err)
    assert isinstance(err.__cause__, RemoteTraceback)
    assert "_maybe_fail" in str(err.__cause__)  # the child's frames
    assert p.error is err


def test_error_handler_error(start_method: str) -> None:
    p = HandlerFails("run")
    p.process_config.start_method = start_method
    with pytest.raises(ErrorHandlerError) as info:
        p.run.timeout(WAIT)()
    assert info.value.original_error.code == 7
    assert isinstance(p.error, RunError)  # the error that used up the lives


def _examples() -> list[ProcessError]:
    original = CustomError("inner", 5)
    return [
        ProcessError("base", current_run=1, original_error=original),
        PreRunError("pre", current_run=2, original_error=original),
        RunError("run", current_run=3, original_error=original),
        PostRunError("post", current_run=4, original_error=original),
        OnFinishError("fin", current_run=5, original_error=original),
        ResultError("res", current_run=6, original_error=original),
        ErrorHandlerError("err", current_run=7, original_error=original),
        ProcessTimeoutError("slow", section="run", timeout=0.25, current_run=8),
        ResultTimeoutError("waited", timeout=1.5, current_run=9),
        ProcessCrashError("died", exitcode=-11, signal_name="SIGSEGV", current_run=10),
    ]


@pytest.mark.parametrize("error", _examples(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("how", ["pickle", "cerial"])
def test_every_error_round_trips(error: ProcessError, how: str) -> None:
    if how == "pickle":
        back = pickle.loads(pickle.dumps(error))
    else:
        back = cerial.deserialize(cerial.serialize(error, key=b"k" * 32), key=b"k" * 32)
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.current_run == error.current_run
    for attr in ("section", "timeout", "exitcode", "signal_name"):
        assert getattr(back, attr, None) == getattr(error, attr, None)
    if error.original_error is not None:
        assert isinstance(back.original_error, CustomError)
        assert back.original_error.code == 5


def test_timeout_errors_are_timeout_errors() -> None:
    assert issubclass(ProcessTimeoutError, TimeoutError)
    assert issubclass(ResultTimeoutError, TimeoutError)
    assert issubclass(ProcessCrashError, ProcessError)
