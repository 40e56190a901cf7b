"""The outbox relay: publish unpublished events in order, through Celery.

``relay_outbox`` runs in a tenant's schema (it is sent from there, or fanned
out by ``relay_all_tenants`` every few seconds by beat as a safety net). It
locks a batch of unpublished events with ``SKIP LOCKED`` (two relays never
publish the same event), hands each to ``deliver_event`` — one Celery message
per event, in sequence order — and marks them published in the same
transaction. Receivers deduplicate on ``event_id``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone

from .handlers import dispatch
from .models import Event

logger = logging.getLogger(__name__)
BATCH = 500


@shared_task(name="events.relay_outbox")
def relay_outbox() -> int:
    published = 0
    while True:
        with transaction.atomic():
            batch = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(published_at__isnull=True)
                .order_by("sequence")[:BATCH]
            )
            if not batch:
                return published
            for event in batch:
                # tenant-schemas-celery stamps the current schema on the message.
                deliver_event.delay(str(event.event_id), event.type, event.payload)
            Event.objects.filter(sequence__in=[e.sequence for e in batch]).update(
                published_at=timezone.now()
            )
            published += len(batch)


@shared_task(name="events.deliver_event", bind=True, max_retries=8, acks_late=True)
def deliver_event(self, event_id: str, type: str, payload: dict) -> None:
    """Run the in-process subscribers of an event (search indexing, webhooks …)."""
    try:
        dispatch(event_id, type, payload)
    except Exception as exc:  # noqa: BLE001 - retried with backoff
        logger.warning("event %s (%s) handler failed; retrying", event_id, type, exc_info=True)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 300)) from exc


@shared_task(name="events.relay_all_tenants")
def relay_all_tenants() -> None:
    """Beat: send a relay to every tenant that has unpublished events."""
    from tenants.models import Tenant

    for tenant in Tenant.objects.exclude(schema_name="public").only("schema_name"):
        connection.set_tenant(tenant)
        if Event.objects.filter(published_at__isnull=True).exists():
            relay_outbox.delay()
    connection.set_schema_to_public()
