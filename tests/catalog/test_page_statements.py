"""The dealer's product page of ``python -m bench catalog`` runs the same, small number
of SQL statements for 10 and for 100 products, routing and authentication included:
routing (1: the domain's tenant and its search_path in one statement), the user (1),
the products with their SKUs and stock (1), the promotions and prices (1)."""

from decimal import Decimal

from django.db import connection
from django.utils import timezone

from bench.catalog import PAGE_QUERY
from core.accounts import services as accounts
from core.catalog.models import Product, Sku
from core.pricing.models import PriceList, PriceListAssignment, PriceListItem, Promotion
from core.testing.factories import (
    BrandFactory,
    CatalogueFactory,
    CategoryFactory,
    DealerUserFactory,
    StockFactory,
)
from core.testing.pytest_plugin import gql, token_for
from core.testing.queries import count_queries

PAGE_STATEMENTS = 4


def _world():
    top = CategoryFactory(slug="top")
    leaves = [CategoryFactory(slug=f"leaf-{i}", parent=top) for i in range(3)]
    outside = CategoryFactory(slug="outside")
    brands = [BrandFactory(name=f"Brand {i}") for i in range(3)]
    products = Product.objects.bulk_create(
        [
            Product(
                code=f"P{i:03d}",
                name=f"Product {i:03d}",
                category=leaves[i % 3],
                brand=brands[i % 3],
            )
            for i in range(110)
        ]
        + [Product(code=f"X{i:03d}", name=f"Hidden {i:03d}", category=outside) for i in range(5)]
    )
    skus = Sku.objects.bulk_create(
        [Sku(product=p, code=f"{p.code}-{k}", name=f"{p.name} {k}") for p in products for k in "AB"]
    )
    for sku in skus[:6]:
        StockFactory(sku=sku, on_hand=7)
    hq = accounts.create_dealer(code="HQ", name="HQ")
    dealer = accounts.create_dealer(
        code="SHOP", name="Shop", parent=hq, tier="silver", region="east"
    )
    base = PriceList.objects.create(code="BASE", name="Base", kind="base")
    tier = PriceList.objects.create(code="T-SILVER", name="Silver", kind="tier", tier="silver")
    own = PriceList.objects.create(code="D-SHOP", name="Shop", kind="dealer")
    PriceListAssignment.objects.create(price_list=own, dealer=dealer)
    items = [
        PriceListItem(price_list=base, sku=s, unit_code=s.base_unit, unit_price=Decimal("10.00"))
        for s in skus
    ]
    items += [
        PriceListItem(price_list=tier, sku=s, unit_code=s.base_unit, min_quantity=q, unit_price=p)
        for s in skus[::3]
        for q, p in ((1, Decimal("9.00")), (10, Decimal("8.00")))
    ]
    items += [
        PriceListItem(price_list=own, sku=s, unit_code=s.base_unit, unit_price=Decimal("7.00"))
        for s in skus[::7]
    ]
    PriceListItem.objects.bulk_create(items)
    now = timezone.now()
    window = {
        "starts_at": now - timezone.timedelta(days=1),
        "ends_at": now + timezone.timedelta(days=1),
    }
    Promotion.objects.bulk_create(
        [
            Promotion(
                code="CAT",
                name="Category",
                kind="percent_off",
                rule={"percent": "5"},
                category_ids=[top.pk],
                **window,
            ),
            Promotion(
                code="BRAND",
                name="Brand",
                kind="amount_off",
                rule={"amount": "0.50"},
                brand_ids=[brands[1].pk],
                priority=3,
                **window,
            ),
            Promotion(
                code="SKU",
                name="SKU",
                kind="percent_off",
                rule={"percent": "10"},
                sku_ids=[s.pk for s in skus[:40:5]],
                stackable=False,
                priority=5,
                tiers=["silver"],
                **window,
            ),
            Promotion(
                code="OTHER-REGION",
                name="West only",
                kind="percent_off",
                rule={"percent": "50"},
                category_ids=[top.pk],
                regions=["west"],
                **window,
            ),
        ]
    )
    CatalogueFactory(grants={"categories": [top], "dealers": [hq]})  # inherited by the shop
    return token_for(DealerUserFactory(dealer=dealer))


