"""The parent's side of a started Skprocess: one child at a time, restarted after crashes.

::

    launch(process): payload = cerial.serialize(process, key)   # the original state
        spawn() -> child_main(payload, key, lives_left, block, up, down)
    wait_until(pred): the calling thread pumps the pipe (one thread at a time):
        ("m", obj)     -> inbox (listen)
        ("l", n)       -> lives_left = n
        ("f", {...})   -> final outcome
        child exited without "f" (segfault, os._exit, SIGKILL, backstop kill):
            lives left -> spawn() again from the original state
            none left  -> spawn(error mode) to run __error__, or deliver the crash error

There is no background thread: messages are read while someone waits (``wait``, ``result``,
``listen``, ``is_alive``). A child that sends more than the pipe holds waits for that. The
timeout backstop (kill a child stuck past timeout + grace) is checked during those waits.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util  # registers multiprocessing's exit hook before ours (see below)
import os
import secrets
import signal
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_for_ready
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import psutil

from suitkaise import cerial
from suitkaise.processing._config import any_timeout_set
from suitkaise.processing._errors import (
    ProcessCrashError,
    ProcessError,
    ProcessTimeoutError,
    ResultError,
)
from suitkaise.processing._int.child import child_main
from suitkaise.processing._int.ipc import BadPayload, Channel, ControlBlock
from suitkaise.processing._int.process_carry import carry_by_value_if_unimportable
from suitkaise.processing._int.remote_errors import load_exception

if TYPE_CHECKING:
    from collections.abc import Callable

    from suitkaise.processing._process import Skprocess

__all__ = ["BACKSTOP_GRACE", "EXIT_GRACE", "Final", "Supervisor", "backstop_error"]

# Seconds a child may overrun a section timeout before the parent kills it. The child's own
# SIGALRM normally ends the section long before; this only catches code that blocks signals.
BACKSTOP_GRACE = 1.0
# Seconds a child that has delivered its final message may take to exit before it is killed
# (e.g. it left a non-daemon thread running).
EXIT_GRACE = 5.0
# How often a waiting parent looks for a newly started timed section (only with timeouts set).
_DEADLINE_POLL = 0.1


def backstop_error(
    section: str, timeout: float, current_run: int, killed: str
) -> ProcessTimeoutError:
    """The error of a section that ignored its timeout and was ended by killing ``killed``."""
    label = "@autoreconnect" if section == "autoreconnect" else f"__{section}__"
    return ProcessTimeoutError(
        f"{label} ran past its timeout of {timeout:g} s and did not respond to the interrupt; "
        f"{killed} running it was killed after a grace of {BACKSTOP_GRACE:g} s "
        f"(run {current_run})",
        section="prerun" if section == "autoreconnect" else section,
        timeout=timeout,
        current_run=current_run,
    )


class _Unreadable:
    """Stands in the inbox for a message that could not be deserialized."""

    def __init__(self, error: ProcessError) -> None:
        self.error = error


@dataclass
class Final:
    """The outcome of a whole run, as the parent's object will show it."""

    failed: bool
    value: Any
    error: BaseException | None
    current_run: int
    timers: dict[str, list[float]] | None


def kill_tree(proc: BaseProcess) -> None:
    """SIGKILL ``proc`` and every process it started, then reap ``proc``."""
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    try:
        proc.kill()
    except (OSError, ValueError):  # already gone / already closed
        pass
    for child in descendants:
        try:
            child.kill()
        except psutil.Error:
            pass
    proc.join(EXIT_GRACE)


