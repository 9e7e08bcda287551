"""``Skprocess``: a class-based subprocess with a lifecycle, lives, timeouts and timers.

The user's class *is* the process: ``start()`` serializes the object with cerial (signed with a
per-run key), a child process rebuilds it with its real class and runs the engine
(``_int/engine.py``); the parent object supervises (``_int/process_supervisor.py``): it receives
messages, the final outcome, and restarts the child after a crash while lives are left.

Guarantees: every ``start()`` ends with no child, pipe or shared block left behind, whether the
process finishes, fails, is killed, or the object is garbage-collected; at interpreter exit
unfinished processes are killed (like daemon processes, but they may start processes of
their own).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from suitkaise.processing._config import SECTIONS, ProcessConfig
from suitkaise.processing._errors import ResultTimeoutError
from suitkaise.processing._int.modifiers import Modifiable
from suitkaise.processing._timers import ProcessTimers

if TYPE_CHECKING:
    from suitkaise.processing._int.engine import Host
    from suitkaise.processing._int.process_supervisor import Supervisor

__all__ = ["Skprocess", "attach", "check_startable", "lifecycle_function"]

Status = Literal["created", "running", "stopping", "finished", "failed", "killed"]

_DUNDERS = {f"__{s}__": s for s in SECTIONS}


class _State:
    """Runtime state of one object; never serialized (a copy arrives fresh)."""

    __slots__ = (
        "current_run",
        "error",
        "host",
        "outcome",
        "role",
        "status",
        "stop_local",
        "supervisor",
    )

    def __init__(self) -> None:
        self.role: Literal["parent", "child", "inline"] = "parent"
        self.status: Status = "created"
        self.current_run = 0
        self.error: BaseException | None = None
        self.stop_local = False
        self.supervisor: Supervisor | None = None
        self.host: Host | None = None
        self.outcome: tuple[bool, Any] | None = None  # (failed, value) once known

    def __reduce__(self) -> tuple[Any, ...]:
        return (_State, ())


def _setup(self: Skprocess) -> None:
    """What ``Skprocess.__init__`` does; runs once, before the user's ``__init__``."""
    d = self.__dict__
    if "_sk" in d:
        return
    d["_sk"] = _State()
    d["process_config"] = ProcessConfig()
    d["timers"] = ProcessTimers()


class _LifecycleMethod:
    """Wraps a lifecycle dunder so that ``p.__run__.timer`` is ``p.timers.run``."""

    def __init__(self, func: Callable[..., Any], section: str) -> None:
        self.func = func
        self.section = section
        functools.update_wrapper(self, func)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return _BoundLifecycle(self.func, obj, self.section)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # Class.__run__(obj)
        return self.func(*args, **kwargs)


class _BoundLifecycle:
    __slots__ = ("__func__", "__self__", "section")

    def __init__(self, func: Callable[..., Any], obj: Any, section: str) -> None:
        self.__func__ = func
        self.__self__ = obj
        self.section = section

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__func__(self.__self__, *args, **kwargs)

    @property
    def timer(self) -> Any:
        """The ``Sktimer`` of this section (the same object as ``p.timers.<section>``)."""
        return getattr(self.__self__.timers, self.section)

    def __repr__(self) -> str:
        return f"<bound lifecycle method {self.__func__.__qualname__} of {self.__self__!r}>"


def lifecycle_function(cls: type, section: str) -> Callable[..., Any] | None:
    """The plain function ``cls`` uses for ``section``, or ``None`` if it is the base no-op."""
    attr = getattr(cls, f"__{section}__", None)
    func = attr.func if isinstance(attr, _LifecycleMethod) else attr
    if func is None or func is _BASE_FUNCS.get(section):
        return None
    return func


class _ProcessCall(Modifiable[Any]):
    """``p.run`` / ``p.result``: callable with ``.timeout()``, ``.background()``, ``.asynced()``."""

    def _blocking_call(self, *args: Any, **kwargs: Any) -> Any:
        timeout = kwargs.pop("timeout", None)
        if timeout is None:
            timeout = self._options["timeout"]
        return self._func(*args, timeout=timeout, **kwargs)


