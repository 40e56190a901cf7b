"""Outbox subscribers: stock changes (reservations, shipments, receipts, transfers)
make the products' availability in the index stale, so they are reindexed.

Catalogue and price edits still reach the index through model signals
(:mod:`search.signals`); stock changes made by the order core are bulk SQL
updates that send no signals, and arrive here as ``stock.*`` outbox events,
delivered by the worker after the order's transaction commits.
"""

from __future__ import annotations

from core.events.handlers import subscribe

from .indexing import schedule_reindex


@subscribe("stock.*")
def stock_changed(event_id: str, type: str, payload: dict) -> None:
    from core.catalog.models import Sku

    sku_id = payload.get("sku_id")
    if sku_id is None:
        return
    product_ids = list(Sku.objects.filter(pk=sku_id).values_list("product_id", flat=True))
    schedule_reindex(product_ids)
