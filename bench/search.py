"""Search benchmark: ``python -m bench search [--quick] [--skus N] [--no-es] [--no-lag]``.

Generates a catalogue in the separate ``dinghuo_bench_search`` database with
set-based SQL (one SKU per product, 10 parameters each: 5 choices, 5 numbers;
a base price list; stock in one warehouse), then measures for each backend:

* ``*_index_docs_per_s``: a full rebuild (``search.indexing.reindex_all``:
  building the documents from the catalogue and writing them);
* ``*_p95_ms_1_client`` / ``*_p95_ms_8_clients``: a text + 3 filters + facets
  on 5 attributes query, through :func:`search.search`;
* ``index_lag_p95_s``: a price change committed through the pricing service
  until the dealer's price in the index shows it, through the real path (model
  signals → Celery message → a real worker process → index); and
  ``index_lag_stock_p95_s``: a stock count committed through the inventory
  service until search sees it in stock (outbox → relay → worker → index).

Elasticsearch is the server at ``ELASTICSEARCH_URL`` or a noida-db started
here. ``--keep`` leaves the catalogue in place and ``--reuse`` runs on a kept
one (to iterate on a query without regenerating a million SKUs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from bench import _benchdb
from bench.common import emit, load_average, log, percentile, setup_django

BENCH = "search"
SCHEMA = "bench_search"
WORDS = [
    "维生素",
    "泡腾片",
    "电阻",
    "电容",
    "贴片",
    "精密",
    "钙片",
    "胶囊",
    "连接器",
    "传感器",
    "Vitamin",
    "Resistor",
    "Capacitor",
    "Sensor",
    "Cable",
    "高压",
    "低噪声",
    "工业级",
    "汽车级",
    "医用",
]
CHOICES = {f"c{i}": [f"v{i}_{j}" for j in range(8)] for i in range(5)}
NUMBERS = [f"n{i}" for i in range(5)]
GENERATE_CHUNK = 100_000


# --- the catalogue -----------------------------------------------------------------------------
PRODUCTS_SQL = """
INSERT INTO catalog_product (name, description, status, created_at, updated_at, attributes, brand_id, category_id,
                             code, tax_rate)
SELECT (%(words)s::text[])[1 + a] || ' ' || (%(words)s::text[])[1 + (a + b) %% 20] || ' '
         || (%(words)s::text[])[1 + (a + 2 * b) %% 20] || ' ' || i,
       '', 'active', now() - make_interval(secs => %(n)s - i), now(),
       jsonb_build_object({choices}, {numbers}),
       (%(brands)s::bigint[])[1 + floor(random() * %(n_brands)s)::int],
       (%(cats)s::bigint[])[1 + floor(random() * %(n_cats)s)::int],
       'P' || lpad(i::text, 8, '0'), 0.13
FROM (SELECT i, floor(random() * 20)::int AS a, 1 + floor(random() * 6)::int AS b
      FROM generate_series(%(start)s, %(stop)s) i) s
