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


def test_building_documents_costs_the_same_queries_for_one_product_or_many(tenant_db):
    from core.testing.queries import count_queries
    from search.documents import build_documents

    products = [StockFactory(sku__product__name=f"贴片电阻 {i}").sku.product for i in range(6)]
    with count_queries() as one:
        docs, missing = build_documents([products[0].id])
    assert len(docs) == 1 and missing == []
    with count_queries(max_count=one.count) as many:
        docs, missing = build_documents([p.id for p in products] + [10**12])
    assert len(docs) == 6 and missing == [10**12]
    assert many.count == one.count <= 12


def test_the_postgres_index_stores_whole_words_and_finds_them_by_prefix(tenant_db):
    """One lexeme per word (not one per prefix): ``vit`` finds Vitamin, ``#vc-0`` a code prefix,
    and a match in the name outranks a match in the description."""
    from search.backends.postgres import PostgresBackend, document_lexemes
    from search.documents import build_documents
    from search.models import SearchLexeme

    named = SkuFactory(product__name="Vitamin C", code="VC-001").product
    described = SkuFactory(product__name="Tablets", product__description="vitamins").product
    docs, _ = build_documents([named.id, described.id])
    lexemes = document_lexemes(docs[0])
    assert "vitamin" in lexemes and "vita" not in lexemes and "#vc-001" in lexemes
    backend = PostgresBackend()
    backend.index(docs)
    assert SearchLexeme.objects.filter(word__in=["vitamin", "#vc-001", "vitamins"]).count() == 3
    assert not SearchLexeme.objects.filter(word="vita").exists()
    hits = search(SearchQuery(text="vit"), using=backend).hits
    assert [h.product_id for h in hits] == [named.id, described.id]
    assert hits[0].score > hits[1].score
    assert [h.product_id for h in search(SearchQuery(text="vc-0"), using=backend).hits] == [
        named.id
    ]
    assert search(SearchQuery(text="vitamins c"), using=backend).total == 0
    # LIKE's wildcards in a query are literal characters: ``_`` is not any character.
    assert search(SearchQuery(text="vc-0"), using=backend).total == 1
    assert search(SearchQuery(text="vc_0"), using=backend).total == 0


@pytest.mark.usefixtures("committed_db")
def test_a_full_reindex_outside_a_transaction_builds_ahead_in_a_thread(tenant, other_tenant):
    """The next batch is built on another connection while one is written: every product
    lands, in the right tenant's index, and a stale document goes."""
    import threading

    from search import documents, indexing

    connection.set_tenant(tenant)
    SearchDocument.objects.all().delete()
    products = [StockFactory(sku__product__name=f"精密电阻 {i}").sku.product for i in range(5)]
    SearchDocument.objects.create(
        product_id=10**12,
        name="gone",
        name_sort="gone",
        created_at=products[0].created_at,
        indexed_at=products[0].created_at,
    )
    threads = set()
    shared = []
    build = documents.build_documents

    def spy(ids, **kwargs):
        threads.add(threading.current_thread().name)
        shared.append(kwargs)
        return build(ids, **kwargs)

    indexing.build_documents, saved = spy, indexing.build_documents
    try:
        assert not connection.in_atomic_block
        assert indexing.reindex_all(batch_size=2) == 5
    finally:
        indexing.build_documents = saved
    assert all(name.startswith("search-build") for name in threads)
    # The attribute specs and category paths are read once for the rebuild, not per batch.
    assert len(shared) == 3 and all(k["specs"] is shared[0]["specs"] for k in shared)
    assert all(k["paths"] is shared[0]["paths"] for k in shared)
    assert set(SearchDocument.objects.values_list("product_id", flat=True)) == {
        p.id for p in products
    }
    assert search(SearchQuery(text="精密")).total == 5
    connection.set_tenant(other_tenant)
    assert search(SearchQuery(text="精密")).total == 0
    connection.set_tenant(tenant)
