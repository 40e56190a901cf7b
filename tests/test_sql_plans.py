"""core.sql: a connection keeps its prepared statements' generic plans."""

from __future__ import annotations

from django.db import connection, transaction

from core.sql import execute_prepared, send_prepared
from core.testing.queries import count_queries

SQL = "SELECT g, g * %s FROM generate_series(1, %s) g"


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_a_connection_keeps_generic_plans_once_a_statement_is_prepared_outside_a_transaction(
    committed_db,
):
    """execute_prepared sets plan_cache_mode = force_generic_plan once per connection,
    outside any transaction (one rolled back would undo it), and counts nothing for it."""
    connection.close()
    connection.ensure_connection()
    assert _plan_cache_mode() == "auto"
    with transaction.atomic():
        execute_prepared(connection, SQL, [1, 1])
        assert _plan_cache_mode() == "auto"  # not inside a transaction
        transaction.set_rollback(True)
    with count_queries() as q:
        assert execute_prepared(connection, SQL, [2, 2]) == [(1, 2), (2, 4)]
    assert not any("plan_cache_mode" in s for s in q.statements), str(q)  # not counted
    assert _plan_cache_mode() == "force_generic_plan"
    with count_queries() as q:
        pending = send_prepared(connection, SQL, [3, 1])
        assert pending.rows() == [(1, 3)]
    assert q.count == 1 and _plan_cache_mode() == "force_generic_plan", str(q)


def test_a_server_that_refuses_the_setting_still_runs_prepared_statements(
    committed_db, monkeypatch, caplog
):
    """PostgreSQL before 12 has no plan_cache_mode: the statement runs, a warning says
    why, and the connection is not asked again."""
    import psycopg

    connection.close()
    connection.ensure_connection()
    raw = connection.connection
    asked = []

    def refuse(self, query, *args, **kwargs):
        if "plan_cache_mode" in str(query):
            asked.append(query)
            raise psycopg.errors.UndefinedObject(
                'unrecognized configuration parameter "plan_cache_mode"'
            )
        return real(self, query, *args, **kwargs)

    real = psycopg.Connection.execute
    monkeypatch.setattr(psycopg.Connection, "execute", refuse)
    assert execute_prepared(connection, SQL, [2, 1]) == [(1, 2)]
    assert execute_prepared(connection, SQL, [3, 1]) == [(1, 3)]
    assert len(asked) == 1 and "plan_cache_mode not set" in caplog.text
    monkeypatch.undo()
    assert raw is connection.connection and _plan_cache_mode() == "auto"
