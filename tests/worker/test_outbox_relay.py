"""The outbox relay publishes every event, in order, through the real worker."""

import time

import pytest
from django.db import connection

from core.events.models import Event
from core.orders import services
from core.orders.lines import LineInput
from tests.orders.conftest import build_shop

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("committed_db")]


def test_events_of_an_order_are_published_in_sequence(celery_worker_process, tenant):
    connection.set_tenant(tenant)
    shop = build_shop(n_skus=2)
    order = services.place_order(
        dealer=shop.dealer,
        user=shop.buyer,
        lines=[LineInput("SKU0", 2), LineInput("SKU1", 1)],
        channel="web",
        idempotency_key="relay-1",
    ).order
    events = list(Event.objects.order_by("sequence"))
    assert [e.type for e in events] == ["order.placed", "stock.changed", "stock.changed"]
    placed = events[0].payload
    assert placed["number"] == order.number and placed["tenant"] == tenant.schema_name
    assert [(li["sku_id"], li["quantity"]) for li in placed["lines"]] == [
        (shop.skus[0].pk, 2),
        (shop.skus[1].pk, 1),
    ]
    # The worker is shared by the whole run: earlier tests' indexing tasks may be queued ahead.
    deadline = time.monotonic() + 180
    while Event.objects.filter(published_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    published = list(Event.objects.order_by("sequence").values_list("published_at", flat=True))
    assert all(published), "the relay did not publish every event"
    assert published == sorted(published)
    connection.set_schema_to_public()
