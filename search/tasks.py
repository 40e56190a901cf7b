"""Celery tasks of search; they run in the schema of the tenant that sent them."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

log = logging.getLogger(__name__)

MAX_RETRIES = 6


@shared_task(bind=True, name="search.index_products", max_retries=MAX_RETRIES, acks_late=True)
def index_products(self, product_ids: list[int], changed_at: str | None = None) -> int:
    """Bring these products' search documents up to date (idempotent, batched).

    On failure (search server down, deadlock) it retries with exponential
    backoff: 1, 2, 4 … 32 seconds; after the last retry it logs and gives up
    (the next change or ``reindex_search`` repairs the index).
    """
    from .indexing import index_now

    try:
        return index_now(product_ids, changed_at=parse_datetime(changed_at) if changed_at else None)
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            log.exception("search: giving up indexing %d products", len(product_ids))
            return 0
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(name="search.reindex_tenant")
def reindex_tenant() -> int:
    """Rebuild the sender's tenant index (zero downtime)."""
    from .indexing import reindex_all

    return reindex_all()
