"""SQL helpers shared by the hot read paths (product pages, pricing, search writes).

* :func:`int_array`: an integer array as its text literal, for a ``::bigint[]``
  parameter or a COPY row.
* :func:`execute_prepared`: a statement run as a prepared statement of the
  connection, counted and logged like any statement of Django's cursors.
* :func:`send_prepared`: the same, sent ahead: PostgreSQL runs it while Python goes
  on (:class:`PendingRows`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import SimpleNamespace
from typing import Any


def int_array(values: Iterable[int]) -> str:
    """An integer array as its text literal (``'{1,2,3}'``, cast in the SQL, or a COPY
    field): psycopg's client-side binding of a list checks every element with a
    regular expression, which cost more than the statement for a page's hundreds of ids."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


logger = logging.getLogger(__name__)

# psycopg prepares a statement when asked (``prepare=True``) only while the connection
# has a threshold; Django leaves it unset (no statement prepared by count).
_NEVER_BY_COUNT = 2**31


class _Preparing:
    """A psycopg server-binding cursor whose ``execute`` prepares the statement; the
    statement Django's debug cursor logs is the one with its parameters merged in, as
    for Django's own (client-binding) cursors."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor
        self._executed = None

    def execute(self, sql, params=None):
        self._executed = sql, params
        return self._cursor.execute(sql, params, prepare=True)

    @property
    def _query(self):  # read by DatabaseOperations.last_executed_query (debug logging)
        from psycopg import ClientCursor

        sql, params = self._executed
        merged = ClientCursor(self._cursor.connection).mogrify(sql, params)
        return SimpleNamespace(query=merged.encode())

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def execute_prepared(connection, sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of ``sql`` run as a prepared statement of the connection (psycopg 3):
    parsed and planned once per connection: the connection keeps each statement's
    generic plan from its first run (:func:`_generic_plans`). Counted and logged like
    any statement of Django's cursors (``CaptureQueriesContext``, ``assertNumQueries``).

    Prepared statements need a PostgreSQL session per client, which the deployment
    keeps (the connection pool, PgBouncer in session mode only): see deploy/README.md.
    The search_path is the tenant's as for any statement (PostgreSQL plans a prepared
    statement again when it changes). Anything else (another driver) runs it plainly.
    """
    with connection.cursor() as cursor:
        raw = cursor.cursor
        psycopg_connection = getattr(raw, "connection", None)
        binding = _server_binding_cursor(connection, psycopg_connection)
        if binding is None:
            cursor.execute(sql, params)
            return cursor.fetchall()
        if psycopg_connection.prepare_threshold is None:
            psycopg_connection.prepare_threshold = _NEVER_BY_COUNT
        cursor.cursor = _Preparing(binding)
        try:
            cursor.execute(sql, params)
            return binding.fetchall()
        finally:
            cursor.cursor = raw
            binding.close()


class PendingRows:
    """A prepared statement sent ahead (:func:`send_prepared`): PostgreSQL runs it while
    the caller goes on in Python; :meth:`rows` waits for its rows, :meth:`close`
    discards them. One of the two must be called (the connection stays in pipeline
    mode until then; statements run meanwhile on it still work, each waiting for what
    was sent before it)."""

    __slots__ = ("_db", "_binding", "_pipeline", "_rows")

    def __init__(
        self, db=None, binding=None, pipeline=None, rows: list[tuple] | None = None
    ) -> None:
        self._db, self._binding, self._pipeline, self._rows = db, binding, pipeline, rows

    def rows(self) -> list[tuple]:
        """The statement's rows (waiting for them when PostgreSQL is still at it)."""
        if self._pipeline is None:
            if self._rows is None:
                raise RuntimeError("The statement's rows were closed or already read.")
            rows, self._rows = self._rows, None
            return rows
        try:
            with self._db.wrap_database_errors:  # Django's errors, as for its own cursors
                rows = self._binding.fetchall()
        except BaseException:
            self._end(discard=True)
            raise
        self._end()
        return rows

    def close(self) -> None:
        """Discard the statement's rows, or the error it raised (whose transaction, as
        after any failed statement, is then rolled back by its atomic block)."""
        self._rows = None
        if self._pipeline is not None:
            self._end(discard=True)

    def _end(self, *, discard: bool = False) -> None:
        pipeline, binding = self._pipeline, self._binding
        self._pipeline = self._binding = None
        try:
            pipeline.__exit__(None, None, None)
        except Exception:
            if not discard:
                raise
            # the statement failed: PostgreSQL aborted the transaction it ran in, which
            # the enclosing atomic block then rolls back, as after any failed statement
            if self._db.in_atomic_block:
                self._db.needs_rollback = True
        finally:
            binding.close()


