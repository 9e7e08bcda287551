"""Call modifiers shared by ``Skprocess.run/result`` and every ``Pool`` method.

A :class:`Modifiable` wraps a blocking function that accepts a ``timeout`` keyword. Each
modifier returns a new, frozen copy with one option changed, so they chain in any order::

    p.result.timeout(5).background()()    # -> concurrent.futures.Future
    await pool.map.asynced().timeout(5)(f, data)

Non-goals: cancelling the underlying work when a ``Future`` is cancelled (the function
owns its own clean-up, driven by ``timeout``).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Modifiable(Generic[T]):
    """A callable with ``.timeout(s)``, ``.background()`` and ``.asynced()`` modifiers.

    Args:
        func: The blocking function. It receives every option in ``options`` except
            ``background`` and ``asynced`` as keyword arguments.
        options: Initial options; subclasses add their own (Pool adds ``progress``).
    """

    def __init__(self, func: Callable[..., T], options: dict[str, Any] | None = None) -> None:
        self._func = func
        self._options: dict[str, Any] = {"timeout": None, "background": False, "asynced": False}
        if options:
            self._options.update(options)

    def _with(self, **changes: Any) -> Modifiable[T]:
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._options = {**self._options, **changes}
        return clone

    def timeout(self, seconds: float) -> Modifiable[T]:
        """Raise ``ResultTimeoutError`` if the call takes longer than ``seconds``."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, got {type(seconds).__name__}")
        if seconds <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {seconds!r}")
        return self._with(timeout=float(seconds))

    def background(self) -> Modifiable[Any]:
        """Return a ``concurrent.futures.Future`` at once instead of blocking."""
        return self._with(background=True)

    def asynced(self) -> Modifiable[Any]:
        """Return an awaitable; the blocking work runs in a worker thread."""
        return self._with(asynced=True)

    def _blocking_call(self, *args: Any, **kwargs: Any) -> T:
        options = {k: v for k, v in self._options.items() if k not in ("background", "asynced")}
        return self._func(*args, **options, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._options["asynced"]:
            return self._awaitable(*args, **kwargs)
        if self._options["background"]:
            return self._submit(*args, **kwargs)
        return self._blocking_call(*args, **kwargs)

    def _submit(self, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def target() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._blocking_call(*args, **kwargs))
            except BaseException as exc:  # delivered through the Future, never lost
                future.set_exception(exc)

        threading.Thread(target=target, name="suitkaise-background", daemon=True).start()
        return future

    def _awaitable(self, *args: Any, **kwargs: Any) -> Awaitable[T]:
        import asyncio  # only when asked for: asyncio costs ~20 ms to import

        async def wait() -> T:
            return await asyncio.wrap_future(self._submit(*args, **kwargs))

        return wait()

    def __repr__(self) -> str:
        active = {k: v for k, v in self._options.items() if v not in (None, False)}
        return f"<{type(self).__name__} {getattr(self._func, '__qualname__', self._func)} {active}>"
