"""Asynchronous indexing: after commit, in a real worker, in the sender's tenant; never failing the caller."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from core.catalog.models import Product
from core.testing.factories import SkuFactory, StockFactory
from search import search
from search.indexing import lag_summary, schedule_reindex
from search.models import IndexLagSample, SearchDocument
from search.query import SearchQuery


def _wait(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.worker
@pytest.mark.usefixtures("committed_db")
def test_an_edit_becomes_searchable_through_the_worker(celery_worker_process, tenant, other_tenant):
    connection.set_tenant(tenant)
    SearchDocument.objects.all().delete()  # what earlier worker tests' products left in the index
    with transaction.atomic():
        sku = SkuFactory(product__name="维生素C泡腾片")
        StockFactory(sku=sku, on_hand=5)
        # Nothing is sent before the commit.
        assert not SearchDocument.objects.exists()
    assert _wait(lambda: search(SearchQuery(text="泡腾片")).total == 1)
    product = sku.product
    product.name = "维生素C泡腾片 橙味"
    product.save()
    assert _wait(lambda: search(SearchQuery(text="橙味")).total == 1)
    assert IndexLagSample.objects.count() >= 2 and lag_summary()["p95"] < 30
    # The other tenant's index holds nothing of it.
    connection.set_tenant(other_tenant)
    assert search(SearchQuery(text="泡腾片")).total == 0
    connection.set_tenant(tenant)
    product.delete()
    assert _wait(lambda: search(SearchQuery(text="泡腾片")).total == 0)


def test_a_rolled_back_edit_sends_nothing_and_a_broken_broker_fails_nothing(tenant_db, monkeypatch):
    from search import indexing, tasks

    indexing._pending.ids = None  # ids left by earlier tests' rolled-back transactions
    sent = []
    monkeypatch.setattr(
        tasks.index_products, "apply_async", lambda *a, **k: sent.append(k) or 1 / 0
    )
    with transaction.atomic():
        product = SkuFactory().product
    # The test's wrapping transaction never commits: run the commit hooks by hand.
    assert sent == []
    from search.indexing import _flush

    schedule_reindex([product.id])
    _flush()  # raises nothing although the broker "fails"
    assert sent and sent[-1]["args"] == [[product.id]]
    assert sent[-1]["headers"] == {"_schema_name": tenant_db.schema_name}


def test_the_task_retries_then_gives_up_quietly(tenant_db, monkeypatch):
    from search import indexing, tasks

    calls = []

    def down(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("search server down")

    monkeypatch.setattr(indexing, "index_now", down)
    countdowns = []
    original = tasks.index_products.retry
    monkeypatch.setattr(
        tasks.index_products,
        "retry",
        lambda *a, **k: countdowns.append(k["countdown"]) or original(*a, **k),
    )
    # Eagerly, each retry runs at once: every attempt fails, then it gives up without raising.
    result = tasks.index_products.apply(args=[[1]])
    assert result.successful() and result.get() == 0
    assert len(calls) == tasks.MAX_RETRIES + 1
    assert countdowns == [2**i for i in range(tasks.MAX_RETRIES)]


def test_reindex_command(tenant_db, tenant):
    StockFactory(sku__product__name="贴片电阻 10kΩ")
    SearchDocument.objects.all().delete()
    call_command("reindex_search", schema=tenant.schema_name, stdout=open("/dev/null", "w"))
    connection.set_tenant(tenant)
    assert SearchDocument.objects.count() == Product.objects.count() == 1
    assert search(SearchQuery(text="电阻")).total == 1