def send_prepared(connection, sql: str, params: Sequence[Any]) -> PendingRows:
    """:func:`execute_prepared` without waiting: the statement is sent (psycopg's
    pipeline mode) and PostgreSQL runs it while the caller goes on, for work that does
    not need its rows yet (a product page prices its SKUs while it builds its objects).
    Counted and logged when sent. Another driver runs it at once (the rows wait in the
    returned object)."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        psycopg_connection = getattr(raw, "connection", None)
        binding = _server_binding_cursor(connection, psycopg_connection)
        if binding is None or not _pipelines(psycopg_connection):
            if binding is not None:
                binding.close()
            return PendingRows(rows=execute_prepared(connection, sql, params))
        if psycopg_connection.prepare_threshold is None:
            psycopg_connection.prepare_threshold = _NEVER_BY_COUNT
        pipeline = psycopg_connection.pipeline()
        pipeline.__enter__()
        cursor.cursor = _Preparing(binding)
        try:
            cursor.execute(sql, params)
        except BaseException:
            PendingRows(connection, binding, pipeline).close()
            raise
        finally:
            cursor.cursor = raw
        return PendingRows(connection, binding, pipeline)


def _pipelines(psycopg_connection) -> bool:
    """Whether the connection can send statements ahead: libpq 14 or later, and not in
    pipeline mode already (a statement sent ahead and not yet read)."""
    psycopg = _psycopg()
    return (
        psycopg.pipeline_supported()
        and psycopg_connection.pgconn.pipeline_status == psycopg.pipeline_off
    )


@lru_cache(maxsize=1)
def _psycopg() -> SimpleNamespace | None:
    """What the helpers use of psycopg 3 and Django's backend for it, imported once
    (imports inside the functions cost a few microseconds on every statement); None
    with psycopg2."""
    try:
        from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
        from django.db.backends.postgresql.psycopg_any import register_tzloader
        from psycopg import Connection, Error, Pipeline, pq
    except ImportError:  # psycopg2
        return None
    return SimpleNamespace(
        Connection=Connection,
        Error=Error,
        ServerBindingCursor=ServerBindingCursor,
        register_tzloader=register_tzloader,
        TIMESTAMPTZ_OID=TIMESTAMPTZ_OID,
        text_format=pq.Format.TEXT,
        pipeline_supported=Pipeline.is_supported,
        pipeline_off=pq.PipelineStatus.OFF,
        transaction_idle=pq.TransactionStatus.IDLE,
    )


def _server_binding_cursor(connection, psycopg_connection):
    """A psycopg 3 server-binding cursor on the connection, with the time zone Django
    gives its own cursors; None when the connection is not psycopg 3's."""
    if connection.vendor != "postgresql":
        return None
    psycopg = _psycopg()
    if psycopg is None or not isinstance(psycopg_connection, psycopg.Connection):
        return None
    if not getattr(psycopg_connection, "_dinghuo_generic_plans", False):
        _generic_plans(psycopg_connection, psycopg)
    cursor = psycopg.ServerBindingCursor(psycopg_connection)
    tzloader = psycopg_connection.adapters.get_loader(psycopg.TIMESTAMPTZ_OID, psycopg.text_format)
    if connection.timezone != tzloader.timezone:
        psycopg.register_tzloader(connection.timezone, cursor)
    return cursor


def _generic_plans(psycopg_connection, psycopg: SimpleNamespace) -> None:
    """Once per connection (a session of PostgreSQL's, which a pool or PgBouncer in
    session mode keeps): ``SET plan_cache_mode = force_generic_plan``, so each prepared
    statement keeps its generic plan from its first run. By default PostgreSQL planned
    each afresh for its first five runs, and the product listing took longer to plan
    than to run (1-4 ms): a quarter of a benchmark's pages paid it. Django's own
    statements are not prepared, so nothing else changes. Set outside a transaction
    only (a rolled-back one would undo it): inside one, a later statement sets it. A
    server that refuses it (PostgreSQL before 12) keeps its default, once asked."""
    if not psycopg_connection.autocommit or (
        psycopg_connection.info.transaction_status != psycopg.transaction_idle
        or psycopg_connection.pgconn.pipeline_status != psycopg.pipeline_off
    ):
        return
    try:
        psycopg_connection.execute("SET plan_cache_mode = force_generic_plan")
    except psycopg.Error as exc:  # in autocommit: nothing left aborted
        logger.warning("plan_cache_mode not set (%s); prepared statements plan as usual", exc)
    psycopg_connection._dinghuo_generic_plans = True
