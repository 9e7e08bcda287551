"""Built-in handlers, one module per family, declared here by qualified type name.

Nothing in the family modules is imported until an object of a matching type is serialized
(``_registry.resolve`` imports the module then), so database drivers are never imported by
cerial and ``import suitkaise.cerial`` stays cheap.
"""

from __future__ import annotations

from suitkaise.cerial._registry import builtin

_P = "suitkaise.cerial._handlers."

# refused clearly
for _name in ("builtins.generator", "builtins.coroutine", "builtins.async_generator"):
    builtin(_name, _P + "refused:reduce_refused")
builtin("builtins.code", _P + "code:reduce_code")
builtin("builtins.cell", _P + "functions:reduce_cell")

# threading
_L = _P + "locks:"
builtin("_thread.lock", _L + "reduce_lock")
builtin("_thread.RLock", _L + "reduce_rlock")
builtin("threading._RLock", _L + "reduce_rlock")
builtin("threading.Semaphore", _L + "reduce_semaphore")
builtin("threading.BoundedSemaphore", _L + "reduce_semaphore")
builtin("threading.Event", _L + "reduce_event")
builtin("threading.Condition", _L + "reduce_condition")
builtin("threading.Barrier", _L + "reduce_barrier")
builtin("_thread._local", _L + "reduce_local", subclasses=True)
