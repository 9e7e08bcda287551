"""The entry point of an Skprocess child process.

::

    child_main(payload, key, ...)
        process = cerial.deserialize(payload, key=key)   # the real class, original state
        outcome = engine.run_lifecycle(process, ...)     # or handle_error() after crashes
        up.send(("final", {failed, value, error, current_run, timers}))

Nothing is sent per iteration: progress goes through the shared ControlBlock; the pipe carries
user messages (``tell``), lives lost, and the single final message.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any

from suitkaise import cerial
from suitkaise.processing._errors import ProcessError, ResultError
from suitkaise.processing._int.engine import Host, Outcome, handle_error, run_lifecycle
from suitkaise.processing._int.ipc import BadPayload, Channel, ControlBlock
from suitkaise.processing._int.process_timeouts import alarm_deferred
from suitkaise.processing._int.remote_errors import dump_exception
from suitkaise.processing._process import Skprocess, attach

__all__ = ["ChildHost", "child_main"]


class ChildHost(Host):
    """The engine's view of the parent: the shared ControlBlock and the message channel."""

    def __init__(self, block: ControlBlock, channel: Channel, grace: float) -> None:
        self.block = block
        self.channel = channel
        self.grace = grace

    def stop_requested(self) -> bool:
        return self.block.stop_requested()

    def section_started(self, section: str, timeout: float) -> None:
        self.block.section_started(section, timeout, self.grace)

    def section_ended(self) -> None:
        self.block.section_ended()

    def run_counted(self, current_run: int) -> None:
        self.block.current_run = current_run

    def life_lost(self, lives_left: int, error: ProcessError) -> None:
        self.block.reset_progress()
        self.channel.send("l", lives_left)

    def tell(self, obj: Any) -> None:
        data = self.channel.encode("m", obj)
        with alarm_deferred():  # a timeout must not cut a message in half
            self.channel.send_encoded(data)

    def listen(self, timeout: float | None) -> Any:
        if not self.channel.poll(timeout):  # waiting may be interrupted by a timeout
            return None
        try:
            with alarm_deferred():  # reading one whole message may not
                return self.channel.recv()[1]
        except EOFError:  # the parent is gone
            return None
        except BadPayload as bad:
            raise ProcessError(
                f"listen(): a message from the parent could not be deserialized: {bad}",
                original_error=bad.error,
            ) from bad.error


def _rebuild(payload: bytes, key: bytes, host: ChildHost) -> Skprocess:
    process = cerial.deserialize(payload, key=key)
    if not isinstance(process, Skprocess):
        raise TypeError(f"expected an Skprocess, got {type(process).__name__}")
    attach(process, role="child", host=host)
    return process


def _send_outcome(channel: Channel, outcome: Outcome) -> None:
    process = outcome.process
    error = process._sk.error
    message: dict[str, Any] = {
        "failed": outcome.failed,
        "current_run": process._sk.current_run,
        "timers": process.timers.export(),
        "error": None if error is None else dump_exception(error),
        "value": None,
        "value_exc": None,
        "value_is_error": False,
    }
    value = outcome.value
    if error is not None and value is error:
        message["value_is_error"] = True
    elif isinstance(value, BaseException):
        message["value_exc"] = dump_exception(value)
    else:
        message["value"] = value
    try:
        channel.send("f", message)
    except Exception as exc:  # the value itself cannot be carried: say so, never lose it silently
        problem = ResultError(
            f"the result of {type(process).__qualname__} could not be sent to the parent: "
            f"{type(exc).__name__}: {exc}",
            current_run=process._sk.current_run,
            original_error=exc,
        )
        problem.__cause__ = exc
        message.update(
            failed=True,
            error=dump_exception(problem),
            value=None,
            value_exc=None,
            value_is_error=True,
        )
        channel.send("f", message)


def child_main(
    payload: bytes,
    key: bytes,
    lives: int,
    block: ControlBlock,
    up: Connection,
    down: Connection,
    crash_payload: bytes | None,
    grace: float,
) -> None:
    """Run one Skprocess in this (child) process and report to the parent.

    With ``crash_payload`` (the signed error of a crashed child) only ``__error__`` runs.
    """
    channel = Channel(up, down, key)
    host = ChildHost(block, channel, grace)
    try:
        try:
            process = _rebuild(payload, key, host)
        except Exception as exc:
            error = ProcessError(
                "could not rebuild the process object in the child process: "
                f"{type(exc).__name__}: {exc}",
                current_run=0,
                original_error=exc,
            )
            error.__cause__ = exc
            failure: dict[str, Any] = {
                "failed": True,
                "current_run": 0,
                "timers": None,
                "error": dump_exception(error),
                "value": None,
                "value_exc": None,
                "value_is_error": True,
            }
            channel.send("f", failure)
            return
        if crash_payload is not None:
            outcome = handle_error(process, cerial.deserialize(crash_payload, key=key), host)
        else:
            outcome = run_lifecycle(
                process,
                lives=lives,
                reload=lambda: _rebuild(payload, key, host),
                host=host,
            )
        _send_outcome(channel, outcome)
    finally:
        channel.close()
