"""GraphQL for the catalogue: authorised catalogues per dealer (with a parent), prices
through the pricing seam, filters, node lookups, typed mutation errors, two tenants,
and a constant number of SQL statements per page."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from core.accounts import services as accounts
from core.accounts.models import Role
from core.catalog import services
from core.catalog.models import Product, Sku
from core.testing.factories import (
    BrandFactory,
    CatalogueFactory,
    CategoryFactory,
    DealerUserFactory,
    PriceListItemFactory,
    ProductFactory,
    SkuFactory,
    StockFactory,
    UserFactory,
    valid_gtin,
)
from core.testing.pytest_plugin import gql, token_for

PRODUCTS = """query($first: Int, $search: String, $categoryId: ID, $brandIds: [ID!], $attributes: [ProductAttributeFilterInput!],
  $sortBy: ProductSort, $forDealerId: ID, $includeInactive: Boolean) {
  products(first: $first, search: $search, categoryId: $categoryId, brandIds: $brandIds, attributes: $attributes,
           sortBy: $sortBy, forDealerId: $forDealerId, includeInactive: $includeInactive) {
    totalCount edges { node { id code name isAvailable price { unitPrice currency } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Product { code } } }"
LOOKUP = """query($codes: [String!]!) { skuLookup(codes: $codes) { query sku { code } unit { code factor }
  errorCode suggestions } }"""


def codes(body):
    assert "errors" not in body, body
    return sorted(e["node"]["code"] for e in body["data"]["products"]["edges"])


@pytest.fixture
def catalog(tenant_db):
    tools = CategoryFactory(slug="tools")
    drills = CategoryFactory(slug="drills", parent=tools)
    food = CategoryFactory(slug="food")
    acme, zenith = BrandFactory(name="Acme"), BrandFactory(name="Zenith")
    p = {
        "DRILL": ProductFactory(code="DRILL", name="Cordless drill", category=drills, brand=zenith),
        "HAMMER": ProductFactory(code="HAMMER", name="Hammer", category=tools, brand=zenith),
        "TEA": ProductFactory(code="TEA", name="Green tea", category=food, brand=acme),
        "RICE": ProductFactory(code="RICE", name="Rice", category=food, brand=zenith),
        "DRAFT": ProductFactory(code="DRAFT", name="Draft thing", category=tools, status="draft"),
    }
    for code, product in p.items():
        StockFactory(
            sku=SkuFactory(product=product, code=f"{code}-1"), on_hand=0 if code == "RICE" else 5
        )
    hq = accounts.create_dealer(code="HQ", name="HQ")
    east = accounts.create_dealer(code="EAST", name="East", parent=hq)
    shop = accounts.create_dealer(code="SHOP", name="Shop", parent=east)
    west = accounts.create_dealer(code="WEST", name="West", parent=hq)
    # East (and the shop below it) may buy tools (incl. drills) and Acme; West only rice.
    CatalogueFactory(grants={"categories": [tools], "brands": [acme], "dealers": [east]})
    CatalogueFactory(grants={"products": [p["RICE"]], "dealers": [west]})
    return {
        "products": p,
        "dealers": {"HQ": hq, "EAST": east, "SHOP": shop, "WEST": west},
        "categories": {"tools": tools, "drills": drills, "food": food},
        "brands": {"acme": acme},
    }


def test_each_dealer_sees_only_its_authorised_catalogue(catalog, tenant_client):
    d = catalog["dealers"]
    east = token_for(DealerUserFactory(dealer=d["EAST"]))
    shop = token_for(DealerUserFactory(dealer=d["SHOP"]))
    west = token_for(DealerUserFactory(dealer=d["WEST"]))
    hq = token_for(DealerUserFactory(dealer=d["HQ"]))
    staff = token_for(UserFactory(role=Role.STAFF))
    assert codes(gql(tenant_client, PRODUCTS, token=east)[1]) == ["DRILL", "HAMMER", "TEA"]
    assert codes(gql(tenant_client, PRODUCTS, token=shop)[1]) == [
        "DRILL",
        "HAMMER",
        "TEA",
    ]  # inherited
    assert codes(gql(tenant_client, PRODUCTS, token=west)[1]) == ["RICE"]
    assert codes(gql(tenant_client, PRODUCTS, token=hq)[1]) == [
        "DRILL",
        "HAMMER",
        "RICE",
        "TEA",
    ]  # none: all
    assert codes(gql(tenant_client, PRODUCTS, token=staff)[1]) == ["DRILL", "HAMMER", "RICE", "TEA"]
    assert codes(gql(tenant_client, PRODUCTS, {"includeInactive": True}, token=staff)[1]) == [
        "DRAFT",
        "DRILL",
        "HAMMER",
        "RICE",
        "TEA",
    ]
    # A dealer cannot ask for drafts.
    assert "DRAFT" not in codes(
        gql(tenant_client, PRODUCTS, {"includeInactive": True}, token=hq)[1]
    )
    # The shop's own catalogue replaces the one it inherits.
    CatalogueFactory(grants={"brands": [catalog["brands"]["acme"]], "dealers": [d["SHOP"]]})
    assert codes(gql(tenant_client, PRODUCTS, token=shop)[1]) == ["TEA"]


def test_hidden_products_are_in_no_response(catalog, tenant_client):
    west = token_for(DealerUserFactory(dealer=catalog["dealers"]["WEST"]))
    drill = catalog["products"]["DRILL"]
    _, body = gql(tenant_client, NODE, {"id": to_global_id("Product", drill.pk)}, token=west)
    assert body["data"]["node"] is None
    _, body = gql(
        tenant_client,
        NODE,
        {"id": to_global_id("Product", catalog["products"]["RICE"].pk)},
        token=west,
    )
    assert body["data"]["node"] == {"code": "RICE"}
    _, body = gql(
        tenant_client, LOOKUP, {"codes": ["DRILL-1", "RICE-1", drill.skus.get().gtin]}, token=west
    )
    rows = {r["query"]: r for r in body["data"]["skuLookup"]}
    assert rows["DRILL-1"]["sku"] is None and rows["DRILL-1"]["errorCode"] == "UNKNOWN_SKU"
    assert "DRILL-1" not in rows["DRILL-1"]["suggestions"]  # not even suggested
    assert rows["RICE-1"]["sku"] == {"code": "RICE-1"} and rows["RICE-1"]["unit"] == {
        "code": "each",
        "factor": 1,
    }
    assert rows[drill.skus.get().gtin]["sku"] is None
    _, body = gql(tenant_client, PRODUCTS, {"search": "drill"}, token=west)
    assert codes(body) == []


def test_sales_rep_views_a_covered_dealers_catalogue(catalog, tenant_client):
    d = catalog["dealers"]
    rep = UserFactory(role=Role.SALES_REP)
    d["EAST"].sales_reps.add(rep)
    token = token_for(rep)
    _, body = gql(
        tenant_client, PRODUCTS, {"forDealerId": to_global_id("Dealer", d["SHOP"].pk)}, token=token
    )
    assert codes(body) == ["DRILL", "HAMMER", "TEA"]
    _, body = gql(
        tenant_client, PRODUCTS, {"forDealerId": to_global_id("Dealer", d["WEST"].pk)}, token=token
    )
    assert (
        body["errors"][0]["extensions"]["code"] == "NOT_FOUND" and body["data"]["products"] is None
    )
    # A buyer cannot switch to another dealer's catalogue.
    buyer = token_for(DealerUserFactory(dealer=d["WEST"]))
    _, body = gql(
        tenant_client, PRODUCTS, {"forDealerId": to_global_id("Dealer", d["EAST"].pk)}, token=buyer
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_dealer_chosen_by_one_field_does_not_carry_over_to_the_next(catalog, tenant_client):
    """Two root fields in one query: only the one with ``forDealerId`` shows that
    dealer's catalogue; the other shows the rep's own (whole) view."""
    d = catalog["dealers"]
    rep = UserFactory(role=Role.SALES_REP)
    d["EAST"].sales_reps.add(rep)
    query = """query($shop: ID, $rice: ID!) {
      asShop: products(forDealerId: $shop) { edges { node { code } } }
      rice: node(id: $rice) { ... on Product { code } }
      own: products { edges { node { code } } } }"""
    variables = {
        "shop": to_global_id("Dealer", d["SHOP"].pk),
        "rice": to_global_id("Product", catalog["products"]["RICE"].pk),
    }
    _, body = gql(tenant_client, query, variables, token=token_for(rep))
    assert "errors" not in body, body
    rice = body["data"].pop("rice")
    found = {k: sorted(e["node"]["code"] for e in v["edges"]) for k, v in body["data"].items()}
    assert found == {
        "asShop": ["DRILL", "HAMMER", "TEA"],
        "own": ["DRILL", "HAMMER", "RICE", "TEA"],
    }
    # node() chose no dealer: the rep's own view, although SHOP may not buy rice.
    assert rice == {"code": "RICE"}


def test_unusual_page_arguments_are_answered_not_crashed(catalog, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    query = """query($after: String, $first: Int) {
      products(first: $first, after: $after) { edges { node { code } } } }"""
    _, body = gql(tenant_client, query, {"first": 2, "after": "not-a-cursor"}, token=staff)
    assert "errors" not in body, body
    assert len(body["data"]["products"]["edges"]) == 2
    _, body = gql(tenant_client, query, {"first": 0}, token=staff)
    assert body.get("errors") or body["data"]["products"]["edges"] == [], body
    assert all(e["extensions"]["code"] != "INTERNAL_ERROR" for e in body.get("errors", []))


def test_filters_and_sorting(catalog, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    c, b = catalog["categories"], catalog["brands"]
    assert codes(
        gql(
            tenant_client,
            PRODUCTS,
            {"categoryId": to_global_id("Category", c["tools"].pk)},
            token=staff,
        )[1]
    ) == ["DRILL", "HAMMER"]
    assert codes(
        gql(
            tenant_client,
            PRODUCTS,
            {"brandIds": [to_global_id("Brand", b["acme"].pk)]},
            token=staff,
        )[1]
    ) == ["TEA"]
    assert codes(gql(tenant_client, PRODUCTS, {"search": "HAMMER-"}, token=staff)[1]) == ["HAMMER"]
    gtin = catalog["products"]["TEA"].skus.get().gtin
    assert codes(gql(tenant_client, PRODUCTS, {"search": gtin}, token=staff)[1]) == ["TEA"]
    _, body = gql(tenant_client, PRODUCTS, {"sortBy": "NAME"}, token=staff)
    assert [e["node"]["name"] for e in body["data"]["products"]["edges"]] == [
        "Cordless drill",
        "Green tea",
        "Hammer",
        "Rice",
    ]
    _, body = gql(tenant_client, PRODUCTS, token=staff)
    available = {
        e["node"]["code"]: e["node"]["isAvailable"] for e in body["data"]["products"]["edges"]
    }
    assert available["RICE"] is False and available["TEA"] is True


def test_attribute_filters(tenant_db, tenant_client):
    cat = services.create_category(
        name="Batteries",
        slug="batteries",
        attribute_schema=[
            {"code": "voltage", "type": "number", "unit": "V"},
            {"code": "chemistry", "type": "choice", "choices": ["li-ion", "nimh"]},
        ],
    )
    for code, volts, chem in [("B12", 12, "li-ion"), ("B24", 24, "li-ion"), ("B6", 6, "nimh")]:
        services.create_product(
            code=code,
            name=code,
            category=cat,
            attributes={"voltage": f"{volts} V", "chemistry": chem},
        )
    staff = token_for(UserFactory(role=Role.STAFF))
    q = lambda f: codes(gql(tenant_client, PRODUCTS, {"attributes": f}, token=staff)[1])  # noqa: E731
    assert q([{"code": "chemistry", "eq": "li-ion"}]) == ["B12", "B24"]
    assert q([{"code": "voltage", "min": 10}]) == ["B12", "B24"]
    assert q(
        [{"code": "voltage", "min": 10, "max": 20}, {"code": "chemistry", "in": ["li-ion", "nimh"]}]
    ) == ["B12"]
    _, body = gql(
        tenant_client, PRODUCTS, {"attributes": [{"code": "Bad Code!", "eq": 1}]}, token=staff
    )
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN_ATTRIBUTE"


def test_dealer_sees_its_own_price_and_staff_none(catalog, tenant_client):
    d = catalog["dealers"]
    sku = catalog["products"]["TEA"].skus.get()
    PriceListItemFactory(sku=sku, unit_price=Decimal("12.50"))
    _, body = gql(
        tenant_client,
        PRODUCTS,
        {"search": "tea"},
        token=token_for(DealerUserFactory(dealer=d["EAST"])),
    )
    assert body["data"]["products"]["edges"][0]["node"]["price"] == {
        "unitPrice": "12.5000",
        "currency": "CNY",
    } or Decimal(body["data"]["products"]["edges"][0]["node"]["price"]["unitPrice"]) == Decimal(
        "12.50"
    )
    _, body = gql(
        tenant_client, PRODUCTS, {"search": "tea"}, token=token_for(UserFactory(role=Role.STAFF))
    )
    assert body["data"]["products"]["edges"][0]["node"]["price"] is None


def _page_statements(client, token, n):
    query = """query($n: Int) { products(first: $n) { edges { node { code isAvailable images { src }
      price { unitPrice } quantityBreaks { minQuantity } promotions { code }
      skus { code available units { code factor } price { unitPrice breaks { minQuantity unitPrice } } } } } } }"""
    with CaptureQueriesContext(connection) as ctx:
        _, body = gql(client, query, {"n": n}, token=token)
    assert "errors" not in body, body
    assert len(body["data"]["products"]["edges"]) == n
    return len(ctx.captured_queries)


def test_product_page_statements_do_not_grow_with_the_page(tenant_db, tenant_client):
    dealer = accounts.create_dealer(code="D", name="D")
    for i in range(12):
        sku = SkuFactory(product=ProductFactory(code=f"P{i:03d}"))
        StockFactory(sku=sku)
        PriceListItemFactory(sku=sku, unit_price=Decimal("3.00") + i)
    token = token_for(DealerUserFactory(dealer=dealer))
    small, large = (
        _page_statements(tenant_client, token, 3),
        _page_statements(tenant_client, token, 12),
    )
    assert small == large
    # routing (1) and auth (1), products with their SKUs, stock and units (1), images (1),
    # pricing (2: promotions and prices; the SKUs' facts come from the page)
    assert large <= 6


def test_forward_pages_follow_the_cursor(tenant_db, tenant_client):
    for i in range(5):
        SkuFactory(product=ProductFactory(code=f"P{i}", name=f"Item {i}"))
    token = token_for(UserFactory(role=Role.STAFF))
    query = """query($after: String) { products(first: 2, after: $after, sortBy: NAME) {
      pageInfo { hasNextPage endCursor } edges { node { code skus { code } } } } }"""
    seen, after = [], None
    while True:
        _, body = gql(tenant_client, query, {"after": after}, token=token)
        page = body["data"]["products"]
        seen += [e["node"]["code"] for e in page["edges"]]
        assert all(len(e["node"]["skus"]) == 1 for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["P0", "P1", "P2", "P3", "P4"]


def test_catalogues_are_per_tenant(
    catalog, tenant_client, other_tenant, other_tenant_client, in_tenant
):
    with in_tenant(other_tenant):
        staff_b = token_for(UserFactory(role=Role.STAFF))
        ProductFactory(code="BETA-ONLY")
    assert codes(gql(other_tenant_client, PRODUCTS, token=staff_b)[1]) == ["BETA-ONLY"]
    staff_a = token_for(UserFactory(role=Role.STAFF))
    assert "BETA-ONLY" not in codes(gql(tenant_client, PRODUCTS, token=staff_a)[1])


# --- mutations ------------------------------------------------------------------------------------
CREATE = """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
  product { code taxRate attributes skus { code gtin minOrderQty orderMultiple units { code factor gtin isSellable } } }
  errors { field code message } } }"""
BULK = """mutation($products: [ProductBulkInput!]!) { productBulkUpsert(products: $products) {
  created updated skusCreated errors { field code } } }"""


def test_staff_create_a_product_with_skus_and_units(tenant_db, tenant_client):
    cat = services.create_category(
        name="Drinks",
        slug="drinks",
        attribute_schema=[{"code": "volume", "type": "number", "unit": "ml", "required": True}],
    )
    staff = token_for(UserFactory(role=Role.STAFF))
    _, body = gql(
        tenant_client,
        CREATE,
        {
            "input": {
                "code": "COLA",
                "name": "Cola",
                "categoryId": to_global_id("Category", cat.pk),
                "taxRate": "0.09",
                "attributes": {"volume": "330 ml"},
                "skus": [
                    {
                        "code": "COLA-330",
                        "gtin": valid_gtin(1),
                        "minOrderQty": 24,
                        "orderMultiple": 24,
                        "units": [
                            {"code": "case", "factor": 24, "gtin": valid_gtin(2)},
                            {"code": "each", "factor": 1, "isSellable": False},
                        ],
                    }
                ],
            }
        },
        token=staff,
    )
    data = body["data"]["productCreate"]
    assert data["errors"] == []
    assert data["product"]["taxRate"] == "0.0900" and data["product"]["attributes"] == {
        "volume": 330
    }
    sku = data["product"]["skus"][0]
    assert (sku["minOrderQty"], sku["orderMultiple"]) == (24, 24)
    assert sorted((u["code"], u["factor"], u["isSellable"]) for u in sku["units"]) == [
        ("case", 24, True),
        ("each", 1, False),
    ]
    each = next(u for u in sku["units"] if u["code"] == "each")
    assert each["gtin"] == valid_gtin(1)  # the base unit carries the SKU's barcode


def test_product_errors_are_typed_and_nothing_is_saved(tenant_db, tenant_client):
    cat = services.create_category(
        name="Drinks",
        slug="drinks",
        attribute_schema=[
            {"code": "volume", "type": "number", "unit": "ml", "required": True},
            {"code": "flavour", "type": "choice", "choices": ["lemon", "lime"]},
        ],
    )
    SkuFactory(code="TAKEN-1", gtin=valid_gtin(7))
    staff = token_for(UserFactory(role=Role.STAFF))
    bad_gtin = valid_gtin(3)[:-1] + str((int(valid_gtin(3)[-1]) + 1) % 10)
    _, body = gql(
        tenant_client,
        CREATE,
        {
            "input": {
                "code": "FANTA",
                "name": "Fanta",
                "categoryId": to_global_id("Category", cat.pk),
                "taxRate": "1.5",
                "attributes": {"flavour": "orange", "colour": "red"},
                "skus": [
                    {"code": "F-1", "gtin": bad_gtin},
                    {"code": "F-2", "gtin": valid_gtin(7)},
                    {"code": "F-3", "units": [{"code": "case", "factor": 0}]},
                    {"code": "F-1"},
                ],
            }
        },
        token=staff,
    )
    errors = {(e["field"], e["code"]) for e in body["data"]["productCreate"]["errors"]}
    assert errors == {
        ("taxRate", "INVALID"),
        ("attributes.colour", "UNKNOWN_ATTRIBUTE"),
        ("attributes.volume", "REQUIRED"),
        ("attributes.flavour", "INVALID_CHOICE"),
        ("skus.0.gtin", "INVALID_GTIN"),
        ("skus.1.gtin", "GTIN_TAKEN"),
        ("skus.2.units.0.factor", "INVALID_FACTOR"),
        ("skus.3.code", "DUPLICATE"),
    }
    assert (
        not Product.objects.filter(code="FANTA").exists()
        and not Sku.objects.filter(code="F-3").exists()
    )


def test_bulk_upsert_creates_then_updates(tenant_db, tenant_client):
    CategoryFactory(slug="tools")
    BrandFactory(name="Acme")
    staff = token_for(UserFactory(role=Role.STAFF))
    products = [
        {
            "code": f"BULK-{i}",
            "name": f"Bulk {i}",
            "category": "tools",
            "brand": "acme",
            "skus": [{"code": f"BULK-{i}-A", "gtin": valid_gtin(100 + i)}],
        }
        for i in range(5)
    ]
    _, body = gql(tenant_client, BULK, {"products": products}, token=staff)
    assert body["data"]["productBulkUpsert"] == {
        "created": 5,
        "updated": 0,
        "skusCreated": 5,
        "errors": [],
    }
    products[0]["name"] = "Renamed"
    products[1]["skus"].append({"code": "BULK-1-B"})
    _, body = gql(tenant_client, BULK, {"products": products}, token=staff)
    assert body["data"]["productBulkUpsert"] == {
        "created": 0,
        "updated": 5,
        "skusCreated": 1,
        "errors": [],
    }
    assert Product.objects.get(code="BULK-0").name == "Renamed"
    products[2]["category"] = "nope"
    products[3]["skus"][0]["gtin"] = "123"
    _, body = gql(tenant_client, BULK, {"products": products}, token=staff)
    assert body["data"]["productBulkUpsert"]["errors"] == [
        {"field": "products.2.category", "code": "UNKNOWN_CATEGORY"},
        {"field": "products.3.skus.0.gtin", "code": "INVALID_GTIN"},
    ]


def test_dealers_and_unscoped_keys_cannot_change_the_catalogue(catalog, tenant_client):
    from core.accounts.services import create_api_key

    admin = token_for(DealerUserFactory(dealer=catalog["dealers"]["EAST"], role=Role.DEALER_ADMIN))
    _, body = gql(tenant_client, CREATE, {"input": {"name": "Sneaky"}}, token=admin)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    key = create_api_key(name="reader", scopes=["catalog:read"]).secret
    _, body = gql(tenant_client, CREATE, {"input": {"name": "Sneaky"}}, api_key=key)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert not Product.objects.filter(name="Sneaky").exists()


def test_the_listings_catalogue_condition_grants_what_catalogue_q_grants(catalog):
    """products_for_listing's SQL condition and catalogue_q (used by look-ups, search and
    plugins) agree for every dealer: own catalogue, inherited, product grants, none."""
    from core.catalog.selectors import catalogue_condition, catalogue_q

    loner = accounts.create_dealer(code="LONER", name="No catalogue anywhere")
    for dealer in [*catalog["dealers"].values(), loner]:
        by_q = set(Product.objects.filter(catalogue_q(dealer)).values_list("code", flat=True))
        by_sql = set(
            Product.objects.filter(catalogue_condition(dealer)).values_list("code", flat=True)
        )
        assert by_q == by_sql, dealer.code
        # and inside a subquery, where Django relabels the product table
        nested = set(
            Product.objects.filter(
                pk__in=Product.objects.filter(catalogue_condition(dealer)).values("pk")
            ).values_list("code", flat=True)
        )
        assert nested == by_q, dealer.code


def test_the_nearest_catalogue_on_the_path_wins_in_both_conditions(catalog):
    """A dealer with its own catalogue sees that one, not its parent's or the root's,
    in the listing's SQL condition as in catalogue_q (whose nearest is by depth; the
    SQL's by position in the lineage)."""
    from core.catalog.selectors import catalogue_condition, catalogue_q

    d, p = catalog["dealers"], catalog["products"]
    CatalogueFactory(grants={"products": [p["RICE"]], "dealers": [d["SHOP"]]})
    everything_at_hq = CatalogueFactory(grants={"dealers": [d["HQ"]]})
    everything_at_hq.products.set(Product.objects.all())
    seen = {}
    for code, dealer in d.items():
        by_q = set(Product.objects.filter(catalogue_q(dealer)).values_list("code", flat=True))
        by_sql = set(
            Product.objects.filter(catalogue_condition(dealer)).values_list("code", flat=True)
        )
        assert by_q == by_sql, code
        seen[code] = by_sql
    assert seen["SHOP"] == {"RICE"}  # its own, not EAST's tools and acme
    assert "RICE" not in seen["EAST"] and seen["EAST"]
    assert seen["HQ"] == set(Product.objects.values_list("code", flat=True))


def test_names_longer_than_their_columns_are_field_errors(tenant_db, tenant_client):
    """A 121-character brand, category or catalogue name: a typed error on the field,
    not an internal error from the database; nothing is saved."""
    from core.catalog.models import Brand, Catalogue, Category

    staff = token_for(UserFactory(role=Role.STAFF))
    long = "n" * 121
    mutations = {
        "brandCreate": (
            "mutation($n: String!) { brandCreate(name: $n) { errors { field code } } }",
            "name",
        ),
        "categoryCreate": (
            'mutation($n: String!) { categoryCreate(input: {name: "Tea", slug: $n}) { errors { field code } } }',
            "slug",
        ),
        "catalogueSave": (
            "mutation($n: String!) { catalogueSave(name: $n) { errors { field code } } }",
            "name",
        ),
    }
    for name, (query, field) in mutations.items():
        _, body = gql(tenant_client, query, {"n": long}, token=staff)
        assert "errors" not in body, body
        assert body["data"][name]["errors"] == [{"field": field, "code": "TOO_LONG"}]
    brand = services.create_brand(name="Acme")
    category = services.create_category(name="Tea")
    _, body = gql(
        tenant_client,
        "mutation($id: ID!, $n: String!) { brandUpdate(id: $id, name: $n) { errors { field code } } }",
        {"id": to_global_id("Brand", brand.pk), "n": long},
        token=staff,
    )
    assert body["data"]["brandUpdate"]["errors"] == [{"field": "name", "code": "TOO_LONG"}]
    _, body = gql(
        tenant_client,
        "mutation($id: ID!, $n: String!) { categoryUpdate(id: $id, input: {name: $n}) { errors { field code } } }",
        {"id": to_global_id("Category", category.pk), "n": long},
        token=staff,
    )
    assert body["data"]["categoryUpdate"]["errors"] == [{"field": "name", "code": "TOO_LONG"}]
    assert [b.name for b in Brand.objects.all()] == ["Acme"]
    assert [c.name for c in Category.objects.all()] == ["Tea"] and not Catalogue.objects.exists()


def test_a_unit_name_longer_than_its_column_is_a_field_error(tenant_db, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    query = """mutation($i: ProductCreateInput!) { productCreate(input: $i) { product { code }
      errors { field code } } }"""
    data = {
        "name": "Tea",
        "code": "TEA",
        "skus": [{"code": "TEA-1", "units": [{"code": "case", "name": "c" * 41, "factor": 6}]}],
    }
    _, body = gql(tenant_client, query, {"i": data}, token=staff)
    assert "errors" not in body, body
    assert body["data"]["productCreate"] == {
        "product": None,
        "errors": [{"field": "skus.0.units.0.name", "code": "TOO_LONG"}],
    }
    assert not Product.objects.filter(code="TEA").exists()


def test_empty_ids_name_nothing(tenant_db, tenant_client):
    staff = token_for(UserFactory(role=Role.STAFF))
    category = services.create_category(name="Tea")
    _, body = gql(
        tenant_client,
        'mutation { categoryUpdate(id: "", input: {name: "Coffee"}) { errors { field code } } }',
        token=staff,
    )
    assert "errors" not in body, body
    assert body["data"]["categoryUpdate"]["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
    _, body = gql(
        tenant_client,
        'mutation { catalogueSave(name: "Shop", dealerIds: [""]) { errors { field code } } }',
        token=staff,
    )
    assert "errors" not in body, body
    assert body["data"]["catalogueSave"]["errors"] == [{"field": "dealerIds", "code": "NOT_FOUND"}]
    category.refresh_from_db()
    from core.catalog.models import Catalogue

    assert category.name == "Tea" and not Catalogue.objects.exists()
