"""Database client connections of common drivers become reconnectors.

The drivers are never imported by cerial: handlers are declared by the qualified name of the
driver's connection class and run only when such an object is serialized; the driver module is
imported on the receiving side only by ``reconnect()``. Connection parameters are recorded
without the password; pass it to ``reconnect_all`` under the reconnector's ``auth_key``
(a password string, or a dict of extra keyword arguments for the driver's connect function).

| driver | class | auth key |
|---|---|---|
| psycopg2 | ``psycopg2.extensions.connection`` | ``psycopg2.Connection`` |
| psycopg 3 | ``psycopg.Connection`` | ``psycopg.Connection`` |
| PyMySQL | ``pymysql.connections.Connection`` | ``pymysql.Connection`` |
| redis-py | ``redis.client.Redis`` | ``redis.Redis`` |
| PyMongo | ``pymongo.synchronous.mongo_client.MongoClient`` (4.9+), ``pymongo.mongo_client.MongoClient`` | ``pymongo.MongoClient`` |
| PyMongo async | ``pymongo.asynchronous.mongo_client.AsyncMongoClient`` | ``pymongo.AsyncMongoClient`` |
| SQLAlchemy | ``sqlalchemy.engine.base.Engine`` | ``sqlalchemy.Engine`` |
| DuckDB | ``_duckdb.DuckDBPyConnection`` (2.x), ``duckdb.duckdb.DuckDBPyConnection`` (1.x) | ``duckdb.Connection`` |
"""

from __future__ import annotations

import importlib
from typing import Any

from suitkaise.cerial._errors import ReconnectError
from suitkaise.cerial._reconnector import Reconnector, reduce_as

_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "api_key", "apikey")


def _is_secret(name: str) -> bool:
    low = name.lower()
    return low == "pass" or any(word in low for word in _SECRET_WORDS)


def _public(params: dict[str, Any]) -> dict[str, Any]:
    """Drop every parameter named like a secret (``password``, ``ssl_password``, ``token``...)."""
    return {k: v for k, v in params.items() if not _is_secret(k) and v is not None}


class DriverReconnector(Reconnector):
    """A database client connection: calls the driver's connect function again with the
    recorded parameters plus the credential given to ``reconnect_all``.

    Attributes:
        connect: ``"module:function"`` called to reconnect (class attribute).
        params: Keyword arguments for it (never a password).
        password_arg: The keyword the driver expects the password under.
    """

    connect: str = ""
    password_arg: str = "password"

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def describe(self) -> str:
        shown = {
            k: v
            for k, v in self.params.items()
            if k in ("host", "port", "dbname", "db", "database", "user", "url")
        }
        return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or self.connect

    def reconnect(self, auth: Any = None) -> Any:
        module, _, func = self.connect.partition(":")
        target: Any = importlib.import_module(module)
        for part in func.split("."):
            target = getattr(target, part)
        kwargs = dict(self.params)
        if isinstance(auth, dict):
            kwargs.update(auth)
        elif auth is not None:
            kwargs[self.password_arg] = auth
        return target(**kwargs)


class Psycopg2Reconnector(DriverReconnector):
    """A ``psycopg2.Connection``, reconnected with ``psycopg2.connect(**params)``."""

    auth_key = "psycopg2.Connection"
    connect = "psycopg2:connect"


class PsycopgReconnector(DriverReconnector):
    """A ``psycopg.Connection``, reconnected with ``psycopg.connect(**params)``."""

    auth_key = "psycopg.Connection"
    connect = "psycopg:connect"


class PymysqlReconnector(DriverReconnector):
    """A ``pymysql.Connection``, reconnected with ``pymysql.connect(**params)``."""

    auth_key = "pymysql.Connection"
    connect = "pymysql:connect"


class RedisReconnector(DriverReconnector):
    """A ``redis.Redis``, reconnected with ``redis.Redis(**params)``."""

    auth_key = "redis.Redis"
    connect = "redis:Redis"


class PymongoReconnector(DriverReconnector):
    """A ``pymongo.MongoClient``, reconnected with ``pymongo.MongoClient(**params)``."""

    auth_key = "pymongo.MongoClient"
    connect = "pymongo:MongoClient"


class AsyncPymongoReconnector(DriverReconnector):
    """A ``pymongo.AsyncMongoClient``, reconnected with ``pymongo.AsyncMongoClient(**params)``."""

    auth_key = "pymongo.AsyncMongoClient"
    connect = "pymongo:AsyncMongoClient"


class DuckdbReconnector(DriverReconnector):
    """A ``duckdb.Connection``, reconnected with ``duckdb.connect(**params)``."""

    auth_key = "duckdb.Connection"
    connect = "duckdb:connect"


