"""sqlite3 connections and cursors become reconnectors.

A file database is reconnected by its path (committed data only: an open transaction is not
carried). An in-memory database travels with its content (``Connection.serialize()``, or an SQL
dump where that is not available) and is rebuilt in a new ``:memory:`` database.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from suitkaise.cerial._errors import SerializationError
from suitkaise.cerial._reconnector import Reconnector, reduce_as


class SqliteReconnector(Reconnector):
    """A ``sqlite3.Connection``: reconnects to the same file, or rebuilds a ``:memory:``
    database with the content it had."""

    auth_key = "sqlite3.Connection"

    def __init__(
        self,
        database: str,
        isolation_level: str | None,
        row_factory: Any,
        text_factory: Any,
        image: bytes | None,
        script: str | None,
    ) -> None:
        self.database = database
        self.isolation_level = isolation_level
        self.row_factory = row_factory
        self.text_factory = text_factory
        self._image = image
        self._script = script

    def describe(self) -> str:
        return f"database={self.database!r}"

    def reconnect(self, auth: Any = None) -> sqlite3.Connection:
        extra = dict(auth) if isinstance(auth, dict) else {}
        level: Any = self.isolation_level
        conn: sqlite3.Connection = sqlite3.connect(self.database, isolation_level=level, **extra)
        try:
            if self._image is not None:
                conn.deserialize(self._image)
            elif self._script is not None:
                conn.executescript(self._script)
            conn.row_factory = self.row_factory
            conn.text_factory = self.text_factory
        except BaseException:
            conn.close()
            raise
        return conn


def reduce_connection(conn: sqlite3.Connection) -> Any:
    try:
        rows = conn.execute("PRAGMA database_list").fetchall()
    except sqlite3.ProgrammingError as exc:
        reason = f"cannot inspect the sqlite3 connection: {exc}"
        raise SerializationError(
            reason,
            reason=reason,
            hint="serialize it from the thread that created it, or connect with "
            "check_same_thread=False",
        ) from exc
    path = next((r[2] for r in rows if r[1] == "main"), "")
    image = script = None
    if not path:
        try:
            image = conn.serialize()
        except (AttributeError, sqlite3.OperationalError):
            # no sqlite3_serialize in this build, or an empty database (nothing to serialize)
            script = "\n".join(conn.iterdump())
    return reduce_as(
        SqliteReconnector(
            path or ":memory:",
            conn.isolation_level,
            conn.row_factory,
            conn.text_factory,
            image,
            script,
        )
    )


class SqliteCursorReconnector(Reconnector):
    """A ``sqlite3.Cursor``: a new cursor on the reconnected connection (pending rows are not
    carried)."""

    auth_key = "sqlite3.Cursor"

    def __init__(self, connection: Any, arraysize: int, row_factory: Any) -> None:
        self.connection = connection
        self.arraysize = arraysize
        self.row_factory = row_factory

    def describe(self) -> str:
        return f"cursor on {self.connection!r}"

    def reconnect(self, auth: Any = None) -> sqlite3.Cursor:
        conn = self.connection
        if isinstance(conn, Reconnector):
            conn = conn.reconnect(auth)
            self.connection = conn
        cur: sqlite3.Cursor = conn.cursor()
        cur.arraysize = self.arraysize
        cur.row_factory = self.row_factory
        return cur


def reduce_cursor(cur: sqlite3.Cursor) -> Any:
    return reduce_as(SqliteCursorReconnector(cur.connection, cur.arraysize, cur.row_factory))
