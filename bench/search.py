"""Search benchmark: ``python -m bench search [--quick] [--skus N] [--no-es]``.

Generates a catalogue (one SKU per product, 10 parameters each: 5 choices, 5
numbers) in the separate ``dinghuo_bench_search`` database, then measures for
each backend: bulk indexing rate (documents/s) and the latency of a text + 3
filters + facets-on-5-attributes query at 1 and 8 concurrent clients; and the
index lag from a committed price/product change to it being searchable
(``index_now`` after commit, as the Celery task runs it, broker excluded).
Elasticsearch is the server at ``ELASTICSEARCH_URL`` or a noida-db started here.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench import _benchdb
from bench.common import emit, log, percentile, setup_django

BENCH = "search"
WORDS = ["维生素", "泡腾片", "电阻", "电容", "贴片", "精密", "钙片", "胶囊", "连接器", "传感器", "Vitamin", "Resistor",
         "Capacitor", "Sensor", "Cable", "高压", "低噪声", "工业级", "汽车级", "医用"]
CHOICES = {f"c{i}": [f"v{i}_{j}" for j in range(8)] for i in range(5)}
NUMBERS = [f"n{i}" for i in range(5)]


def _start_es() -> tuple[str, subprocess.Popen | None]:
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        return url, None
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = os.path.join(os.path.dirname(sys.executable), "noida-db")
    proc = subprocess.Popen([binary, "start", "--data-dir", tempfile.mkdtemp(prefix="bench-es-"), "--only",
                             "elasticsearch", "--elasticsearch-port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("noida-db did not start")


def _generate(n: int) -> None:
    from core.catalog.models import Brand, Category, Product, Sku
    from core.inventory.models import Stock, Warehouse

    schema = [{"code": k, "type": "choice", "label": k} for k in CHOICES] + [
        {"code": k, "type": "number", "label": k} for k in NUMBERS]
    root = Category.objects.create(name="全部", slug="all")
    cats = [Category.objects.create(name=f"类目{i}", slug=f"cat-{i}", parent=root, attribute_schema=schema)
            for i in range(20)]
    brands = [Brand.objects.create(name=f"品牌{i}") for i in range(50)]
    wh = Warehouse.objects.create(code="B1", name="Bench")
    rng = random.Random(7)
    batch = 5000
    for start in range(0, n, batch):
        products = []
        for i in range(start, min(n, start + batch)):
            attrs = {k: rng.choice(v) for k, v in CHOICES.items()}
            attrs.update({k: rng.randint(0, 1000) for k in NUMBERS})
            name = " ".join(rng.sample(WORDS, 3)) + f" {i}"
            products.append(Product(name=name, code=f"P{i:08d}", category=rng.choice(cats),
                                    brand=rng.choice(brands), attributes=attrs))
        Product.objects.bulk_create(products, batch_size=batch)
        skus = Sku.objects.bulk_create(
            [Sku(product=p, code=f"S{p.code[1:]}", name=p.name, gtin=f"69{int(p.code[1:]):011d}") for p in products],
            batch_size=batch)
        Stock.objects.bulk_create([Stock(sku=s, warehouse=wh, on_hand=rng.randint(0, 3)) for s in skus],
                                  batch_size=batch)
        log(f"  generated {min(n, start + batch)}/{n}")


def _query(rng: random.Random):
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench search")
    parser.add_argument("--quick", action="store_true", help="50,000 SKUs")
    parser.add_argument("--skus", type=int)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-es", action="store_true")
    args = parser.parse_args(argv)
    n = args.skus or (50_000 if args.quick else 1_000_000)
    _benchdb.use_bench_database("dinghuo_bench_search")
    setup_django()
    from django.db import connection, transaction

    from search.backends.elasticsearch import ElasticsearchBackend
    from search.backends.postgres import PostgresBackend
    from search.documents import build_documents, iter_product_batches
    from search.indexing import index_now
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    _benchdb.prepare()
    _benchdb.drop_tenants("bench_search")
    tenant = provision_tenant(name="Bench search", subdomain="bench-search")
    connection.set_tenant(tenant)
    extra = {"quick": args.quick, "skus": n}
    es_proc = None
    try:
        log(f"bench search: generating {n} SKUs…")
        _generate(n)
        emit(BENCH, "catalog_skus", n, "count", **extra)
        backends = [PostgresBackend()]
        if not args.no_es:
            url, es_proc = _start_es()
            backends.append(ElasticsearchBackend(url=url, prefix="bench"))
        short = {"postgres": "pg", "elasticsearch": "es"}
        for backend in backends:
            backend.drop()
            t0 = time.perf_counter()
            total = backend.rebuild(build_documents(ids)[0] for ids in iter_product_batches(1000))
            rate = total / (time.perf_counter() - t0)
            emit(BENCH, f"{short[backend.name]}_index_docs_per_s", rate, "docs/s", includes="building documents",
                 **extra)
            if backend.name == "postgres":
                with connection.cursor() as c:
                    c.execute("ANALYZE search_searchdocument")
            try:
                _latency(backend, tenant, 1, 20)  # warm up
            except Exception as exc:  # noqa: BLE001 - e.g. a test server too slow at this size
                emit(BENCH, f"{short[backend.name]}_p95_ms_1_client", float("nan"), "ms",
                     error=repr(exc)[:200], **extra)
                continue
            for clients in (1, 8):
                times = _latency(backend, tenant, clients, args.queries)
                emit(BENCH, f"{short[backend.name]}_p95_ms_{clients}_client{'s' if clients > 1 else ''}",
                     percentile(times, 95), "ms", p50=round(percentile(times, 50), 2), n=len(times),
                     target_ms=50 if (backend.name == "postgres" and clients == 1) else None, **extra)
        # Index lag: commit a change, then index it as the task does; measured to searchable.
        from django.conf import settings

        settings.SEARCH_BACKEND = "postgres"
        from core.catalog.models import Product
        from search import search
        from search.query import SearchQuery

        lags = []
        ids = list(Product.objects.values_list("id", flat=True)[:50])
        for i, pid in enumerate(ids):
            marker = f"lagmark{i}x"
            with transaction.atomic():
                Product.objects.filter(id=pid).update(description=marker)
            committed = time.perf_counter()
            index_now([pid])
            while search(SearchQuery(text=marker)).total != 1:
                time.sleep(0.005)
            lags.append(time.perf_counter() - committed)
        emit(BENCH, "index_lag_p95_s", percentile(lags, 95), "s", p50=round(percentile(lags, 50), 4),
             target_s=2, broker="excluded (in-process, as the task runs)", **extra)
    finally:
        if es_proc is not None:
            es_proc.terminate()
        connection.set_schema_to_public()
        Tenant.objects.filter(schema_name="bench_search").exists() and _benchdb.drop_tenants("bench_search")