def reduce_psycopg2(conn: Any) -> Any:
    params = _public(dict(conn.get_dsn_parameters()))
    return reduce_as(Psycopg2Reconnector(params))


def reduce_psycopg(conn: Any) -> Any:
    params = _public(dict(conn.info.get_parameters()))
    return reduce_as(PsycopgReconnector(params))


def reduce_pymysql(conn: Any) -> Any:
    params = {
        "host": conn.host,
        "port": conn.port,
        "user": conn.user.decode() if isinstance(conn.user, bytes) else conn.user,
        "database": conn.db.decode() if isinstance(conn.db, bytes) else conn.db,
        "charset": conn.charset,
    }
    return reduce_as(PymysqlReconnector(_public(params)))


def reduce_redis(client: Any) -> Any:
    kwargs = dict(client.connection_pool.connection_kwargs)
    params = _public({k: v for k, v in kwargs.items() if isinstance(v, str | int | float | bool)})
    return reduce_as(RedisReconnector(params))


def _pymongo_params(client: Any) -> dict[str, Any]:
    # ``nodes`` is empty until the client has connected: fall back to the seed list.
    nodes = set(client.nodes) or set(getattr(client, "_seeds", None) or ())
    hosts = [f"{h}:{p}" for h, p in sorted(nodes)] or None
    pool = getattr(getattr(client, "options", None), "pool_options", None)
    cred = getattr(pool, "_PoolOptions__credentials", None) or getattr(pool, "_credentials", None)
    mechanism = getattr(cred, "mechanism", None)
    return _public(
        {
            "host": hosts,
            "username": getattr(
                cred, "username", None
            ),  # reconnecting needs it; never the password
            "authSource": getattr(cred, "source", None) if cred is not None else None,
            "authMechanism": mechanism if mechanism not in (None, "DEFAULT") else None,
        }
    )


def reduce_pymongo(client: Any) -> Any:
    return reduce_as(PymongoReconnector(_pymongo_params(client)))


def reduce_async_pymongo(client: Any) -> Any:
    return reduce_as(AsyncPymongoReconnector(_pymongo_params(client)))


def _is_secret_query(name: str) -> bool:
    low = name.lower()
    return (
        _is_secret(name)
        or low in ("pwd", "key", "sig", "signature", "auth")
        or (low.endswith("key") and not low.startswith("ssl"))  # accountkey, access_key
    )


def reduce_sqlalchemy(engine: Any) -> Any:
    url = engine.url
    secret = [k for k in getattr(url, "query", {}) if _is_secret_query(k)]
    if secret:
        url = url.difference_update_query(secret)
    text = url.render_as_string(hide_password=True)
    return reduce_as(SqlalchemyReconnector(text, engine.url.password is not None, secret))


class SqlalchemyReconnector(Reconnector):
    """A SQLAlchemy ``Engine``: a new engine for the same URL (password given to
    ``reconnect_all`` under ``"sqlalchemy.Engine"``).

    The URL is stored with its password as ``***`` and without secret-like query parameters
    (``password``, ``pwd``, ``token``, ``secret``, ``key``...), which are named in
    :attr:`stripped`; pass them back with ``{"connect_args": {...}}``.
    """

    auth_key = "sqlalchemy.Engine"

    def __init__(self, url: str, had_password: bool, stripped: list[str] | None = None) -> None:
        self.url = url
        self.had_password = had_password
        self.stripped = stripped or []

    def reconnect(self, auth: Any = None) -> Any:
        sqlalchemy: Any = importlib.import_module("sqlalchemy")
        url = sqlalchemy.engine.make_url(self.url)
        kwargs: dict[str, Any] = {}
        if isinstance(auth, dict):
            kwargs = dict(auth)
            password = kwargs.pop("password", None)
        else:
            password = auth
        if password is not None:
            url = url.set(password=password)
        elif self.had_password:
            # the stored URL holds "***", not the password: connecting with it would fail late
            # and confusingly (or, worse, use "***" as the password)
            raise ReconnectError(
                f"the engine's URL had a password, which cerial never stores: pass it as "
                f'reconnect_all(obj, **{{"{self.auth_key}": password}}) '
                f'(or {{"{self.auth_key}": {{"password": password, ...}}}})',
                resource=self.url,
            )
        return sqlalchemy.create_engine(url, **kwargs)


def reduce_duckdb(conn: Any) -> Any:
    # the default catalog is named after the file (``x`` for ``x.duckdb``), not ``main``
    current = conn.execute("SELECT current_database()").fetchall()[0][0]
    rows = conn.execute("PRAGMA database_list").fetchall()
    path = next((r[2] for r in rows if r[1] == current and r[2]), None)
    params = {"database": path or ":memory:"}
    return reduce_as(DuckdbReconnector(params))