class Supervisor:
    """Runs and watches the child processes of one ``start()``."""

    def __init__(
        self,
        *,
        payload: bytes,
        key: bytes,
        lives: int,
        start_method: str | None,
        name: str,
        has_error_handler: bool,
        has_timeouts: bool,
    ) -> None:
        self.ctx = multiprocessing.get_context(start_method)
        self.payload = payload
        self.key = key
        self.lives_left = lives
        self.name = name
        self.has_error_handler = has_error_handler
        self.has_timeouts = has_timeouts
        self.block = ControlBlock(inherited=self.ctx.get_start_method() == "fork")
        self.proc: BaseProcess | None = None
        self.up: Channel | None = None
        self.down: Channel | None = None
        self.up_eof = False
        self.error_mode_error: ProcessError | None = None
        self.inbox: deque[Any] = deque()
        self.final: Final | None = None
        self.final_at: float | None = None
        self.killed = False
        self.ended = False
        self.pid: int | None = None
        self.owner_pid = os.getpid()
        self._cond = threading.Condition()
        self._pumping = False

    @classmethod
    def launch(cls, process: Skprocess) -> Supervisor:
        from suitkaise.processing._process import lifecycle_function

        key = secrets.token_bytes(32)
        config = process.process_config
        if multiprocessing.get_context(config.start_method).get_start_method() != "fork":
            carry_by_value_if_unimportable(type(process))
        supervisor = cls(
            payload=cerial.serialize(process, key=key),
            key=key,
            lives=config.lives,
            start_method=config.start_method,
            name=type(process).__qualname__,
            has_error_handler=lifecycle_function(type(process), "error") is not None,
            has_timeouts=any_timeout_set(config.timeouts),
        )
        supervisor.spawn()
        _LIVE.add(supervisor)
        weakref.finalize(process, supervisor.shutdown).atexit = False
        return supervisor

    # -- children -------------------------------------------------------------------------
    def spawn(self, crash_error: ProcessError | None = None) -> None:
        self.block.section_ended()  # a killed child's deadline must not hit the next one
        up_recv, up_send = self.ctx.Pipe(duplex=False)
        down_recv, down_send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(  # type: ignore[attr-defined]
            target=child_main,
            args=(
                self.payload,
                self.key,
                self.lives_left,
                self.block,
                up_send,
                down_recv,
                None if crash_error is None else cerial.serialize(crash_error, key=self.key),
                BACKSTOP_GRACE,
            ),
            name=f"Skprocess-{self.name}",
        )
        try:
            proc.start()
        finally:
            # The child holds its own copies; closing ours lets EOF tell us it is gone.
            up_send.close()
            down_recv.close()
        self.proc = proc
        self.pid = proc.pid
        self.up = Channel(None, up_recv, self.key)
        self.down = Channel(down_send, None, self.key)
        self.up_eof = False

    def _release_child(self) -> None:
        if self.proc is not None:
            self.proc.join(EXIT_GRACE)
            if self.proc.exitcode is None:
                kill_tree(self.proc)
            self.proc.close()
            self.proc = None
        for channel in (self.up, self.down):
            if channel is not None:
                channel.close()
        self.up = self.down = None

    # -- pumping ----------------------------------------------------------------------------
    def is_done(self) -> bool:
        return self.ended

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Pump messages until ``predicate()`` (checked under the lock) or the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                if predicate():
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self.ended:
                    return bool(predicate())
                if self._pumping:  # another thread is reading; it notifies on every event
                    self._cond.wait(remaining)
                    continue
                self._pumping = True
            try:
                self._step(remaining)
            finally:
                with self._cond:
                    self._pumping = False
                    self._cond.notify_all()

    def poll(self) -> None:
        """Handle whatever is ready without blocking."""
        with self._cond:
            if self._pumping or self.ended:
                return
            self._pumping = True
        try:
            while not self.ended and self._step(0.0):
                pass
        finally:
            with self._cond:
                self._pumping = False
                self._cond.notify_all()

    def _step(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` for one event and handle it; True if something happened."""
        proc, up = self.proc, self.up
        assert proc is not None and up is not None and up.recv_conn is not None
        if not self.up_eof and up.recv_conn.poll(0):  # fast path: a message is waiting
            self._receive(up)
            return True
        backstop = self.block.seconds_to_deadline()
        if backstop is not None:
            backstop += 0.01
        elif self.has_timeouts:  # a timed section may start while we wait: look again soon
            backstop = _DEADLINE_POLL
        if self.final_at is not None:  # delivered: it only has to exit now
            backstop = max(0.0, self.final_at + EXIT_GRACE - time.monotonic()) + 0.01
        if backstop is not None:
            timeout = backstop if timeout is None else min(timeout, backstop)
        waitables: list[Any] = [proc.sentinel]
        if not self.up_eof:
            waitables.append(up.recv_conn)
        ready = wait_for_ready(waitables, timeout)
        if up.recv_conn in ready:
            self._receive(up)
            return True
        if proc.sentinel in ready:
            self._child_exited(None)
            return True
        if self.final_at is not None and time.monotonic() > self.final_at + EXIT_GRACE:
            kill_tree(proc)  # e.g. a non-daemon thread keeps it from exiting
            self._child_exited(None)
            return True
        overdue = self.block.overdue_section()
        if overdue is not None:
            kill_tree(proc)
            section, seconds = overdue
            self._child_exited(
                backstop_error(section, seconds, self.block.current_run, "the process")
            )
            return True
        return False

    def _receive(self, up: Channel) -> None:
        try:
            kind, obj = up.recv()
        except (EOFError, OSError):
            self.up_eof = True
            return
        except BadPayload as bad:
            self._unreadable(bad)
            return
        with self._cond:
            if kind == "m":
                self.inbox.append(obj)
            elif kind == "l":
                self.lives_left = obj
            elif kind == "f":
                self.final = self._decode_final(obj)
                self.final_at = time.monotonic()

    def _unreadable(self, bad: BadPayload) -> None:
        what = "a message (tell)" if bad.kind == "m" else "the final result"
        error = ResultError(
            f"{what} from the {self.name} process could not be deserialized in the parent: {bad}",
            current_run=self.block.current_run,
            original_error=bad.error,
        )
        error.__cause__ = bad.error
        with self._cond:
            if bad.kind == "m":
                self.inbox.append(_Unreadable(error))
            elif bad.kind == "f":
                self.final = Final(True, error, error, self.block.current_run, None)
                self.final_at = time.monotonic()

    def _decode_final(self, data: dict[str, Any]) -> Final:
        error = None if data["error"] is None else load_exception(data["error"])
        if data["value_is_error"]:
            value: Any = error
        elif data["value_exc"] is not None:
            value = load_exception(data["value_exc"])
        else:
            value = data["value"]
        current_run = data["current_run"]
        if self.error_mode_error is not None:  # __error__ ran in a fresh child after crashes
            current_run = self.error_mode_error.current_run or 0
        return Final(data["failed"], value, error, current_run, data["timers"])

    def _drain(self) -> None:
        up = self.up
        assert up is not None
        while not self.up_eof:
            try:
                if not up.poll(0):
                    return
            except (EOFError, OSError):
                self.up_eof = True
                return
            self._receive(up)

    def _child_exited(self, killed_for: ProcessError | None) -> None:
        proc = self.proc
        assert proc is not None
        self._drain()
        if self.final is None and not self.killed:
            proc.join(EXIT_GRACE)
        exitcode = proc.exitcode
        self._release_child()
        if self.final is not None or self.killed:
            self._end()
            return
        error = killed_for or self._crash_error(exitcode)
        if self.error_mode_error is not None:  # __error__'s own child crashed: deliver as is
            self._deliver(self.error_mode_error)
            return
        self.lives_left -= 1
        if self.lives_left > 0:
            self.block.reset_progress()
            self.spawn()
        elif self.has_error_handler:
            self.error_mode_error = error
            self.spawn(crash_error=error)
        else:
            self._deliver(error)

    def _crash_error(self, exitcode: int | None) -> ProcessCrashError:
        current_run = self.block.current_run
        signal_name = None
        if exitcode is not None and exitcode < 0:
            try:
                signal_name = signal.Signals(-exitcode).name
            except ValueError:
                signal_name = f"signal {-exitcode}"
            how = f"was killed by {signal_name}"
        else:
            how = f"exited with code {exitcode} without reporting a result"
        return ProcessCrashError(
            f"the {self.name} process {how} (run {current_run})",
            exitcode=exitcode,
            signal_name=signal_name,
            current_run=current_run,
        )

    def _deliver(self, error: ProcessError) -> None:
        with self._cond:
            self.final = Final(True, error, error, error.current_run or 0, None)
        self._end()

    def _end(self) -> None:
        with self._cond:
            self.ended = True
            self._cond.notify_all()
        self.block.release()  # no child will need it again; current_run stays readable
        _LIVE.discard(self)

    # -- control ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.block.request_stop()

    def kill(self) -> bool:
        """Kill the running child; True if it had not delivered its outcome yet."""
        with self._cond:
            if self.ended or self.final is not None:
                return False
            self.killed = True
            proc = self.proc
        if proc is not None:
            try:
                kill_tree(proc)
            except ValueError:  # closed by a concurrent pump
                pass
        self.wait_until(self.is_done, None)
        return self.final is None

    def tell(self, obj: Any) -> None:
        with self._cond:
            if self.ended or self.final is not None or self.down is None:
                raise RuntimeError(
                    f"tell(): the {self.name} process has already finished; nothing can "
                    "receive the message"
                )
            down = self.down
        try:
            down.send("m", obj)
        except (BrokenPipeError, OSError) as exc:
            raise RuntimeError(f"tell(): the {self.name} process has ended ({exc})") from exc

    def listen(self, timeout: float | None) -> Any:
        self.wait_until(lambda: bool(self.inbox) or self.ended, timeout)
        with self._cond:
            item = self.inbox.popleft() if self.inbox else None
        if isinstance(item, _Unreadable):
            raise item.error
        return item

    def shutdown(self) -> None:
        """Garbage collection or interpreter exit: kill what still runs, free everything."""
        if os.getpid() != self.owner_pid:  # a forked copy of this object: not ours to kill
            return
        with self._cond:
            if self.ended:
                return
            self.killed = True
            self.ended = True
        if self.proc is not None:
            kill_tree(self.proc)
        self._release_child()
        self.block.release()
        _LIVE.discard(self)


_LIVE: set[Supervisor] = set()


@atexit.register
def _kill_unfinished() -> None:
    # Registered after multiprocessing's own exit hook (imported above), so it runs first:
    # otherwise multiprocessing would join our non-daemon children forever.
    for supervisor in list(_LIVE):
        supervisor.shutdown()
