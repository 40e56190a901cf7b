"""core.sql: prepared statements, run at once or sent ahead (PendingRows)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from core.sql import execute_prepared, send_prepared
from core.testing.queries import count_queries

pytestmark = pytest.mark.django_db

SQL = "SELECT g, g * %s FROM generate_series(1, %s) g"


def _pipelined() -> bool:
    from psycopg import pq

    return connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def test_a_statement_sent_ahead_gives_the_rows_run_at_once_gives_and_is_counted():
    at_once = execute_prepared(connection, SQL, [3, 4])  # (and the tenant's search_path set)
    with count_queries() as q:
        pending = send_prepared(connection, SQL, [3, 4])
        assert _pipelined()
        rows = pending.rows()
    assert rows == at_once == [(1, 3), (2, 6), (3, 9), (4, 12)]
    assert q.count == 1 and "generate_series" in q.statements[0], q.statements
    assert not _pipelined()
    with pytest.raises(RuntimeError):
        pending.rows()  # read once


def test_statements_run_while_one_is_pending_and_it_is_still_read():
    pending = send_prepared(connection, SQL, [2, 3])
    with connection.cursor() as cursor:  # Django's own (client-binding) cursor
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    assert execute_prepared(connection, SQL, [1, 1]) == [(1, 1)]
    assert pending.rows() == [(1, 2), (2, 4), (3, 6)]
    assert not _pipelined()


def test_a_pending_statement_closed_unread_leaves_the_connection_as_it_was():
    pending = send_prepared(connection, SQL, [5, 2])
    pending.close()
    pending.close()  # twice: nothing more
    assert not _pipelined()
    assert execute_prepared(connection, SQL, [5, 2]) == [(1, 5), (2, 10)]


def test_a_failing_statement_sent_ahead_raises_when_read_and_the_connection_recovers():
    with transaction.atomic():
        pending = send_prepared(connection, "SELECT 1 / (g - g) FROM generate_series(1, %s) g", [2])
        with pytest.raises(DatabaseError):
            pending.rows()
        assert not _pipelined()
        transaction.set_rollback(True)
    assert execute_prepared(connection, SQL, [1, 2]) == [(1, 1), (2, 2)]
    with transaction.atomic():
        pending = send_prepared(connection, "SELECT 1 / (g - g) FROM generate_series(1, %s) g", [2])
        pending.close()  # an error nobody reads is discarded with its rows...
        assert not _pipelined()
        assert transaction.get_rollback()  # ...and its aborted transaction rolled back
    assert execute_prepared(connection, SQL, [1, 1]) == [(1, 1)]
