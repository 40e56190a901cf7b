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
