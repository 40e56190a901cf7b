"""Write events into the outbox, in the caller's transaction.

Call :func:`record` (or :func:`record_many`) from services right where state
changes; the rows commit or roll back with the change. After commit the relay
task publishes them in ``sequence`` order (see :mod:`core.events.tasks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

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
            type=e.type, aggregate_type=e.aggregate_type, aggregate_id=str(e.aggregate_id),
            payload={**e.payload, "tenant": schema}, tenant=schema,
        )
        for e in events
    ]
    if not rows:
        return
    Event.objects.bulk_create(rows)
    _schedule_relay()


def _schedule_relay() -> None:
    """Send the relay once the transaction commits; one per transaction is enough (it
    drains everything unpublished). Nothing is sent for a transaction rolled back."""
    if connection.in_atomic_block and any(entry[1] is _send_relay for entry in connection.run_on_commit):
        return
    transaction.on_commit(_send_relay)


def _send_relay() -> None:
    from .tasks import relay_outbox

    try:
        relay_outbox.delay()
    except Exception:  # noqa: BLE001 - the periodic relay picks the events up later
        import logging

        logging.getLogger(__name__).warning("Could not enqueue the outbox relay", exc_info=True)
