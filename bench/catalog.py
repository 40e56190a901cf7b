"""Catalogue benchmark: ``python -m bench catalog [--quick] [--skus N] [--dealers N] [--requests N]``.

A dealer's product page through the GraphQL endpoint, in-process (Django's
test client on the tenant's host, so routing, authentication, the schema and
every SQL statement count), on a tenant with 100,000 SKUs (50,000 products
with 2 SKUs and 2 units each), 2,000 dealers in a tree, a base list pricing
every SKU, tier, region and dealer lists with quantity breaks, 200 active
promotions, stock in two warehouses and an authorised catalogue for the
measured dealer. ``--quick``: 10,000 SKUs and 200 dealers.

Figures: ``page_p95_ms`` (50 products per page, with each SKU's price, breaks,
promotions and availability), ``page_p95_ms_10`` / ``page_p95_ms_100``, and
``page_sql_statements_10`` / ``_50`` / ``_100`` (statements per request, the most
of ten requests, counted with CaptureQueriesContext on requests of their own: the
timed requests, 200 per page size by default, run without that bookkeeping).
Requests browse as a dealer does: nine pages forward with the cursor, then from
the start. Targets: p95 ≤ 30 ms, ≤ 6 statements.
The time figures also carry ``cpu_p50``/``cpu_p95``: the process's CPU time per
request, which other load on a shared machine distorts less than wall time.
Data lives in the separate database ``dinghuo_bench_catalog``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from decimal import Decimal

from bench import _benchdb
from bench.common import emit, load_average, log, percentile, setup_django

BENCH = "catalog"
WARM_UP = 3  # untimed requests per page size
COUNTED = 10  # requests per page size whose SQL statements are counted
PAGE_QUERY = """query Page($first: Int!, $after: String) {
  products(first: $first, after: $after, sortBy: NAME) {
    pageInfo { hasNextPage endCursor }
    edges { node { id code name isAvailable
      skus { code available minOrderQty orderMultiple
        price { unitPrice promotedUnitPrice currency breaks { minQuantity unitPrice } }
        promotions { code name kind } } } } } }"""


def _generate(n_skus: int, n_dealers: int, n_promotions: int, rng: random.Random) -> dict:
    from django.utils import timezone

    from core.accounts.models import Dealer
    from core.catalog.models import Brand, Catalogue, Category, Product, Sku, SkuUnit
    from core.inventory.models import Stock, Warehouse
    from core.pricing.models import PriceList, PriceListAssignment, PriceListItem, Promotion

    root = Category.objects.create(name="All", slug="all")
    tops = [
        Category.objects.create(name=f"Top {i}", slug=f"top-{i}", parent=root) for i in range(20)
    ]
    leaves = [
        Category.objects.create(name=f"Leaf {i}-{j}", slug=f"leaf-{i}-{j}", parent=top)
        for i, top in enumerate(tops)
        for j in range(5)
    ]
    brands = Brand.objects.bulk_create([Brand(name=f"Brand {i}") for i in range(50)])
    warehouses = [Warehouse.objects.create(code=f"W{i}", name=f"Warehouse {i}") for i in range(2)]
    n_products = n_skus // 2
    batch = 5000
    sku_ids: list[int] = []
    for start in range(0, n_products, batch):
        products = Product.objects.bulk_create(
            [
                Product(
                    code=f"P{i:07d}",
                    name=f"Product {rng.randint(0, 10**6):06d} {i}",
                    category=rng.choice(leaves),
                    brand=rng.choice(brands),
                )
                for i in range(start, min(n_products, start + batch))
            ]
        )
        skus = Sku.objects.bulk_create(
            [
                Sku(
                    product=p,
                    code=f"{p.code}-{k}",
                    name=f"{p.name} {k}",
                    min_order_qty=1,
                    order_multiple=1,
                )
                for p in products
                for k in "AB"
            ]
        )
        SkuUnit.objects.bulk_create(
            [SkuUnit(sku=s, code="each", factor=1) for s in skus]
            + [SkuUnit(sku=s, code="case", factor=12) for s in skus]
        )
        Stock.objects.bulk_create(
            [
                Stock(sku=s, warehouse=w, on_hand=rng.randint(0, 50))
                for s in skus
                for w in warehouses
            ]
        )
        sku_ids.extend(s.pk for s in skus)
        log(f"  products {min(n_products, start + batch)}/{n_products}")
    # Dealers: HQ → 10 regions → shops; paths set here because bulk_create skips save().
    hq = Dealer.objects.create(code="HQ", name="HQ", tier="platinum", region="national")
    regions_ = ["east", "west", "north", "south", "central", "ne", "nw", "se", "sw", "hk"]
    regional = [
        Dealer.objects.create(code=f"R-{r}", name=f"Region {r}", parent=hq, tier="gold", region=r)
        for r in regions_
    ]
    shops = Dealer.objects.bulk_create(
        [
            Dealer(
                code=f"S{i:05d}",
                name=f"Shop {i}",
                parent=regional[i % 10],
                tier=rng.choice(["silver", "bronze"]),
                region=regional[i % 10].region,
                depth=2,
            )
            for i in range(max(0, n_dealers - 11))
        ]
    )
    for shop in shops:
        shop.path = f"{shop.parent.path}{shop.pk}/"
    Dealer.objects.bulk_update(shops, ["path"], batch_size=2000)
    dealer = shops[0]
    # Prices: a base list for every SKU; tier and region lists with breaks for some; a dealer list.
    base = PriceList.objects.create(code="BASE", name="Base", kind="base")
    lists = [base]
    for tier in ("silver", "bronze"):
        lists.append(PriceList.objects.create(code=f"T-{tier}", name=tier, kind="tier", tier=tier))
    for region in regions_[:3]:
        lists.append(
            PriceList.objects.create(code=f"R-{region}", name=region, kind="region", region=region)
        )
    own = PriceList.objects.create(code="D-1", name="Dealer list", kind="dealer")
    PriceListAssignment.objects.create(price_list=own, dealer=dealer)
    for start in range(0, len(sku_ids), 20000):
        chunk = sku_ids[start : start + 20000]
        items = [
            PriceListItem(
                price_list=base,
                sku_id=s,
                unit_code="each",
                min_quantity=1,
                unit_price=Decimal(rng.randint(100, 10000)) / 100,
            )
            for s in chunk
        ]
        for pl in lists[1:]:
            for s in rng.sample(chunk, len(chunk) // 5):
                price = Decimal(rng.randint(100, 9000)) / 100
                items += [
                    PriceListItem(
                        price_list=pl, sku_id=s, unit_code="each", min_quantity=1, unit_price=price
                    ),
                    PriceListItem(
                        price_list=pl,
                        sku_id=s,
                        unit_code="each",
                        min_quantity=10,
                        unit_price=price * Decimal("0.9"),
                    ),
                    PriceListItem(
                        price_list=pl,
                        sku_id=s,
                        unit_code="each",
                        min_quantity=100,
                        unit_price=price * Decimal("0.8"),
                    ),
                ]
        PriceListItem.objects.bulk_create(items, batch_size=10000, ignore_conflicts=True)
    PriceListItem.objects.bulk_create(
        [
            PriceListItem(
                price_list=own,
                sku_id=s,
                unit_code="each",
                min_quantity=1,
                unit_price=Decimal("1.00"),
            )
            for s in rng.sample(sku_ids, min(500, len(sku_ids)))
        ],
        ignore_conflicts=True,
    )
    now = timezone.now()
    Promotion.objects.bulk_create(
        [
            Promotion(
                code=f"PROMO{i:03d}",
                name=f"Promotion {i}",
                kind=rng.choice(["percent_off", "amount_off"]),
                rule={"percent": "5"} if i % 2 else {"amount": "0.50"},
                priority=rng.randint(0, 10),
                stackable=bool(i % 3),
                starts_at=now - timezone.timedelta(days=1),
                ends_at=now + timezone.timedelta(days=30),
                category_ids=[rng.choice(leaves).pk] if i % 4 == 0 else [],
                brand_ids=[rng.choice(brands).pk] if i % 4 == 1 else [],
                sku_ids=rng.sample(sku_ids, 5) if i % 4 == 2 else [],
                product_ids=[],
                tiers=["silver", "bronze"] if i % 5 == 0 else [],
                regions=[rng.choice(regions_)] if i % 7 == 0 else [],
            )
            for i in range(n_promotions)
        ]
    )
    # The measured dealer may buy 12 of the 20 top categories (with their leaves) and 5 brands.
    catalogue = Catalogue.objects.create(name="Bench catalogue")
    catalogue.categories.set(tops[:12])
    catalogue.brands.set(brands[:5])
    catalogue.dealers.set([regional[0]])  # its region's catalogue, inherited by the shop
    # What autovacuum leaves loaded tables in production, which the page's plans count
    # on: statistics, and the visibility map that lets the listing read a later page's
    # ids from an index alone (an index-only scan reads the table while it is unset).
    with __import__("django.db").db.connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return {"dealer": dealer}


def _pages(client, token: str, first: int, requests: int):
    """Request ``requests`` pages of ``first`` products as a dealer browses: nine pages
    forward with the cursor, then from the start again. Yields each request's server
    time, CPU time and response; the caller decides what to keep."""
    after = None
    for i in range(requests):
        body = json.dumps({"query": PAGE_QUERY, "variables": {"first": first, "after": after}})
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.post(
            "/graphql/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        elapsed = (time.perf_counter() - t0) * 1000
        cpu_ms = (time.process_time() - c0) * 1000
        # Decoded here rather than with response.json(), which keeps the decoded page on
        # the test client's response, an object in a reference cycle: that garbage of the
        # client's, collected during some later request, was counted as server time.
        data = json.loads(response.content)
        if response.status_code != 200 or data.get("errors"):
            raise RuntimeError(f"page failed: {str(data)[:500]}")
        page = data["data"]["products"]
        yield elapsed, cpu_ms
        after = (
            page["pageInfo"]["endCursor"]
            if page["pageInfo"]["hasNextPage"] and (i + 1) % 10
            else None
        )


def _measure(
    client, token: str, first: int, requests: int
) -> tuple[list[float], list[int], list[float]]:
    """Timed requests, then (separately) requests whose statements are counted.

    The counting (CaptureQueriesContext: Django's debug cursor formats every statement
    it runs) is not part of what a server does, so timed requests run without it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, cpu = [], []
    for i, (elapsed, cpu_ms) in enumerate(_pages(client, token, first, requests + WARM_UP)):
        if i >= WARM_UP:  # the first requests warm caches (schema, parsed query, connection)
            times.append(elapsed)
            cpu.append(cpu_ms)
    statements = []
    pages = _pages(client, token, first, COUNTED)
    for _ in range(COUNTED):  # ten pages: the first and nine after a cursor
        with CaptureQueriesContext(connection) as ctx:
            next(pages)
        statements.append(len(ctx.captured_queries))
    return times, statements, cpu


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench catalog")
    parser.add_argument("--quick", action="store_true", help="10,000 SKUs and 200 dealers")
    parser.add_argument("--skus", type=int)
    parser.add_argument("--dealers", type=int)
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page size")
    parser.add_argument("--keep", action="store_true", help="keep the generated tenant for a rerun")
    parser.add_argument("--reuse", action="store_true", help="measure a tenant kept by --keep")
    args = parser.parse_args(argv)
    n_skus = args.skus or (10_000 if args.quick else 100_000)
    n_dealers = args.dealers or (200 if args.quick else 2_000)
    _benchdb.use_bench_database("dinghuo_bench_catalog")
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from core.accounts.models import Role
    from core.accounts.services import create_user, issue_token
    from tenants.services import provision_tenant

    settings.DEBUG = False
    from core.accounts.models import User
    from tenants.models import Tenant

    extra = {
        "quick": args.quick,
        "skus": n_skus,
        "dealers": n_dealers,
        "promotions": args.promotions,
        "load_average": load_average(),
    }
    tenant = Tenant.objects.filter(schema_name="bench_catalog").first() if args.reuse else None
    if tenant is None:
        _benchdb.prepare()
        _benchdb.drop_tenants("bench_catalog")
        tenant = provision_tenant(name="Bench catalogue", subdomain="bench-catalog")
        connection.set_tenant(tenant)
        rng = random.Random(11)
        log(
            f"bench catalog: generating {n_skus} SKUs, {n_dealers} dealers, {args.promotions} promotions…"
        )
        t0 = time.perf_counter()
        made = _generate(n_skus, n_dealers, args.promotions, rng)
        log(f"  generated in {time.perf_counter() - t0:.1f}s")
        buyer = create_user(
            username="bench-buyer",
            password="Bench-Pass-2026!",
            role=Role.DEALER_BUYER,
            dealer=made["dealer"],
            validate=False,
        )
    else:
        from django.core.management import call_command

        # The kept tenant may predate the code's migrations (the listing's indexes).
        call_command("migrate_schemas", schema_name="bench_catalog", interactive=False, verbosity=0)
        connection.set_tenant(tenant)
        buyer = User.objects.get(username="bench-buyer")
    token = issue_token(buyer).token
    host = tenant.get_primary_domain().domain
    client = Client(HTTP_HOST=host)
    try:
        results = {}
        for first in (10, 50, 100):
            times, statements, cpu = _measure(client, token, first, args.requests)
            connection.set_tenant(tenant)
            results[first] = (times, statements)
            extra["load_average"] = load_average()  # the minute these requests ran in
            metric = "page_p95_ms" if first == 50 else f"page_p95_ms_{first}"
            # cpu_*: this process's CPU time per request (the server's own work, less
            # sensitive than wall time to other load on the machine; excludes PostgreSQL).
            emit(
                BENCH,
                metric,
                percentile(times, 95),
                "ms",
                p50=round(percentile(times, 50), 2),
                cpu_p50=round(percentile(cpu, 50), 2),
                cpu_p95=round(percentile(cpu, 95), 2),
                n=len(times),
                products_per_page=first,
                target_ms=30,
                **extra,
            )
        for first in (10, 50, 100):
            statements = results[first][1]
            emit(
                BENCH,
                f"page_sql_statements_{first}",
                max(statements),
                "statements",
                min=min(statements),
                products_per_page=first,
                target=6,
                **extra,
            )
    finally:
        connection.set_schema_to_public()
        if not args.keep:
            _benchdb.drop_tenants("bench_catalog")