def _page(client, token, first):
    with count_queries() as q:
        _, body = gql(client, PAGE_QUERY, {"first": first, "after": None}, token=token)
    assert "errors" not in body, body
    return body["data"]["products"], q


def test_the_product_page_runs_the_same_few_statements_for_10_and_100_products(
    tenant_db, tenant_client
):
    token = _world()
    _page(tenant_client, token, 10)  # warm the validation cache and the connection
    small, q10 = _page(tenant_client, token, 10)
    large, q100 = _page(tenant_client, token, 100)
    assert len(small["edges"]) == 10 and len(large["edges"]) == 100
    assert q10.count == q100.count, f"10 products: {q10}\n100 products: {q100}"
    assert q100.count <= PAGE_STATEMENTS, str(q100)
    # What the statements bought: every SKU priced for this dealer, none hidden product shown.
    skus = [s for e in large["edges"] for s in e["node"]["skus"]]
    assert len(skus) == 200 and all(s["price"] is not None for s in skus)
    assert not any(e["node"]["code"].startswith("X") for e in large["edges"])
    by_code = {s["code"]: s for s in skus}
    own = by_code["P000-A"]  # dealer list 7.00; exclusive SKU promotion (priority 5) 10 % off
    assert Decimal(own["price"]["unitPrice"]) == Decimal("7.00")
    assert Decimal(own["price"]["promotedUnitPrice"]) == Decimal("6.30")
    assert [p["code"] for p in own["promotions"]] == ["SKU", "CAT"]
    tiered = by_code["P001-B"]  # skus[3]: the silver tier list with a break at 10
    assert [(b["minQuantity"], Decimal(b["unitPrice"])) for b in tiered["price"]["breaks"]] == [
        (1, Decimal("9.00")),
        (10, Decimal("8.00")),
    ]
    brand = by_code["P001-A"]  # base 10.00; brand 1: 0.50 off (priority 3), then the category's 5 %
    assert Decimal(brand["price"]["promotedUnitPrice"]) == Decimal("9.02")
    assert all("OTHER-REGION" not in [p["code"] for p in s["promotions"]] for s in skus)


def test_a_page_leaves_no_products_skus_or_prices_for_the_cyclic_collector(
    tenant_db, tenant_client
):
    """A page's products refer to their SKUs and back, and its prices lived on the
    request (itself in a reference cycle): garbage only the cyclic collector frees,
    which ran every few pages and cost one page 5 to 15 ms. The page releases them
    when its response is built, so refcounting frees them at once."""
    import gc

    from core.catalog.dataloaders import PriceView
    from core.pricing.selectors import ProductPrice

    token = _world()
    _page(tenant_client, token, 10)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        page, _q = _page(tenant_client, token, 50)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, Product | Sku | PriceView | ProductPrice)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert len(page["edges"]) == 50 and page["edges"][0]["node"]["skus"][0]["price"]
    assert left == [], f"{len(left)} objects left in cycles, e.g. {left[:3]}"


