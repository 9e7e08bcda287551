"""An exception carried from a child keeps its type, its message and its own cause chain."""

from __future__ import annotations

import multiprocessing

import pytest

from suitkaise.processing import ProcessError, RemoteTraceback, RunError
from suitkaise.processing._int.remote_errors import dump_exception, load_exception


class Unpicklable(Exception):
    def __reduce__(self) -> object:
        raise TypeError("refuses to travel")


def _raise_chained(conn: multiprocessing.connection.Connection) -> None:
    try:
        try:
            {}["missing"]
        except KeyError as inner:
            raise ValueError("outer failure") from inner
    except ValueError as exc:
        conn.send(dump_exception(exc))
    conn.close()


def test_chain_survives_a_real_process_boundary(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_raise_chained, args=(child,))
    proc.start()
    child.close()
    assert parent.poll(60), "child sent nothing"
    record = parent.recv()
    proc.join(30)
    exc = load_exception(record)
    assert type(exc) is ValueError and str(exc) == "outer failure"
    assert isinstance(exc.__cause__, RemoteTraceback)
    assert "_raise_chained" in str(exc.__cause__)
    assert isinstance(exc.__cause__.__cause__, KeyError)
    assert exc.__cause__.__cause__.args == ("missing",)


def test_uncarriable_exception_still_names_type_and_message() -> None:
    try:
        raise Unpicklable("the real message")
    except Unpicklable as exc:
        record = dump_exception(exc)
    loaded = load_exception(record)
    assert isinstance(loaded, ProcessError)
    assert "Unpicklable" in str(loaded) and "the real message" in str(loaded)
    assert isinstance(loaded.__cause__, RemoteTraceback)


def test_section_error_keeps_its_type_when_its_user_exception_cannot_travel() -> None:
    # A section error (RunError ...) wraps the user's exception as original_error and as
    # __cause__; when that one cannot travel, a described stand-in takes its place.
    try:
        try:
            raise Unpicklable("the real message")
        except Unpicklable as inner:
            raise RunError("__run__ raised Unpicklable", original_error=inner) from inner
    except RunError as exc:
        record = dump_exception(exc)
    loaded = load_exception(record)
    assert type(loaded) is RunError
    assert isinstance(loaded.original_error, ProcessError)
    assert "Unpicklable: the real message" in str(loaded.original_error)
    assert "could not be serialized" in str(loaded.original_error)
    assert "Unpicklable" in record["traceback"]  # the child's traceback as it was


@pytest.mark.parametrize("payload", [b"garbage", None])
def test_damaged_payload_falls_back_to_a_named_error(payload: bytes | None) -> None:
    record = {
        "type": "builtins.OSError",
        "message": "disk gone",
        "traceback": "tb",
        "payload": payload,
    }
    loaded = load_exception(record)
    assert isinstance(loaded, ProcessError) and "builtins.OSError: disk gone" in str(loaded)
