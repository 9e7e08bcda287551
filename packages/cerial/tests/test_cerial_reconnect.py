"""Reconnectors and reconnect_all: real SQLite files, a real TCP server, stand-in drivers."""

from __future__ import annotations

import collections
import socket
import sqlite3
import subprocess
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

from suitkaise import cerial

from .conftest import roundtrip


def _file_db(tmp_path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("create table t (x integer)")
    conn.executemany("insert into t values (?)", [(1,), (2,)])
    conn.commit()
    return conn, path


def test_sqlite_file_connection_reconnects(tmp_path) -> None:
    conn, path = _file_db(tmp_path)
    try:
        out = roundtrip({"db": conn})
        assert isinstance(out["db"], cerial.Reconnector)
        assert str(path) in repr(out["db"])
        live = cerial.reconnect_all(out)["db"]
        assert isinstance(live, sqlite3.Connection) and live is not conn
        assert live.execute("select x from t order by x").fetchall() == [(1,), (2,)]
        live.close()
    finally:
        conn.close()


def test_sqlite_file_in_fresh_interpreter(tmp_path, in_child) -> None:
    conn, _ = _file_db(tmp_path)
    payload = cerial.serialize({"db": conn})
    conn.close()
    out = in_child(
        payload,
        "obj = cerial.reconnect_all(obj)\nprint(obj['db'].execute('select sum(x) from t').fetchone()[0])",
    )
    assert out.strip() == "3"


def test_sqlite_memory_keeps_rows_and_cursor_shares_connection() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("create table t (name text)")
    conn.execute("insert into t values ('alice')")
    conn.commit()
    cur = conn.cursor()
    state = cerial.reconnect_all(roundtrip({"conn": conn, "cur": cur}))
    assert state["cur"].connection is state["conn"]
    assert state["cur"].execute("select name from t").fetchall() == [("alice",)]
    state["conn"].close()
    conn.close()


def test_sqlite_empty_memory_database() -> None:
    conn = sqlite3.connect(":memory:")
    live = roundtrip(conn).reconnect()
    assert live.execute("select 1").fetchone() == (1,)
    live.close()
    conn.close()


@pytest.fixture
def echo_server():
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)
    stop = threading.Event()
    conns: list[socket.socket] = []
    echoes: list[threading.Thread] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            t = threading.Thread(target=_echo, args=(c,), daemon=True)
            echoes.append(t)
            t.start()

    def _echo(c: socket.socket) -> None:
        try:
            while data := c.recv(1024):
                c.sendall(data)
        except OSError:  # the fixture is tearing down
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()
    stop.set()
    srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    srv.close()
    t.join(timeout=10)
    for c in conns:
        try:
            c.shutdown(socket.SHUT_RDWR)  # wakes the echo thread's recv()
        except OSError:
            pass
    for e in echoes:
        e.join(timeout=10)
    for c in conns:
        c.close()


def test_socket_reconnects_to_same_peer(echo_server) -> None:
    class Conn:
        def __init__(self) -> None:
            self.sock = socket.create_connection(echo_server, timeout=5)

    holder = Conn()
    try:
        out = roundtrip(holder)
        assert isinstance(out.sock, cerial.Reconnector)
        assert "connected to" in repr(out.sock)
        cerial.reconnect_all(out)
        assert isinstance(out.sock, socket.socket)
        assert out.sock.gettimeout() == 5
        out.sock.sendall(b"ping")
        assert out.sock.recv(4) == b"ping"
        out.sock.close()
    finally:
        holder.sock.close()


def test_reconnect_error_names_path_and_keep_mode() -> None:
    class Pool:
        def __init__(self, conns):
            self.conns = conns

    class Worker:
        def __init__(self, pool):
            self.pool = pool

    # a port that was bound once and is now closed: connecting fails
    s = socket.create_server(("127.0.0.1", 0))
    addr = s.getsockname()
    client = socket.create_connection(addr)
    w = Worker(Pool([1, 2, client]))
    payload = cerial.serialize(w)
    client.close()
    s.close()
    out = cerial.deserialize(payload)
    with pytest.raises(cerial.ReconnectError) as info:
        cerial.reconnect_all(out)
    assert info.value.path == "Worker.pool.conns[2]"
    assert "connected to" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    kept = cerial.reconnect_all(cerial.deserialize(payload), errors="keep")
    assert isinstance(kept.pool.conns[2], cerial.Reconnector)
    with pytest.raises(ValueError):
        cerial.reconnect_all(out, errors="ignore")  # type: ignore[arg-type]


def test_thread_executor_popen_reconnect() -> None:
    box: list[int] = []
    t = threading.Thread(target=box.append, args=(7,), name="worker-1", daemon=True)
    ex = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cerial")
    proc = subprocess.Popen([sys.executable, "-c", "print('hi')"], stdout=subprocess.DEVNULL)
    proc.wait(timeout=30)
    try:
        out = roundtrip({"t": t, "ex": ex, "p": proc, "box": box})
        assert "worker-1" in repr(out["t"])
        live = cerial.reconnect_all(out, **{"subprocess.Popen": {"*": {"stdout": subprocess.PIPE}}})
        nt = live["t"]
        assert nt.name == "worker-1" and nt.daemon and not nt.is_alive()
        nt.start()
        nt.join(timeout=10)
        assert live["box"] == [7]  # the target is the carried box.append
        assert live["ex"].submit(pow, 2, 5).result(timeout=10) == 32
        live["ex"].shutdown()
        stdout, _ = live["p"].communicate(timeout=30)
        assert stdout.strip() == b"hi"
    finally:
        ex.shutdown()