"""


def _generate(n: int) -> dict:
    """A catalogue of ``n`` products with one SKU each, in set-based SQL (a million in a minute or two)."""
    from django.db import connection

    from core.catalog.models import Brand, Category
    from core.inventory.models import Warehouse
    from core.pricing.models import PriceList, PriceListKind

    schema = [{"code": k, "type": "choice", "label": k} for k in CHOICES] + [
        {"code": k, "type": "number", "label": k} for k in NUMBERS
    ]
    root = Category.objects.create(name="全部", slug="all")
    cats = [
        Category.objects.create(
            name=f"类目{i}", slug=f"cat-{i}", parent=root, attribute_schema=schema
        )
        for i in range(20)
    ]
    brands = [Brand.objects.create(name=f"品牌{i}") for i in range(50)]
    wh = Warehouse.objects.create(code="B1", name="Bench")
    base = PriceList.objects.create(code="BASE", name="Base", kind=PriceListKind.BASE)
    choices = ", ".join(
        f"'{k}', 'v{k[1:]}_' || floor(random() * {len(v)})::int" for k, v in CHOICES.items()
    )
    numbers = ", ".join(f"'{k}', floor(random() * 1001)::int" for k in NUMBERS)
    sql = PRODUCTS_SQL.format(choices=choices, numbers=numbers)
    args = {
        "words": WORDS,
        "brands": [b.id for b in brands],
        "n_brands": len(brands),
        "cats": [c.id for c in cats],
        "n_cats": len(cats),
        "n": n,
    }
    with connection.cursor() as c:
        c.execute("SELECT setseed(0.7)")
        for start in range(0, n, GENERATE_CHUNK):
            stop = min(n, start + GENERATE_CHUNK) - 1
            c.execute(sql, {**args, "start": start, "stop": stop})
            log(f"  generated {stop + 1}/{n} products")
        c.execute("""
            INSERT INTO catalog_sku (code, name, gtin, base_unit, product_id, attributes, is_active, min_order_qty,
                                     order_multiple)
            SELECT 'S' || substr(code, 2), name, '69' || lpad(substr(code, 2), 11, '0'), 'each', id, '{}', true, 1, 1
            FROM catalog_product""")
        c.execute(
            """
            INSERT INTO inventory_stock (on_hand, reserved, sku_id, warehouse_id, low_stock_alerted, safety_stock,
                                         updated_at)
            SELECT floor(random() * 4)::int, 0, id, %s, false, 0, now() FROM catalog_sku""",
            [wh.id],
        )
        c.execute(
            """
            INSERT INTO pricing_pricelistitem (price_list_id, sku_id, unit_code, min_quantity, unit_price)
            SELECT %s, id, 'each', 1, round((1 + random() * 999)::numeric, 2) FROM catalog_sku""",
            [base.id],
        )
        for table in ("catalog_product", "catalog_sku", "inventory_stock", "pricing_pricelistitem"):
            c.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  generated {n} SKUs with stock and base prices")
    return {"warehouse": wh, "price_list": base}


NOIDA_SKUS = 20_000
NOIDA_QUERIES = 40
NOIDA_TIMEOUT = 300


def _rebuild_first(backend, size: int) -> int:
    """Rebuild ``backend`` from the first ``size`` products only (a test server's share)."""
    from search.documents import build_documents, iter_product_batches

    def batches():
        done = 0
        for ids in iter_product_batches(1000):
            ids = ids[: size - done]
            yield build_documents(ids)[0]
            done += len(ids)
            if done >= size:
                return

    return backend.rebuild(batches())


def _query(rng):
    from search.query import Range, SearchQuery

    return SearchQuery(
        text=rng.choice(WORDS),
        terms={"c0": tuple(rng.sample(CHOICES["c0"], 3))},
        ranges={"n0": Range(rng.randint(0, 300), rng.randint(500, 1000))},
        in_stock_only=True,
        facet_attributes=("c1", "c2", "n1", "n2", "n3"),
        limit=20,
    )


def _latency(backend, tenant, clients: int, count: int) -> list[float]:
    import random

    from django.db import connection

    from search import search

    times: list[float] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        connection.set_tenant(tenant)
        rng = random.Random(seed)
        local = []
        for _ in range(count // clients):
            q = _query(rng)
            t0 = time.perf_counter()
            search(q, using=backend)
            local.append((time.perf_counter() - t0) * 1000)
        with lock:
            times.extend(local)
        connection.close()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return times


def _emit_failure(metric: str, unit: str, exc: Exception, figures: dict) -> None:
    """A figure that could not be measured: NaN with the error."""
    emit(BENCH, metric, float("nan"), unit, error=repr(exc)[:300], **figures)


# --- index lag through a real worker -----------------------------------------------------------
def _emit_lag(metric: str, lags: list[float], lost: int, path: str, extra: dict) -> None:
    """One index-lag figure: p95 of the samples (a timed-out sample counts as 60 s)."""
    emit(
        BENCH,
        metric,
        percentile(lags, 95),
        "s",
        p50=round(percentile(lags, 50), 4),
        max=round(max(lags), 4),
        n=len(lags),
        timed_out=lost,
        target_s=2,
        path=path,
        load=load_average(),
        **extra,
    )


def _start_worker() -> subprocess.Popen:
    from django.conf import settings

    from core.testing.processes import start_celery_worker

    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_DIR": str(settings.CELERY_DIR),
        "SEARCH_BACKEND": "postgres",
    }
    # its banner is not a figure: stdout carries only the JSON lines
    return start_celery_worker(env, startup_seconds=90, stdout=sys.stderr)


def _wait_until(predicate, timeout: float = 60.0) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate():
            return time.perf_counter() - start
        time.sleep(0.01)
    return None


def _lags(predicates) -> tuple[list[float], int]:
    """Each predicate's wait (a timed-out one counts as 60 s) and how many timed out."""
    lags, lost = [], 0
    for predicate in predicates:
        lag = _wait_until(predicate)
        lost += lag is None
        lags.append(lag if lag is not None else 60.0)
    return lags, lost


def _lag(generated: dict, samples: int, extra: dict) -> None:
    import random
    from decimal import Decimal

    from django.conf import settings

    from core.catalog.models import Sku
    from core.inventory.models import Stock
    from core.inventory.services import adjust_stock
    from core.pricing.services import PriceInput, upsert_prices
    from search import search
    from search.query import Scope, SearchQuery

    settings.SEARCH_BACKEND = "postgres"
    base = generated["price_list"]
    rng = random.Random(11)
    worker = _start_worker()
    try:

        def visible(pid: int, **q) -> SearchQuery:
            return SearchQuery(scope=Scope(unrestricted=False, product_ids=frozenset([pid])), **q)

        # Prices: upsert_prices replaces the SKU's ladder; the index's price for the dealer's lists must follow.
        def price_changes():
            for sku_id, pid in Sku.objects.order_by("id").values_list("id", "product_id")[:samples]:
                price = Decimal(rng.randint(100_000, 999_999)) / 100
                upsert_prices(price_list=base, prices=[PriceInput(unit_price=price, sku_id=sku_id)])
                q = visible(pid, price_lists=(base.id,))
                yield lambda q=q, price=price: any(h.price == float(price) for h in search(q).hits)

        lags, lost = _lags(price_changes())
        _emit_lag(
            "index_lag_p95_s",
            lags,
            lost,
            "pricing.upsert_prices -> signal -> Celery -> worker -> index",
            extra,
        )

        # Stock: counted from 0 to 5 (or back) through the inventory service, which writes stock.* outbox events.
        def stock_counts():
            for stock in Stock.objects.select_related("sku", "warehouse").order_by("id")[:samples]:
                counted = 0 if stock.available > 0 else 5
                adjust_stock(sku=stock.sku, warehouse=stock.warehouse, counted=counted)
                q = visible(stock.sku.product_id, in_stock_only=True)
                yield lambda q=q, want=counted > 0: (search(q).total == 1) == want

        lags, lost = _lags(stock_counts())
        _emit_lag(
            "index_lag_stock_p95_s",
            lags,
            lost,
            "inventory.adjust_stock -> outbox -> relay -> worker -> index",
            extra,
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


# --- the run -----------------------------------------------------------------------------------
def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench search")
    parser.add_argument("--quick", action="store_true", help="50,000 SKUs")
    parser.add_argument("--skus", type=int)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--lag-samples", type=int, default=40)
    parser.add_argument("--no-es", action="store_true")
    parser.add_argument(
        "--es-skus",
        type=int,
        help="products indexed in Elasticsearch (default: all with ELASTICSEARCH_URL, "
        "else at most 20,000: noida-db scans every document on every query)",
    )
    parser.add_argument("--es-queries", type=int, help="queries per Elasticsearch latency run")
    parser.add_argument(
        "--no-pg", action="store_true", help="skip the PostgreSQL indexing and latency"
    )
    parser.add_argument("--no-lag", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated catalogue for --reuse"
    )
    parser.add_argument("--reuse", action="store_true", help="run on a catalogue kept by --keep")
    args = parser.parse_args(argv)
    n = args.skus or (50_000 if args.quick else 1_000_000)
    _benchdb.use_bench_database("dinghuo_bench_search")
    setup_django()
    from django.db import connection

    from core.catalog.models import Product
    from core.inventory.models import Warehouse
    from core.pricing.models import PriceList
    from search.backends.elasticsearch import ElasticsearchBackend
    from search.backends.postgres import PostgresBackend
    from search.indexing import reindex_all
    from search.local_server import elasticsearch_endpoint
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    _benchdb.prepare()
    tenant = Tenant.objects.filter(schema_name=SCHEMA).first() if args.reuse else None
    if tenant is None:
        _benchdb.drop_tenants(SCHEMA)
        tenant = provision_tenant(name="Bench search", subdomain="bench-search")
        connection.set_tenant(tenant)
        log(f"bench search: generating {n} SKUs…")
        t0 = time.perf_counter()
        generated = _generate(n)
        log(f"  in {time.perf_counter() - t0:.1f}s")
    else:
        from django.core.management import call_command

        # The kept catalogue may predate the code's migrations (the index's layout).
        call_command("migrate_schemas", schema_name=SCHEMA, interactive=False, verbosity=0)
        connection.set_tenant(tenant)
        n = Product.objects.count()
        generated = {
            "warehouse": Warehouse.objects.get(code="B1"),
            "price_list": PriceList.objects.get(code="BASE"),
        }
    extra = {"quick": args.quick, "skus": n}
    emit(BENCH, "catalog_skus", n, "count", **extra)
    servers = ExitStack()
    local = False
    try:
        backends = [] if args.no_pg else [PostgresBackend()]
        if not args.no_es:
            url, local = servers.enter_context(elasticsearch_endpoint())
            # noida-db answers one query at a time and scans every document: 8 clients
            # queue behind each other for longer than a production search timeout.
            timeout = NOIDA_TIMEOUT if local else None
            backends.append(ElasticsearchBackend(url=url, prefix="bench", timeout=timeout))
        short = {"postgres": "pg", "elasticsearch": "es"}
        from django.conf import settings

        for backend in backends:
            name = short[backend.name]
            settings.SEARCH_BACKEND = backend.name
            if backend.name == "elasticsearch":
                settings.ELASTICSEARCH_URL = backend.url
                settings.SEARCH_INDEX_PREFIX = backend.prefix
            import search

            search._backends[backend.name] = backend
            backend.drop()
            load = load_average()
            size, queries, figures = n, args.queries, extra
            if backend.name == "elasticsearch":
                size = args.es_skus or (min(n, NOIDA_SKUS) if local else n)
                queries = args.es_queries or (NOIDA_QUERIES if local else args.queries)
                server = "noida-db" if local else "ELASTICSEARCH_URL"
                figures = {**extra, "skus": size, "server": server}
                if size < n:
                    figures["note"] = (
                        f"Elasticsearch measured on the first {size} of {n} SKUs: noida-db "
                        "scans every document on every query (about 1 s a query at 20,000), "
                        "so a million would take minutes a query; set ELASTICSEARCH_URL to "
                        "measure a real server on the whole catalogue"
                    )
            t0 = time.perf_counter()
            try:
                total = reindex_all() if size >= n else _rebuild_first(backend, size)
            except Exception as exc:  # noqa: BLE001 - report it and go on with the other backend
                _emit_failure(f"{name}_index_docs_per_s", "docs/s", exc, figures)
                continue
            elapsed = time.perf_counter() - t0
            if backend.name == "postgres":
                with connection.cursor() as c:  # as autovacuum would, before measuring queries
                    c.execute("VACUUM (ANALYZE) search_searchdocument")
            emit(
                BENCH,
                f"{name}_index_docs_per_s",
                total / elapsed,
                "docs/s",
                documents=total,
                seconds=round(elapsed, 1),
                includes="building documents from the catalogue",
                load_before=load,
                load=load_average(),
                **figures,
            )
            try:
                _latency(backend, tenant, 1, min(20, queries))  # warm up
            except Exception as exc:  # noqa: BLE001 - e.g. a test server too slow at this size
                _emit_failure(f"{name}_p95_ms_1_client", "ms", exc, figures)
                continue
            for clients in (1, 8):
                metric = f"{name}_p95_ms_{clients}_client{'s' if clients > 1 else ''}"
                load = load_average()
                try:
                    times = _latency(backend, tenant, clients, queries)
                except Exception as exc:  # noqa: BLE001 - report it, keep the other figures
                    _emit_failure(metric, "ms", exc, figures)
                    continue
                emit(
                    BENCH,
                    metric,
                    percentile(times, 95),
                    "ms",
                    p50=round(percentile(times, 50), 2),
                    n=len(times),
                    target_ms=50 if (backend.name == "postgres" and clients == 1) else None,
                    load_before=load,
                    load=load_average(),
                    **figures,
                )
        if not args.no_lag:
            settings.SEARCH_BACKEND = "postgres"
            if PostgresBackend().count() != n:  # --no-pg: index for the lag run (--reuse keeps one)
                PostgresBackend().drop()
                reindex_all()
            _lag(generated, args.lag_samples, extra)
    finally:
        servers.close()
        connection.set_schema_to_public()
        if not args.keep:
            _benchdb.drop_tenants(SCHEMA)