def test_a_pages_products_and_skus_are_what_the_orm_reads(tenant_db):
    """Products and SKUs materialised from the page's row and inline JSON (without
    Model.__init__ when no init signal listens) hold what the ORM reads, are saved as
    existing rows, and go through Django's own construction when a pre_init receiver
    listens."""
    from django.db.models.signals import pre_init

    from core.catalog.selectors import products_for_listing

    _world()
    product = products_for_listing(sort="code", with_relations=False)[0]
    fresh_product = Product.objects.get(pk=product.pk)
    assert product._state.adding is False and product._state.db == "default"
    assert [getattr(product, f.attname) for f in Product._meta.concrete_fields] == [
        getattr(fresh_product, f.attname) for f in Product._meta.concrete_fields
    ]
    assert product.category == fresh_product.category
    skus = list(product.skus.all())  # the prefetched (materialised) ones
    assert skus and all(s._state.adding is False and s._state.db == "default" for s in skus)
    fields = [f.attname for f in Sku._meta.concrete_fields]
    for sku in skus:
        fresh = Sku.objects.get(pk=sku.pk)
        assert [getattr(sku, f) for f in fields] == [getattr(fresh, f) for f in fields]
        assert sku.product is product
    skus[0].name = "Renamed on the page"
    skus[0].save(update_fields=["name"])
    assert Sku.objects.get(pk=skus[0].pk).name == "Renamed on the page"
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    pre_init.connect(receiver, sender=Sku)
    pre_init.connect(receiver, sender=Product)
    try:
        again = products_for_listing(sort="code", with_relations=False)[0]
        assert [s.pk for s in again.skus.all()] == [s.pk for s in skus]
        assert again.name == product.name
    finally:
        pre_init.disconnect(receiver, sender=Sku)
        pre_init.disconnect(receiver, sender=Product)
    assert seen.count(Sku) == len(skus) and seen.count(Product) == 1


def test_a_later_page_is_the_same_rows_skus_and_prices_in_as_few_statements(
    tenant_db, tenant_client
):
    """A page after a cursor (an OFFSET) reads its products, SKUs and prices in the
    same statements as the first page, and shows exactly the rows the longer first
    page shows there, in the same order, with the same SKUs, stock and prices."""
    token = _world()
    _page(tenant_client, token, 10)
    whole, _q = _page(tenant_client, token, 100)
    first, _q = _page(tenant_client, token, 30)
    with count_queries() as q:
        _, body = gql(
            tenant_client,
            PAGE_QUERY,
            {"first": 30, "after": first["pageInfo"]["endCursor"]},
            token=token,
        )
    assert "errors" not in body, body
    later = body["data"]["products"]
    assert q.count <= PAGE_STATEMENTS, str(q)
    assert later["pageInfo"]["hasNextPage"] is True
    assert [e["node"] for e in later["edges"]] == [e["node"] for e in whole["edges"][30:60]]
    assert any(s["available"] for e in whole["edges"][:60] for s in e["node"]["skus"])


def test_a_plain_listings_written_out_statement_reads_what_the_orm_reads(tenant_db):
    """listing_slice writes a plain listing's statement out (no ORM compilation): for
    every sort, a dealer with a catalogue, one without any on its path, no dealer, inactive
    products included or not, columns deferred or not, first, later, partial and empty
    slices, it gives the ORM's products (columns, order) and SKUs (with stock); a
    listing with a filter, or changed after it was made, is read by the ORM."""
    from core.accounts.models import Dealer
    from core.catalog.models import ProductStatus
    from core.catalog.selectors import SORTS, listing_slice, products_for_listing

    _world()
    Product.objects.filter(code__in=["P005", "P050"]).update(status=ProductStatus.DRAFT)
    shop, hq = Dealer.objects.get(code="SHOP"), Dealer.objects.get(code="HQ")
    loner = accounts.create_dealer(code="LONE", name="Lone")  # no catalogue on its path

    def facts(products):
        out = []
        for p in products:
            row = {
                k: v
                for k, v in p.__dict__.items()
                if k not in ("_state", "_prefetched_objects_cache")
            }
            skus = [
                {k: v for k, v in s.__dict__.items() if k != "_state"}
                for s in p._prefetched_objects_cache["skus"]._result_cache
            ]
            out.append((row, skus))
        return out

    checked = 0
    for dealer in (shop, hq, loner, None):
        for sort in SORTS:
            for include_inactive, defer in ((False, ["description", "tax_rate"]), (True, [])):
                listing = products_for_listing(
                    dealer=dealer,
                    sort=sort,
                    include_inactive=include_inactive,
                    with_relations=False,
                    defer=defer,
                )
                for start, stop in ((0, 11), (0, 101), (10, 21), (100, 200), (500, 510)):
                    expected = facts(listing[start:stop])
                    with count_queries() as q:
                        got = facts(listing_slice(listing, start, stop))
                    assert got == expected, (dealer, sort, include_inactive, start)
                    assert q.count == 1 and q.statements[0].startswith('SELECT p."id"')
                    checked += bool(expected)
    assert checked > 100
    # Not a plain listing, or no longer the one made: the ORM reads it.
    listing = products_for_listing(dealer=shop, sort="code", with_relations=False)
    narrowed = listing.filter(code__startswith="P00")
    searched = products_for_listing(dealer=shop, search="Product 01", with_relations=False)
    with count_queries() as q:
        assert [p.code for p in listing_slice(narrowed, 0, 50)] == [
            f"P00{i}" for i in range(10) if i != 5
        ]
        assert {p.code for p in listing_slice(searched, 0, 50)} == {f"P01{i}" for i in range(10)}
    assert q.count == 2 and not any(s.startswith('SELECT p."id"') for s in q.statements)


