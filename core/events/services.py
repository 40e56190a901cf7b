"""Write events into the outbox, in the caller's transaction.

Call :func:`record` (or :func:`record_many`) from services right where state
changes; the rows commit or roll back with the change. After commit the relay
task publishes them in ``sequence`` order (see :mod:`core.events.tasks`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import Event


@dataclass(frozen=True)
class PendingEvent:
    type: str
    aggregate_type: str
    aggregate_id: Any
    payload: dict


def record(type: str, *, aggregate_type: str, aggregate_id: Any, payload: dict) -> None:
    record_many([PendingEvent(type, aggregate_type, aggregate_id, payload)])


def record_many(events: Iterable[PendingEvent]) -> None:
    """Insert the events in one statement and schedule the relay after commit."""
    schema = connection.schema_name
    rows = [
        Event(
            type=e.type,
            aggregate_type=e.aggregate_type,
            aggregate_id=str(e.aggregate_id),
            payload={**e.payload, "tenant": schema},
            tenant=schema,
        )
        for e in events
    ]
    if not rows:
        return
    Event.objects.bulk_create(rows)
    _schedule_relay()


def insert_statement(events: Iterable[PendingEvent]) -> tuple[str, list]:
    """An ``INSERT`` of the events (one statement, any number of rows, one JSON parameter)
    for a caller that runs it inside a larger statement, e.g. as a ``WITH`` clause beside
    its own writes. The caller must then call :func:`schedule_relay` (see :func:`record_many`).
    """
    schema = connection.schema_name
    table = Event._meta.db_table
    rows = json.dumps(
        [
            {
                "n": n,
                "type": e.type,
                "aggregate_type": e.aggregate_type,
                "aggregate_id": str(e.aggregate_id),
                "payload": {**e.payload, "tenant": schema},
            }
            for n, e in enumerate(events)
        ]
    )
    sql = (
        f"INSERT INTO {table} (event_id, type, aggregate_type, aggregate_id, payload, tenant, created_at, attempts) "
        f"SELECT gen_random_uuid(), e.type, e.aggregate_type, e.aggregate_id, e.payload, %s, %s, 0 "
        f"FROM jsonb_to_recordset(%s::jsonb) AS e(n int, type text, aggregate_type text, aggregate_id text, "
        f"payload jsonb) ORDER BY e.n"
    )
    return sql, [schema, timezone.now(), rows]


def schedule_relay() -> None:
    """Have the relay publish after commit (after :func:`insert_statement` ran)."""
    _schedule_relay()


def _schedule_relay() -> None:
    """Send the relay once the transaction commits; one per transaction is enough (it
    drains everything unpublished). Nothing is sent for a transaction rolled back."""
    if connection.in_atomic_block and any(
        entry[1] is _send_relay for entry in connection.run_on_commit
    ):
        return
    transaction.on_commit(_send_relay)


def _send_relay() -> None:
    from .tasks import relay_outbox

    try:
        relay_outbox.delay()
    except Exception:  # noqa: BLE001 - the periodic relay picks the events up later
        import logging

        logging.getLogger(__name__).warning("Could not enqueue the outbox relay", exc_info=True)