def _fake_psycopg2(monkeypatch, calls):
    """psycopg2 is not installed here: a stand-in module with the same class name."""
    mod = types.ModuleType("psycopg2")
    ext = types.ModuleType("psycopg2.extensions")

    class connection:
        def __init__(self, **params):
            self.params = params

        def get_dsn_parameters(self):
            return {k: v for k, v in self.params.items()}

    connection.__module__ = "psycopg2.extensions"
    connection.__qualname__ = "connection"
    ext.connection = connection

    def connect(**kwargs):
        calls.append(kwargs)
        return connection(**kwargs)

    mod.connect = connect
    mod.extensions = ext
    monkeypatch.setitem(sys.modules, "psycopg2", mod)
    monkeypatch.setitem(sys.modules, "psycopg2.extensions", ext)
    return connection


def test_db_driver_by_name_with_auth_per_attribute(monkeypatch) -> None:
    calls: list[dict] = []
    connection = _fake_psycopg2(monkeypatch, calls)

    class Service:
        def __init__(self, main_db, analytics_db):
            self.main_db = main_db
            self.analytics_db = analytics_db

    secret = "".join(["s3", "cr", "et"])  # built at run time: not a constant in any code object
    main = connection(host="db1", dbname="app", user="u", password=secret)
    payload = cerial.serialize(Service(main, connection(host="db2", dbname="stats", user="u")))
    assert b"s3cret" not in payload  # passwords are never stored
    out = cerial.deserialize(payload)
    assert "db1" in repr(out.main_db)
    cerial.reconnect_all(out, **{"psycopg2.Connection": {"*": "pw", "analytics_db": "pw2"}})
    assert isinstance(out.main_db, connection)
    by_host = {c["host"]: c for c in calls}
    assert by_host["db1"]["password"] == "pw" and by_host["db1"]["dbname"] == "app"
    assert by_host["db2"]["password"] == "pw2"


def test_custom_reconnector_and_register() -> None:
    class Handle:
        def __init__(self, name):
            self.name = name

    class HandleReconnector(cerial.Reconnector):
        auth_key = "tests.Handle"

        def __init__(self, name):
            self.name = name

        def reconnect(self, auth=None):
            h = Handle(self.name)
            h.auth = auth
            return h

    cerial.register(Handle, lambda h: HandleReconnector(h.name))
    try:
        out = roundtrip([Handle("a"), Handle("b")])
        assert repr(out[0]) == "<HandleReconnector tests.Handle: name='a'>"
        live = cerial.reconnect_all(out, **{"tests.Handle": "token"})
        assert [h.name for h in live] == ["a", "b"] and live[0].auth == "token"
    finally:
        from suitkaise.cerial import _registry

        _registry.remove_user(Handle)


def test_reconnect_all_walks_tuples_sets_slots_cycles() -> None:
    class R(cerial.Reconnector):
        auth_key = "tests.R"

        def __init__(self, v):
            self.v = v

        def reconnect(self, auth=None):
            return ("live", self.v)

    class Slots:
        __slots__ = ("r",)

    r = R(1)
    s = Slots()
    s.r = r
    d: dict = {"t": (r, 2), "fs": frozenset([R(3)]), "slots": s}
    d["self"] = d
    out = cerial.reconnect_all(d)
    assert out["t"] == (("live", 1), 2)
    assert out["fs"] == frozenset([("live", 3)])
    assert out["slots"].r == ("live", 1)
    assert out["self"] is out
    assert cerial.reconnect_all(R(5)) == ("live", 5)


def test_reconnect_all_on_a_very_deep_object() -> None:
    class R(cerial.Reconnector):
        auth_key = "tests.Deep"

        def reconnect(self, auth=None):
            return "live"

    class Node:
        def __init__(self, nxt):
            self.nxt = nxt

    chain = Node(R())
    # Python 3.12/3.13 serialize object chains only about as deep as pickle does (a fixed C
    # limit); 900 still takes reconnect_all past the default recursion limit of 1000 frames.
    depth = 600 if (3, 12) <= sys.version_info < (3, 14) else 5_000
    for _ in range(depth):
        chain = Node(chain)
    out = cerial.reconnect_all(roundtrip(chain))
    while isinstance(out, Node):
        out = out.nxt
    assert out == "live"