def test_a_prepared_page_statement_reads_the_schema_of_each_tenant(tenant, other_tenant, in_tenant):
    """The plain listing's statement is prepared once per connection; run (past the
    five runs after which PostgreSQL may keep a generic plan) in one tenant, then in
    another on the same connection, each reads its own tenant's products."""
    from core.catalog.selectors import listing_slice, products_for_listing
    from core.testing.factories import ProductFactory

    def codes():
        listing = products_for_listing(sort="code", with_relations=False)
        return [p.code for p in listing_slice(listing, 0, 10)]

    with in_tenant(tenant):
        ProductFactory(code="ALPHA-1")
    with in_tenant(other_tenant):
        ProductFactory(code="BETA-1")
    for _ in range(8):
        with in_tenant(tenant):
            assert codes() == ["ALPHA-1"]
        with in_tenant(other_tenant):
            assert codes() == ["BETA-1"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT p."id"%'],
        )
        assert cursor.fetchone()[0] >= 1  # prepared, not run plainly


def _pipelined() -> bool:
    """Whether the connection is still in pipeline mode (a statement sent ahead, unread)."""
    from psycopg import pq

    return connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def test_the_page_sends_its_pricing_statement_ahead_and_prices_as_without(
    tenant_db, tenant_client, monkeypatch
):
    """The pricing statement is sent as soon as the listing's rows are in (it runs in
    PostgreSQL while the page's objects are built) and gives the very page the
    statement run afterwards gives; the connection leaves pipeline mode with the page."""
    from core.catalog import dataloaders, schema
    from core.pricing.selectors import start_page_pricing

    token = _world()
    sent = []

    def spy(dealer, skus):
        sent.append(sorted(skus))
        return start_page_pricing(dealer, skus)

    monkeypatch.setattr(dataloaders, "_page_pricing_starter", lambda: spy)
    _page(tenant_client, token, 10)
    ahead, q_ahead = _page(tenant_client, token, 100)
    assert len(sent) == 2 and len(sent[1]) == 200
    assert not _pipelined()
    monkeypatch.setattr(schema, "send_page_prices", lambda *args: False)
    after, q_after = _page(tenant_client, token, 100)
    assert len(sent) == 2  # not sent ahead: remembered from the objects, run when read
    assert ahead == after
    assert q_ahead.count == q_after.count <= PAGE_STATEMENTS


