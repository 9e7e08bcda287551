"""``process_config``: the settings of one Skprocess, validated at ``start()``.

Both classes use ``__slots__`` so that a typo (``process_config.run = 5`` instead of ``runs``)
raises ``AttributeError`` at once instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ProcessConfig", "TimeoutConfig"]

SECTIONS = ("prerun", "run", "postrun", "onfinish", "result", "error")


@dataclass(slots=True)
class TimeoutConfig:
    """Per-section timeouts in seconds (``None``: no limit; fractions are honoured).

    Attributes:
        prerun: Limit for each ``__prerun__`` call.
        run: Limit for each ``__run__`` call.
        postrun: Limit for each ``__postrun__`` call.
        onfinish: Limit for ``__onfinish__``.
        result: Limit for ``__result__``.
        error: Limit for ``__error__``.

    Examples:
        >>> timeouts = TimeoutConfig(run=0.5)
        >>> timeouts.run, timeouts.prerun
        (0.5, None)
    """

    prerun: float | None = None
    run: float | None = None
    postrun: float | None = None
    onfinish: float | None = None
    result: float | None = None
    error: float | None = None


def any_timeout_set(timeouts: TimeoutConfig) -> bool:
    """Whether any section has a timeout (internal: the engine and the parent ask)."""
    return any(getattr(timeouts, section) is not None for section in SECTIONS)


@dataclass(slots=True)
class ProcessConfig:
    """How an Skprocess runs. Set the fields in your ``__init__``; they are checked at ``start()``.

    Attributes:
        runs: Number of iterations; ``None`` loops until ``stop()`` or ``join_in``.
        join_in: Seconds after which the process finishes (checked between sections,
            counted from the start of the current attempt); ``None``: no limit.
        lives: Total attempts: an error, a timeout or a crash in prerun/run/postrun
            costs one life, and the process starts again from its original state.
        timeouts: Per-section timeouts, see :class:`TimeoutConfig`.
        start_method: ``"fork"``, ``"forkserver"`` or ``"spawn"``; ``None``: the platform
            default.

    Examples:
        >>> config = ProcessConfig()
        >>> config.runs = 10
        >>> config.timeouts.run = 0.5
        >>> config.validate()
    """

    runs: int | None = None
    join_in: float | None = None
    lives: int = 1
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    start_method: str | None = None

    def validate(self) -> None:
        """Check every field.

        Raises:
            TypeError: A field has the wrong type (the message names the field).
            ValueError: A field has an impossible value (the message names the field).
        """
        _check_int("runs", self.runs, minimum=0, optional=True)
        _check_number("join_in", self.join_in)
        _check_int("lives", self.lives, minimum=1, optional=False)
        if not isinstance(self.timeouts, TimeoutConfig):
            raise TypeError(
                "process_config.timeouts must be a TimeoutConfig, "
                f"got {type(self.timeouts).__name__}; set its fields instead "
                "(process_config.timeouts.run = 5.0)"
            )
        for section in SECTIONS:
            _check_number(f"timeouts.{section}", getattr(self.timeouts, section))
        if self.start_method is not None:
            if not isinstance(self.start_method, str):
                raise TypeError(
                    "process_config.start_method must be a str or None, "
                    f"got {type(self.start_method).__name__}"
                )
            import multiprocessing  # at start(), not at import (cheap-import rule)

            methods = multiprocessing.get_all_start_methods()
            if self.start_method not in methods:
                raise ValueError(
                    f"process_config.start_method must be one of {methods} or None, "
                    f"got {self.start_method!r}"
                )


def _check_int(name: str, value: object, *, minimum: int, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an int or None" if optional else "an int"
        raise TypeError(f"process_config.{name} must be {kind}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"process_config.{name} must be >= {minimum}, got {value!r}")


def _check_number(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"process_config.{name} must be a number of seconds or None, got {type(value).__name__}"
        )
    if not value > 0 or value == float("inf"):
        raise ValueError(
            f"process_config.{name} must be a positive, finite number of seconds, got {value!r}"
        )


for _cls in (ProcessConfig, TimeoutConfig):
    _cls.__module__ = "suitkaise.processing"
del _cls
