"""Database client handlers, tested with stand-ins.

None of these drivers is installed here, so each test builds a tiny stand-in module whose
connection class has the driver's real module and class name and the attributes cerial reads;
cerial's built-in handler picks it up by that name exactly as it would the real class, and
``reconnect()`` calls the stand-in module's connect function.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from suitkaise import cerial

SECRET = "".join(["hun", "ter", "2"])  # built at run time: not a constant in any code object


def _install(monkeypatch, module: str, **attrs: Any) -> types.ModuleType:
    parts = module.split(".")
    parent = None
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        mod = sys.modules.get(name) if name in sys.modules and parent is not None else None
        if mod is None or not getattr(mod, "__cerial_standin__", False):
            mod = types.ModuleType(name)
            mod.__cerial_standin__ = True
            monkeypatch.setitem(sys.modules, name, mod)
        if parent is not None:
            setattr(parent, parts[i], mod)
        parent = mod
    for k, v in attrs.items():
        setattr(parent, k, v)
    return parent


def _standin_class(module: str, qualname: str, init) -> type:
    cls = type(qualname.rsplit(".", 1)[-1], (), {"__init__": init})
    cls.__module__ = module
    cls.__qualname__ = qualname
    return cls


def _roundtrip_and_reconnect(obj: Any, auth_key: str, auth: Any) -> Any:
    payload = cerial.serialize({"conn": obj})
    assert SECRET.encode() not in payload, "a password was stored in the payload"
    state = cerial.deserialize(payload)
    assert isinstance(state["conn"], cerial.Reconnector)
    assert state["conn"].auth_key == auth_key
    repr(state["conn"])
    return cerial.reconnect_all(state, **{auth_key: auth})["conn"]


def test_psycopg3(monkeypatch) -> None:
    calls: list[dict] = []

    def init(self, **params):
        self.info = types.SimpleNamespace(get_parameters=lambda: dict(params))

    Conn = _standin_class("psycopg", "Connection", init)
    _install(monkeypatch, "psycopg", Connection=Conn, connect=lambda **kw: calls.append(kw) or kw)
    live = _roundtrip_and_reconnect(
        Conn(host="h", dbname="d", user="u", password=SECRET), "psycopg.Connection", "pw"
    )
    assert live == {"host": "h", "dbname": "d", "user": "u", "password": "pw"}


def test_pymysql(monkeypatch) -> None:
    def init(self):
        self.host, self.port, self.user, self.db = "h", 3306, b"u", b"shop"
        self.charset, self.password = "utf8mb4", SECRET.encode()

    Conn = _standin_class("pymysql.connections", "Connection", init)
    _install(monkeypatch, "pymysql", connect=lambda **kw: kw)
    live = _roundtrip_and_reconnect(Conn(), "pymysql.Connection", {"password": "pw", "ssl": None})
    assert live == {
        "host": "h",
        "port": 3306,
        "user": "u",
        "database": "shop",
        "charset": "utf8mb4",
        "password": "pw",
        "ssl": None,
    }


def test_redis(monkeypatch) -> None:
    def init(self):
        kwargs = {
            "host": "cache",
            "port": 6379,
            "db": 2,
            "password": SECRET,
            "ssl_password": SECRET + "-ssl",
            "auth_token": SECRET + "-t",
            "parser": object(),
        }
        self.connection_pool = types.SimpleNamespace(connection_kwargs=kwargs)

    Redis = _standin_class("redis.client", "Redis", init)
    _install(monkeypatch, "redis", Redis=lambda **kw: kw)
    live = _roundtrip_and_reconnect(Redis(), "redis.Redis", "pw")
    assert live == {"host": "cache", "port": 6379, "db": 2, "password": "pw"}


def test_pymongo(monkeypatch) -> None:
    def init(self):
        self.nodes = frozenset({("m1", 27017), ("m2", 27018)})

    Client = _standin_class("pymongo.mongo_client", "MongoClient", init)
    _install(monkeypatch, "pymongo", MongoClient=lambda **kw: kw)
    live = _roundtrip_and_reconnect(Client(), "pymongo.MongoClient", {"password": "pw"})
    assert live == {"host": ["m1:27017", "m2:27018"], "password": "pw"}


@pytest.mark.parametrize(
    ("module", "name", "auth_key"),
    [
        ("pymongo.synchronous.mongo_client", "MongoClient", "pymongo.MongoClient"),
        ("pymongo.asynchronous.mongo_client", "AsyncMongoClient", "pymongo.AsyncMongoClient"),
    ],
)
def test_pymongo_4_9_module_paths(monkeypatch, module, name, auth_key) -> None:
    # PyMongo >= 4.9 defines its clients here; ``nodes`` is empty until connected, and the
    # credential (with the password) lives in the pool options.
    def init(self):
        self.nodes = frozenset()
        self._seeds = {("m1", 27017)}
        cred = types.SimpleNamespace(
            username="alice", password=SECRET, source="admin", mechanism="DEFAULT"
        )
        pool = types.SimpleNamespace(_PoolOptions__credentials=cred)
        self.options = types.SimpleNamespace(pool_options=pool)

    Client = _standin_class(module, name, init)
    _install(monkeypatch, "pymongo", **{name: lambda **kw: kw})
    live = _roundtrip_and_reconnect(Client(), auth_key, "pw")
    assert live == {
        "host": ["m1:27017"],
        "username": "alice",
        "authSource": "admin",
        "password": "pw",
    }


@pytest.mark.parametrize("module", ["duckdb", "duckdb.duckdb", "_duckdb"])
def test_duckdb(monkeypatch, tmp_path, module) -> None:
    # the real class is defined in the C extension: ``_duckdb`` (2.x), ``duckdb.duckdb`` (1.x)
    path = str(tmp_path / "x.duckdb")

    def init(self):
        # as DuckDB answers: the default catalog is named after the file, not "main"
        answers = {
            "SELECT current_database()": [("x",)],
            "PRAGMA database_list": [(0, "other", "/elsewhere.duckdb"), (1, "x", path)],
        }
        self.execute = lambda sql: types.SimpleNamespace(fetchall=lambda: answers[sql])

    Conn = _standin_class(module, "DuckDBPyConnection", init)
    _install(monkeypatch, "duckdb", connect=lambda **kw: kw)
    assert _roundtrip_and_reconnect(Conn(), "duckdb.Connection", None) == {"database": path}


class _URL:
    """The parts of ``sqlalchemy.engine.URL`` cerial uses."""

    def __init__(self, text, password=None, query=None):
        self.text, self.password, self.query = text, password, dict(query or {})

    def render_as_string(self, hide_password=True):
        q = "&".join(f"{k}={v}" for k, v in self.query.items())
        shown = "***" if hide_password else self.password
        text = self.text.replace("{pw}", shown if self.password is not None else "")
        return text + (f"?{q}" if q else "")

    def set(self, password):
        return _URL(self.text, password, self.query)

    def difference_update_query(self, names):
        return _URL(
            self.text, self.password, {k: v for k, v in self.query.items() if k not in names}
        )


def _standin_sqlalchemy(monkeypatch, url):
    def init(self):
        self.url = url

    Engine = _standin_class("sqlalchemy.engine.base", "Engine", init)
    created: list = []
    engine_mod = types.SimpleNamespace(make_url=lambda s: _URL(s))
    _install(
        monkeypatch,
        "sqlalchemy",
        engine=engine_mod,
        create_engine=lambda url, **kw: created.append((url, kw)) or "engine",
    )
    return Engine, created


def test_sqlalchemy(monkeypatch) -> None:
    Engine, created = _standin_sqlalchemy(monkeypatch, _URL("postgresql://u:{pw}@db/app", SECRET))
    assert (
        _roundtrip_and_reconnect(Engine(), "sqlalchemy.Engine", {"password": "pw", "echo": True})
        == "engine"
    )
    url, kw = created[0]
    assert url.text == "postgresql://u:***@db/app" and url.password == "pw" and kw == {"echo": True}


def test_sqlalchemy_without_the_password_is_a_clear_error(monkeypatch) -> None:
    Engine, created = _standin_sqlalchemy(monkeypatch, _URL("postgresql://u:{pw}@db/app", SECRET))
    state = cerial.deserialize(cerial.serialize({"e": Engine()}))
    with pytest.raises(cerial.ReconnectError) as info:
        cerial.reconnect_all(state)
    assert info.value.path == "dict['e']" and "sqlalchemy.Engine" in str(info.value)
    assert "password" in str(info.value) and created == []  # never connects with "***"


def test_sqlalchemy_drops_secret_query_parameters(monkeypatch) -> None:
    query = {"sslmode": "require", "pwd": SECRET, "token": SECRET, "AccountKey": SECRET}
    Engine, created = _standin_sqlalchemy(monkeypatch, _URL("mssql+pyodbc://db/app", None, query))
    payload = cerial.serialize({"e": Engine()})
    assert SECRET.encode() not in payload
    state = cerial.deserialize(payload)
    assert state["e"].url == "mssql+pyodbc://db/app?sslmode=require"
    assert sorted(state["e"].stripped) == ["AccountKey", "pwd", "token"]
    assert cerial.reconnect_all(state)["e"] == "engine"  # no password in the URL: none needed
    assert created[0][0].text == "mssql+pyodbc://db/app?sslmode=require"


def test_missing_driver_is_a_reconnect_error(monkeypatch) -> None:
    def init(self):
        self.info = types.SimpleNamespace(get_parameters=lambda: {"host": "h"})

    Conn = _standin_class("psycopg", "Connection", init)
    _install(monkeypatch, "psycopg", Connection=Conn)  # no connect(): "driver missing"
    state = cerial.deserialize(cerial.serialize({"db": Conn()}))
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(cerial.ReconnectError) as info:
        cerial.reconnect_all(state)
    assert info.value.path == "dict['db']" and "psycopg" in str(info.value)


def test_driver_modules_are_not_imported_by_cerial() -> None:
    import subprocess

    code = (
        "import sys\nfrom suitkaise import cerial\n"
        "cerial.serialize({'a': 1}); cerial.explain([1])\n"
        "bad = [m for m in ('psycopg2','psycopg','pymysql','redis','pymongo','sqlalchemy','duckdb')"
        " if m in sys.modules]\nprint(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