def test_a_page_whose_prices_are_never_read_leaves_the_connection_usable(
    tenant_db, tenant_client, monkeypatch
):
    """A statement sent ahead that nothing reads (the page failed before its prices were
    resolved) is discarded when the operation ends: the next request runs normally."""
    from core.catalog import schema

    token = _world()

    def fail(info, products):
        raise RuntimeError("boom")

    monkeypatch.setattr(schema, "_put_page_prices", fail)
    _, body = gql(tenant_client, PAGE_QUERY, {"first": 20, "after": None}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    assert not _pipelined()
    monkeypatch.undo()
    page, _q = _page(tenant_client, token, 20)
    assert all(s["price"] is not None for e in page["edges"] for s in e["node"]["skus"])


def test_a_pricing_statement_sent_ahead_for_other_skus_or_another_dealer_is_not_used(
    tenant_db,
):
    """price_products_for_dealer reads a statement sent ahead only for the same dealer
    and SKUs; otherwise it discards it and prices what it was asked, as without it."""
    from core.accounts.models import Dealer
    from core.pricing.selectors import load_skus, price_products_for_dealer, start_page_pricing

    _world()
    shop, hq = Dealer.objects.get(code="SHOP"), Dealer.objects.get(code="HQ")
    ids = list(Sku.objects.order_by("id").values_list("id", flat=True)[:12])
    skus = load_skus(ids)
    expected = price_products_for_dealer(shop, ids, skus=skus)
    assert len(expected) == 12
    same = start_page_pricing(shop, skus)
    assert price_products_for_dealer(shop, ids, skus=skus, pending=same) == expected
    fewer = {i: skus[i] for i in ids[:6]}
    for pending, dealer, wanted, known in (
        (start_page_pricing(shop, fewer), shop, ids, skus),  # other SKUs
        (start_page_pricing(hq, skus), shop, ids, skus),  # another dealer
    ):
        assert price_products_for_dealer(dealer, wanted, skus=known, pending=pending) == expected
        assert not _pipelined()


def test_a_plain_listing_builds_its_orm_statement_only_when_something_reads_it(tenant_db):
    """A dealer's usual page is read by the written-out statement, so the ORM's is not
    built for it; anything that reads the queryset's ``query`` builds it, the same."""
    from core.catalog.selectors import listing_slice, products_for_listing
    from core.testing.factories import ProductFactory

    for code in ("C-2", "C-1", "C-3"):
        ProductFactory(code=code)
    listing = products_for_listing(sort="code", with_relations=False)
    page = [p.code for p in listing_slice(listing, 0, 10)]
    assert page == ["C-1", "C-2", "C-3"]
    assert listing._build is not None  # the page did not need the ORM's statement
    assert "ORDER BY" in str(listing.query) and listing._build is None
    assert [p.code for p in listing] == page == [p.code for p in listing[0:10]]
    assert listing.filter(code="C-2").count() == 1


def test_a_listed_products_skus_are_a_queryset_that_chains_like_djangos(tenant_db):
    """The SKUs a page puts on each product are what ``prefetch_related`` would leave:
    read without a statement, and a queryset that filters by its product when chained."""
    from core.catalog.selectors import listing_slice, products_for_listing
    from core.testing.factories import ProductFactory

    for code in ("K-1", "K-2"):
        product = ProductFactory(code=code)
        Sku.objects.bulk_create(
            [Sku(product=product, code=f"{code}-{k}", name=f"{code} {k}") for k in "AB"]
        )
    listing = products_for_listing(sort="code", with_relations=False)
    first, second = listing_slice(listing, 0, 10)
    with count_queries() as q:
        assert [s.code for s in first.skus.all()] == ["K-1-A", "K-1-B"]
        assert first.skus.count() == 2 and first.skus.all()[0].product is first
    assert q.count == 0
    assert [s.code for s in second.skus.filter(code__endswith="B")] == ["K-2-B"]
    assert [s.code for s in first.skus.order_by("-code")] == ["K-1-B", "K-1-A"]
    assert first.skus.all().query.where  # the product's filter, built when read


def test_a_page_past_the_end_prices_nothing(tenant_db, tenant_client):
    """No products, no SKUs: no pricing statement is sent (ahead or otherwise)."""
    from graphql_relay import offset_to_cursor

    token = _world()
    _page(tenant_client, token, 10)
    with count_queries() as q:
        _, body = gql(
            tenant_client, PAGE_QUERY, {"first": 10, "after": offset_to_cursor(500)}, token=token
        )
    assert body["data"]["products"]["edges"] == []
    assert q.count == PAGE_STATEMENTS - 1, str(q)  # routing, user, the listing
    assert not _pipelined()