def test_listening_and_udp_sockets_rebind() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    payload = cerial.serialize([listener, udp])
    addr_tcp, addr_udp = listener.getsockname(), udp.getsockname()
    listener.close()
    udp.close()  # the receiving side takes the addresses over
    state = cerial.deserialize(payload)
    assert "listening on" in repr(state[0]) and "bound to" in repr(state[1])
    tcp2, udp2 = cerial.reconnect_all(state)
    try:
        assert tcp2.getsockname() == addr_tcp and udp2.getsockname() == addr_udp
        with socket.create_connection(addr_tcp, timeout=5) as c:
            conn, _ = tcp2.accept()
            conn.close()
            assert c.fileno() != -1
    finally:
        tcp2.close()
        udp2.close()


def test_thread_subclass_keeps_its_attributes() -> None:
    class Worker(threading.Thread):
        def __init__(self, n):
            super().__init__(name=f"w{n}", daemon=True)
            self.n = n
            self.result = None

        def run(self):
            self.result = self.n * 2

    t = cerial.reconnect_all(roundtrip(Worker(21)))
    assert type(t).__name__ == "Worker" and t.name == "w21" and t.n == 21
    t.start()
    t.join(timeout=10)
    assert t.result == 42


class _Live(cerial.Reconnector):
    auth_key = "tests.Live"

    def __init__(self, v):
        self.v = v

    def reconnect(self, auth=None):
        return f"live-{self.v}"


_Pair = collections.namedtuple("_Pair", "a b")


class _MyList(list):
    pass


class _MyDict(dict):
    pass


class _MySet(set):
    pass


class _MyTuple(tuple):
    __slots__ = ()


class _TaggedTuple(tuple):
    def __new__(cls, items, tag="t"):
        return super().__new__(cls, items)


class _FixedTuple(tuple):
    def __new__(cls, a, b):  # cannot be rebuilt from an iterable
        return super().__new__(cls, (a, b))


def test_reconnect_all_walks_container_subclasses() -> None:
    tagged = _TaggedTuple([_Live(6)])
    tagged.extra = _Live(7)  # a subclass instance's __dict__ is walked too
    my_list = _MyList([_Live(2)])
    my_list.note = _Live(8)
    obj = {
        "pair": _Pair(_Live(1), 0),
        "list": my_list,
        "dict": _MyDict(k=_Live(3)),
        "set": _MySet([_Live(4)]),
        "tuple": _MyTuple([_Live(5)]),
        "tagged": tagged,
    }
    out = cerial.reconnect_all(obj)
    assert out["pair"] == _Pair("live-1", 0) and type(out["pair"]) is _Pair
    assert out["list"] == ["live-2"] and out["list"].note == "live-8"
    assert out["dict"] == {"k": "live-3"} and out["set"] == {"live-4"}
    assert type(out["tuple"]) is _MyTuple and out["tuple"] == ("live-5",)
    assert type(out["tagged"]) is _TaggedTuple and out["tagged"] == ("live-6",)
    assert out["tagged"].extra == "live-7"


def test_reconnect_all_tuple_subclass_that_cannot_be_rebuilt() -> None:
    obj = {"f": _FixedTuple(_Live(1), 2)}
    with pytest.raises(cerial.ReconnectError) as info:
        cerial.reconnect_all(obj)
    assert info.value.path == "dict['f']" and "_FixedTuple" in str(info.value)
    kept = cerial.reconnect_all(obj, errors="keep")
    assert isinstance(kept["f"][0], _Live)  # left as it was, not half-rebuilt


def test_per_attribute_auth_never_sends_another_attributes_password(monkeypatch) -> None:
    calls: list[dict] = []
    connection = _fake_psycopg2(monkeypatch, calls)
    svc = types.SimpleNamespace(
        main_db=connection(host="db1"),
        analytics_db=connection(host="db2"),
        dbs={"main": connection(host="db3"), "other": connection(host="db4")},
    )
    out = cerial.deserialize(cerial.serialize(svc))
    cerial.reconnect_all(out, **{"psycopg2.Connection": {"analytics_db": "pw2", "main": "pw3"}})
    by_host = {c["host"]: c for c in calls}
    assert by_host["db1"] == {"host": "db1"}  # no "*": no credential, not {"analytics_db": ...}
    assert by_host["db2"] == {"host": "db2", "password": "pw2"}
    assert by_host["db3"] == {"host": "db3", "password": "pw3"}  # svc.dbs["main"]
    assert by_host["db4"] == {"host": "db4"}


def test_per_attribute_auth_matches_outer_attributes_innermost_first(monkeypatch) -> None:
    calls: list[dict] = []
    connection = _fake_psycopg2(monkeypatch, calls)
    svc = types.SimpleNamespace(dbs={"main": connection(host="a"), "x": connection(host="b")})
    out = cerial.deserialize(cerial.serialize(svc))
    cerial.reconnect_all(out, **{"psycopg2.Connection": {"dbs": "outer", "main": "inner"}})
    by_host = {c["host"]: c for c in calls}
    assert by_host["a"]["password"] == "inner" and by_host["b"]["password"] == "outer"
    # a dict of connection arguments (no key names an attribute) is still the credential
    calls.clear()
    out = cerial.deserialize(cerial.serialize(svc))
    cerial.reconnect_all(out, **{"psycopg2.Connection": {"password": "pw", "sslmode": "require"}})
    assert {c["host"]: c["sslmode"] for c in calls} == {"a": "require", "b": "require"}
