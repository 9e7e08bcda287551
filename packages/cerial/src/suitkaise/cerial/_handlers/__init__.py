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

# queues
builtin("queue.Queue", _P + "queues:reduce_queue", subclasses=True)
builtin("_queue.SimpleQueue", _P + "queues:reduce_simple_queue")
builtin("queue._PySimpleQueue", _P + "queues:reduce_simple_queue")

# logging
builtin("logging.Logger", _P + "logging:reduce_logger", subclasses=True)
builtin("logging.Handler", _P + "logging:reduce_handler", subclasses=True)

# files
for _name in ("TextIOWrapper", "BufferedReader", "BufferedWriter", "BufferedRandom", "FileIO"):
    builtin(f"_io.{_name}", _P + "files:reduce_file", subclasses=True)
builtin("mmap.mmap", _P + "files:reduce_mmap")
builtin("tempfile._TemporaryFileWrapper", _P + "files:reduce_tempfile")

# regex, contextvars, weak references
builtin("re.Match", _P + "misc:reduce_match")
builtin("builtins.memoryview", _P + "misc:reduce_memoryview")
builtin("_contextvars.ContextVar", _P + "misc:reduce_contextvar")
builtin("_contextvars.Context", _P + "misc:reduce_context")
builtin("weakref.ReferenceType", _P + "misc:reduce_ref", subclasses=True)
builtin("weakref.WeakMethod", _P + "misc:reduce_weak_method")
builtin("weakref.ProxyType", _P + "misc:reduce_proxy")
builtin("weakref.CallableProxyType", _P + "misc:reduce_proxy")
builtin("weakref.WeakValueDictionary", _P + "misc:reduce_weak_dict", subclasses=True)
builtin("weakref.WeakKeyDictionary", _P + "misc:reduce_weak_dict", subclasses=True)

# exceptions, tracebacks, frames
builtin("builtins.BaseException", _P + "exceptions:reduce_exception", subclasses=True, always=True)
builtin("builtins.traceback", _P + "exceptions:reduce_traceback")
builtin("builtins.frame", _P + "exceptions:reduce_frame")

# live resources -> reconnectors
builtin("socket.socket", _P + "live:reduce_socket", subclasses=True)
builtin("threading.Thread", _P + "live:reduce_thread", subclasses=True)
builtin("subprocess.Popen", _P + "live:reduce_popen", subclasses=True)
builtin(
    "concurrent.futures.thread.ThreadPoolExecutor", _P + "live:reduce_executor", subclasses=True
)
builtin(
    "concurrent.futures.process.ProcessPoolExecutor", _P + "live:reduce_executor", subclasses=True
)
builtin("sqlite3.Connection", _P + "sqlite:reduce_connection", subclasses=True)
builtin("sqlite3.Cursor", _P + "sqlite:reduce_cursor", subclasses=True)

# database drivers (by name: the drivers are never imported here)
builtin("psycopg2.extensions.connection", _P + "db:reduce_psycopg2", subclasses=True)
builtin("psycopg.Connection", _P + "db:reduce_psycopg", subclasses=True)
builtin("pymysql.connections.Connection", _P + "db:reduce_pymysql", subclasses=True)
builtin("redis.client.Redis", _P + "db:reduce_redis", subclasses=True)
builtin("pymongo.mongo_client.MongoClient", _P + "db:reduce_pymongo", subclasses=True)
builtin("pymongo.synchronous.mongo_client.MongoClient", _P + "db:reduce_pymongo", subclasses=True)
builtin(
    "pymongo.asynchronous.mongo_client.AsyncMongoClient",
    _P + "db:reduce_async_pymongo",
    subclasses=True,
)
builtin("sqlalchemy.engine.base.Engine", _P + "db:reduce_sqlalchemy", subclasses=True)
# DuckDB's connection class is defined in its C extension: ``_duckdb`` (2.x),
# ``duckdb.duckdb`` (1.x); ``duckdb.DuckDBPyConnection`` is the documented name.
for _name in ("duckdb", "_duckdb", "duckdb.duckdb"):
    builtin(f"{_name}.DuckDBPyConnection", _P + "db:reduce_duckdb", subclasses=True)
