"""What enabled plugins cost an order, in SQL statements, through the order service.

The plugins' order hooks read their facts for the whole order at once (the
built-in plugins' per-SKU facts in one statement for all of them, whatever the
number of lines) and read the tenant's settings only when one of the order's
SKUs is theirs.
"""

from decimal import Decimal

import pytest

from core.orders import services
from core.orders.lines import LineInput
from core.testing.factories import (
    DealerFactory,
    DealerUserFactory,
    PriceListItemFactory,
    SkuFactory,
    SkuUnitFactory,
    StockFactory,
    WarehouseFactory,
)
from core.testing.queries import count_queries
from plugins.manager import get_manager

SETTINGS_TABLE = "plugins_tenantpluginconfig"


@pytest.fixture
def plain_shop(tenant_db):
    """Ten ordinary SKUs (no plugin records), priced and in stock; the tenant's modules restored."""
    tenant = tenant_db
    saved = list(tenant.modules or [])
    east = WarehouseFactory(code="EAST", region="east", priority=10)
    dealer = DealerFactory(region="east", credit_limit=Decimal("1000000"))
    buyer = DealerUserFactory(dealer=dealer)
    skus = [SkuFactory(code=f"PLAIN{i}") for i in range(10)]
    first = PriceListItemFactory(sku=skus[0], unit_price=Decimal("10.00"))
    for sku in skus[1:]:
        PriceListItemFactory(price_list=first.price_list, sku=sku, unit_price=Decimal("11.00"))
    for sku in skus:
        StockFactory(sku=sku, warehouse=east, on_hand=10_000)
    # Opens the dealer's credit account, so every measured order does the same work.
    services.place_order(
        dealer=dealer,
        user=buyer,
        lines=[LineInput("PLAIN0", 1)],
        channel="web",
        idempotency_key="w",
    )
    yield tenant, dealer, buyer, skus
    tenant.modules = saved
    tenant.__dict__.pop("_plugin_settings_cache", None)


def _statements(tenant, dealer, buyer, modules, codes, key):
    """The SQL statements of placing one order of ``codes`` with ``modules`` enabled."""
    tenant.modules = list(modules)
    tenant.__dict__.pop("_plugin_settings_cache", None)  # a new request: a fresh tenant object
    with count_queries() as q:
        services.place_order(
            dealer=dealer,
            user=buyer,
            lines=[LineInput(code, 2) for code in codes],
            channel="web",
            idempotency_key=key,
        )
    return q.statements


def test_plugins_without_records_for_the_order_cost_one_query_and_no_settings(plain_shop):
    tenant, dealer, buyer, skus = plain_shop
    codes = [s.code for s in skus]
    base = {n: len(_statements(tenant, dealer, buyer, [], codes[:n], f"none-{n}")) for n in (1, 10)}
    assert base[1] == base[10]
    # Auto parts has no order hook: it costs nothing at all.
    assert len(_statements(tenant, dealer, buyer, ["autoparts"], codes, "ap")) == base[10]
    for name in ("electronics", "food"):
        for n in (1, 10):
            statements = _statements(tenant, dealer, buyer, [name], codes[:n], f"{name}-{n}")
            extra = [s for s in statements if f'"{name}_' in s]
            assert len(statements) == base[n] + 1, f"{name}, {n} lines: {statements}"
            assert len(extra) == 1, f"{name} read more than its one set-based query: {extra}"
            assert not any(SETTINGS_TABLE in s for s in statements), (
                f"{name} read the tenant's settings for an order without its SKUs"
            )
    # Both: their facts come in one statement (plugins.orderfacts), not one each.
    statements = _statements(tenant, dealer, buyer, ["electronics", "food"], codes, "both")
    assert len(statements) == base[10] + 1, statements
    (facts,) = [s for s in statements if '"food_' in s or '"electronics_' in s]
    assert '"food_casepolicy"' in facts and '"electronics_reelrule"' in facts


def test_all_plugins_on_ordinary_skus_cost_a_fixed_number_of_statements(plain_shop):
    tenant, dealer, buyer, skus = plain_shop
    codes = [s.code for s in skus]
    names = get_manager().names
    counts = {}
    for n in (1, 10):
        none = len(_statements(tenant, dealer, buyer, [], codes[:n], f"none-{n}"))
        every = _statements(tenant, dealer, buyer, names, codes[:n], f"all-{n}")
        assert not any(SETTINGS_TABLE in s for s in every)
        counts[n] = len(every) - none
    assert counts[1] == counts[10], "a plugin's hook queries grow with the order's lines"


def test_food_and_reel_skus_cost_one_query_per_plugin_plus_settings_once(plain_shop):
    """With the plugins' own SKUs in the order: still a fixed count, and one settings read."""
    from plugins.electronics.models import ReelRule
    from plugins.food import services as food

    tenant, dealer, buyer, skus = plain_shop
    for sku in skus[:5]:
        SkuUnitFactory(sku=sku, code="case", factor=2)
        food.set_case_policy(sku=sku, policy="units")
    for sku in skus[5:]:
        ReelRule.objects.create(sku=sku, reel_quantity=2, mode="multiple")
    codes = [s.code for s in skus]
    modules = ["electronics", "food"]
    none = len(_statements(tenant, dealer, buyer, [], codes, "n"))
    few = _statements(tenant, dealer, buyer, modules, [codes[0], codes[5]], "few")
    many = _statements(tenant, dealer, buyer, modules, codes, "many")
    assert len(few) == len(many)
    assert sum(SETTINGS_TABLE in s for s in many) == 1, "settings read once for both plugins"
    # case policies and reel rules (one statement), the tenant's settings, the dealer's
    # prices of the food SKUs
    assert len(many) == none + 3, many


def test_the_enabled_plugins_of_a_tenant_cost_no_query(plain_shop):
    from plugins.manager import hooks_for

    tenant, _dealer, _buyer, _skus = plain_shop
    tenant.modules = ["electronics", "food", "pharma"]
    with count_queries(max_count=0):
        for _ in range(3):
            hooks = hooks_for(tenant)
            assert hooks.has("validate_order_lines")
    assert hooks_for(tenant) is hooks_for(list(tenant.modules))
