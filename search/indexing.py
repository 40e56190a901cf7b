"""Keeping the index in step with the catalogue, asynchronously.

:func:`schedule_reindex` is the entry point for every change (the outbox relay
calls it for ``product.*``, ``price.*`` and ``stock.*`` events; until then the
signal handlers in :mod:`search.signals` do). It collects product ids for the
current transaction and, once it commits, sends one
:func:`search.tasks.index_products` task per batch. It never raises: a broken
broker or search server costs freshness, never an order or an edit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from . import backend as get_backend
from .documents import attribute_specs, build_documents, category_paths, iter_product_batches

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_pending = threading.local()


def schedule_reindex(product_ids: Iterable[int]) -> None:
    """Reindex these products after the current transaction commits (at once outside one)."""
    try:
        ids = {int(i) for i in product_ids if i is not None}
        if not ids:
            return
        schema = connection.schema_name
        pending: dict[str, set[int]] | None = getattr(_pending, "ids", None)
        if pending is None:
            pending = _pending.ids = {}
        pending.setdefault(schema, set()).update(ids)
        # One flush per transaction (ids rolled back with an earlier transaction
        # may ride along: reindexing reads current state, so that is harmless).
        if not any(entry[1] is _flush for entry in connection.run_on_commit):
            transaction.on_commit(_flush)
    except Exception:  # noqa: BLE001 - indexing must never fail the caller
        log.exception("search: could not schedule a reindex")


def _flush() -> None:
    pending: dict[str, set[int]] = getattr(_pending, "ids", None) or {}
    _pending.ids = None
    changed_at = timezone.now().isoformat()
    for schema, ids in pending.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH_SIZE):
            _send(schema, ordered[start : start + BATCH_SIZE], changed_at)


def _send(schema: str, ids: list[int], changed_at: str) -> None:
    from .tasks import index_products

    try:
        index_products.apply_async(
            args=[ids], kwargs={"changed_at": changed_at}, headers={"_schema_name": schema}
        )
    except Exception:  # noqa: BLE001 - the broker is down: the next reindex catches up
        log.exception("search: could not enqueue indexing of %d products in %s", len(ids), schema)


def index_now(product_ids: Iterable[int], *, changed_at: datetime | None = None) -> int:
    """Index (or remove) these products in the current tenant synchronously.

    Idempotent: it reads the products' current state. Returns how many
    documents were written. Records the index lag when ``changed_at`` is given.
    """
    ids = sorted({int(i) for i in product_ids})
    backend = get_backend()
    written = 0
    for start in range(0, len(ids), BATCH_SIZE):
        docs, missing = build_documents(ids[start : start + BATCH_SIZE])
        backend.index(docs)
        backend.delete(missing)
        written += len(docs)
    if changed_at is not None and ids:
        record_lag(changed_at, timezone.now(), backend.name, len(ids))
    return written


def reindex_all(*, batch_size: int = BATCH_SIZE) -> int:
    """Rebuild the current tenant's index from the catalogue without downtime.

    Outside a transaction the next batch of documents is built in a thread
    (with its own connection) while this one is written: building is Python,
    writing mostly waits on the database, so the two overlap. Inside one (a
    test) another connection could not see the data: batches are built in turn.
    """
    backend = get_backend()
    # Read once for the whole rebuild, not once a batch.
    shared = {"specs": attribute_specs(), "paths": category_paths()}
    if connection.in_atomic_block:
        batches = (build_documents(ids, **shared)[0] for ids in iter_product_batches(batch_size))
    else:
        batches = _built_ahead(batch_size, shared)
    started = time.monotonic()
    total = backend.rebuild(batches)
    log.info(
        "search: reindexed %d products of %s with %s in %.1fs",
        total,
        connection.schema_name,
        backend.name,
        time.monotonic() - started,
    )
    return total


def _built_ahead(batch_size: int, shared: dict) -> Iterator[list[dict]]:
    """Every active product's documents, batch by batch, the next batch built in a thread."""
    from concurrent.futures import ThreadPoolExecutor

    tenant = connection.tenant

    def build(ids: list[int]) -> list[dict]:
        if connection.schema_name != tenant.schema_name:
            connection.set_tenant(tenant)
        return build_documents(ids, **shared)[0]

    with ThreadPoolExecutor(1, thread_name_prefix="search-build") as pool:
        try:
            pending = None
            for ids in iter_product_batches(batch_size):
                future = pool.submit(build, ids)
                if pending is not None:
                    yield pending.result()
                pending = future
            if pending is not None:
                yield pending.result()
        finally:
            # A callable run in the thread: ``connection.close`` evaluated here would be
            # this thread's connection, not the builder's.
            pool.submit(_close_connection).result()


def _close_connection() -> None:
    connection.close()


def record_lag(
    changed_at: datetime, indexed_at: datetime, backend_name: str, documents: int
) -> None:
    from .models import IndexLagSample

    try:
        sample = IndexLagSample.objects.create(
            changed_at=changed_at,
            indexed_at=indexed_at,
            backend=backend_name,
            documents=documents,
            lag_seconds=max(0.0, (indexed_at - changed_at).total_seconds()),
        )
        IndexLagSample.objects.filter(id__lte=sample.id - IndexLagSample.KEEP).delete()
    except Exception:  # noqa: BLE001 - the record is for the console, not for correctness
        log.exception("search: could not record index lag")


def lag_summary(limit: int = 500) -> dict[str, float | int | None]:
    """p50, p95 and max lag (seconds) of the last ``limit`` index writes, and their number."""
    from .models import IndexLagSample

    lags = sorted(
        IndexLagSample.objects.order_by("-indexed_at").values_list("lag_seconds", flat=True)[:limit]
    )
    if not lags:
        return {"n": 0, "p50": None, "p95": None, "max": None}

    def pct(p: float) -> float:
        k = (len(lags) - 1) * p
        lo = int(k)
        hi = min(lo + 1, len(lags) - 1)
        return lags[lo] + (lags[hi] - lags[lo]) * (k - lo)

    return {"n": len(lags), "p50": pct(0.5), "p95": pct(0.95), "max": lags[-1]}