class Skprocess:
    """Base class for a process defined as a class with lifecycle methods.

    Subclass it, set ``self.process_config`` fields in ``__init__`` (no ``super().__init__()``
    needed), define ``__run__`` (one iteration; the engine loops) and any of ``__prerun__``,
    ``__postrun__``, ``__onfinish__``, ``__result__``, ``__error__``.

    Attributes:
        process_config: Settings (runs, join_in, lives, timeouts, start_method), checked at
            ``start()``.
        timers: Automatic per-section timers (``p.timers.run``, ``p.timers.full_run``, ...).

    Examples:
        >>> class Counter(Skprocess):
        ...     def __init__(self, n):
        ...         self.count = 0
        ...         self.process_config.runs = n
        ...     def __run__(self):
        ...         self.count += 1
        ...     def __result__(self):
        ...         return self.count
        >>> Counter(3).run()  # doctest: +SKIP
        3
    """

    process_config: ProcessConfig
    timers: ProcessTimers
    _sk: _State

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_sk_wrapped", False):
            user_init = init

            @functools.wraps(user_init)
            def __init__(self: Skprocess, *args: Any, **kwargs: Any) -> None:
                _setup(self)
                user_init(self, *args, **kwargs)

            __init__._sk_wrapped = True  # type: ignore[attr-defined]
            cls.__init__ = __init__  # type: ignore[method-assign]
        for name, section in _DUNDERS.items():
            attr = cls.__dict__.get(name)
            if callable(attr) and not isinstance(attr, (_LifecycleMethod, staticmethod, type)):
                setattr(cls, name, _LifecycleMethod(attr, section))

    def __init__(self) -> None:
        _setup(self)

    # -- lifecycle (override these) ---------------------------------------------------------
    def __prerun__(self) -> None:
        """Optional: runs before each ``__run__``."""

    def __run__(self) -> None:
        """Required: one iteration of the work. The engine calls it ``runs`` times."""

    def __postrun__(self) -> None:
        """Optional: runs after each ``__run__``."""

    def __onfinish__(self) -> None:
        """Optional: runs once when the loop ends (runs reached, ``stop()``, ``join_in``)."""

    def __result__(self) -> Any:
        """Optional: the value ``result()`` returns (default ``None``)."""
        return None

    def __error__(self) -> Any:
        """Optional: runs when lives are exhausted, with ``self.error`` set.

        Returns:
            What ``result()`` delivers: an exception is raised, anything else is returned.
            The default returns ``self.error``, so ``result()`` raises it.
        """
        return self.error

    # -- serialization ------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_sk", None)
        state.pop("timers", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_sk"] = _State()
        if not isinstance(self.__dict__.get("timers"), ProcessTimers):
            self.__dict__["timers"] = ProcessTimers()

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process in a child process.

        The object's state at this moment is the *original state*: every restart (lives)
        begins from it.

        Raises:
            RuntimeError: ``start()`` was already called, or it is called inside the process.
            TypeError: The class defines no ``__run__``, or a config field has the wrong type.
            ValueError: A config field has an impossible value.
            suitkaise.cerial.SerializationError: The object cannot be serialized.
        """
        state = self._sk
        self._not_in_child("start")
        if state.status != "created":
            raise RuntimeError(
                f"start() was already called on this {type(self).__qualname__} "
                f"(status {state.status!r}); create a new object to run it again"
            )
        check_startable(self)
        from suitkaise.processing._int.process_supervisor import Supervisor

        state.supervisor = Supervisor.launch(self)
        state.status = "running"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the process has finished (including restarts after crashes).

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            True if the process has finished, False if the timeout passed first.

        Raises:
            RuntimeError: Called before ``start()`` or inside the process itself.
        """
        self._not_in_child("wait")
        supervisor = self._started("wait")
        done = supervisor.wait_until(supervisor.is_done, _check_timeout(timeout))
        if done:
            self._collect()
        return done

    def stop(self) -> None:
        """Ask the process to finish gracefully.

        The current section completes, no new section starts, then ``__onfinish__`` and
        ``__result__`` run. Inside the process (``self.stop()`` in a lifecycle method) it ends
        the loop the same way. Does nothing if the process has already finished.

        Raises:
            RuntimeError: Called (from the parent) before ``start()``.
        """
        state = self._sk
        if state.role != "parent":
            state.stop_local = True
            return
        supervisor = self._started("stop")
        supervisor.request_stop()
        if state.status == "running":
            state.status = "stopping"

    def kill(self) -> None:
        """End the process (and any process it started) immediately.

        No ``__onfinish__`` runs; ``result()`` returns ``None`` afterwards. Does nothing if the
        process has already finished.

        Raises:
            RuntimeError: Called before ``start()`` or inside the process itself.
        """
        self._not_in_child("kill")
        supervisor = self._started("kill")
        if supervisor.kill():
            self._sk.status = "killed"
            self._sk.outcome = (False, None)
            self._sk.current_run = supervisor.block.current_run
        self._collect()

    @property
    def result(self) -> Modifiable[Any]:
        """Return the process's result, waiting for it if needed.

        Call it: ``p.result()`` or ``p.result(timeout=5)``; modifiers:
        ``p.result.timeout(5)()``, ``p.result.background()()`` (a ``Future``),
        ``await p.result.asynced()()``.

        Returns:
            What ``__result__`` returned; after lives ran out, what ``__error__`` returned
            (unless it is an exception); ``None`` after ``kill()``.

        Raises:
            ProcessError: The error ``__error__`` delivered (by default ``self.error``:
                ``RunError``, ``ProcessTimeoutError``, ``ProcessCrashError``, ...).
            ResultTimeoutError: The timeout passed before the process finished (the process
                keeps running).
            RuntimeError: Called before ``start()`` or inside the process itself.
        """
        return _ProcessCall(self._result_blocking)

    @property
    def run(self) -> Modifiable[Any]:
        """Start the process, wait for it and return its result: ``Worker(x).run()``.

        Modifiers as for :attr:`result`; when a ``.timeout(s)`` passes the process is killed
        and ``ResultTimeoutError`` is raised.

        Returns:
            Same as :attr:`result`.

        Raises:
            ProcessError: As :attr:`result`.
            ResultTimeoutError: The timeout passed (the process was killed).
        """
        return _ProcessCall(self._run_blocking)

    def _result_blocking(self, timeout: float | None = None) -> Any:
        self._not_in_child("result")
        supervisor = self._started("result")
        timeout = _check_timeout(timeout)
        if self._sk.outcome is None and not supervisor.wait_until(supervisor.is_done, timeout):
            raise ResultTimeoutError(
                f"{type(self).__qualname__} did not finish within {timeout} s",
                timeout=timeout,
                current_run=supervisor.block.current_run,
            )
        self._collect()
        assert self._sk.outcome is not None
        failed, value = self._sk.outcome
        if failed and isinstance(value, BaseException):
            raise value
        return value

    def _run_blocking(self, timeout: float | None = None) -> Any:
        self.start()
        try:
            return self._result_blocking(timeout)
        except ResultTimeoutError:
            self.kill()
            raise

    def tell(self, obj: Any) -> None:
        """Send ``obj`` to the other side: parent -> child, or child -> parent.

        Args:
            obj: Anything cerial can carry.

        Raises:
            RuntimeError: The process has not been started, or has already finished.
        """
        state = self._sk
        if state.role == "child":
            from suitkaise.processing._int.child import ChildHost

            assert isinstance(state.host, ChildHost)
            state.host.tell(obj)
            return
        if state.role == "inline":
            raise RuntimeError("tell() is not available when an Skprocess runs inside a Pool")
        self._started("tell").tell(obj)

    def listen(self, timeout: float | None = None) -> Any:
        """Receive the next object the other side sent with ``tell()``.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            The object, or ``None`` if the timeout passed or the other side has finished and
            nothing is left to read.
        """
        state = self._sk
        timeout = _check_timeout(timeout)
        if state.role == "child":
            from suitkaise.processing._int.child import ChildHost

            assert isinstance(state.host, ChildHost)
            return state.host.listen(timeout)
        if state.role == "inline":
            raise RuntimeError("listen() is not available when an Skprocess runs inside a Pool")
        return self._started("listen").listen(timeout)

    # -- properties ---------------------------------------------------------------------------
    @property
    def is_alive(self) -> bool:
        """True while the process (or a restart of it) is running."""
        state = self._sk
        if state.role != "parent":
            return True
        if state.supervisor is None:
            return False
        self._refresh()
        return state.status in ("running", "stopping")

    @property
    def status(self) -> Status:
        """``"created"``, ``"running"``, ``"stopping"``, ``"finished"``, ``"failed"`` or
        ``"killed"``."""
        self._refresh()
        return self._sk.status

    @property
    def current_run(self) -> int:
        """Number of completed iterations (the index of the one in progress)."""
        state = self._sk
        if state.role == "parent" and state.supervisor is not None and state.outcome is None:
            return state.supervisor.block.current_run
        return state.current_run

    @property
    def error(self) -> BaseException | None:
        """The error that used up the last life (set before ``__error__`` runs), else None."""
        self._refresh()
        return self._sk.error

    @property
    def pid(self) -> int | None:
        """The process id of the (current) child, ``None`` before ``start()``."""
        state = self._sk
        if state.role != "parent":
            return os.getpid()
        return None if state.supervisor is None else state.supervisor.pid

    # -- internals ----------------------------------------------------------------------------
    def _not_in_child(self, what: str) -> None:
        if self._sk.role == "child":
            raise RuntimeError(
                f"{what}() cannot be called from inside the process itself; "
                "use self.stop() to end it from within"
            )
        if self._sk.role == "inline":
            raise RuntimeError(f"{what}() is not available while the Skprocess runs in a Pool")

    def _started(self, what: str) -> Supervisor:
        supervisor = self._sk.supervisor
        if supervisor is None:
            raise RuntimeError(f"{what}() needs a started process: call start() first")
        return supervisor

    def _refresh(self) -> None:
        supervisor = self._sk.supervisor
        if self._sk.role == "parent" and supervisor is not None and self._sk.outcome is None:
            supervisor.poll()
            if supervisor.is_done():
                self._collect()

    def _collect(self) -> None:
        """Copy the child's final state onto this object once the run is over."""
        state = self._sk
        supervisor = state.supervisor
        if supervisor is None or state.outcome is not None or supervisor.final is None:
            return  # not started, already collected (or killed), or not over yet
        final = supervisor.final
        state.outcome = (final.failed, final.value)
        state.error = final.error
        state.current_run = final.current_run
        if final.timers is not None:
            self.timers.load(final.timers)
        state.status = "failed" if final.failed else "finished"

    def __repr__(self) -> str:
        state = self._sk
        return (
            f"<{type(self).__qualname__} status={state.status!r} "
            f"current_run={self.current_run} pid={self.pid}>"
        )


_BASE_FUNCS: dict[str, Any] = {}
for _name, _section in _DUNDERS.items():
    _func = Skprocess.__dict__[_name]
    _BASE_FUNCS[_section] = _func
    setattr(Skprocess, _name, _LifecycleMethod(_func, _section))
del _name, _section, _func


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {type(timeout).__name__}"
        )
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")
    return float(timeout)


def check_startable(process: Skprocess) -> None:
    """Raise a clear error if ``process`` cannot run (no ``__run__``, invalid config)."""
    if "_sk" not in process.__dict__:
        _setup(process)  # a subclass __init__ that bypassed ours (e.g. via __new__ tricks)
    if lifecycle_function(type(process), "run") is None:
        raise TypeError(
            f"{type(process).__qualname__} does not define __run__(); an Skprocess needs "
            "a __run__ method with one iteration of its work"
        )
    config = process.process_config
    if not isinstance(config, ProcessConfig):
        raise TypeError(
            f"process_config must be a ProcessConfig, got {type(config).__name__}; "
            "set its fields instead (self.process_config.runs = 10)"
        )
    config.validate()


def attach(process: Skprocess, *, role: Literal["child", "inline"], host: Host | None) -> None:
    """Give a freshly rebuilt object its runtime state for running in ``role``."""
    if not isinstance(process.__dict__.get("_sk"), _State):
        process.__dict__["_sk"] = _State()
    if not isinstance(process.__dict__.get("timers"), ProcessTimers):
        process.__dict__["timers"] = ProcessTimers()
    state = process._sk
    state.role = role
    state.status = "running"
    state.host = host


Skprocess.__module__ = "suitkaise.processing"
