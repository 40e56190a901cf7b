"""What enabled plugins cost an order, in SQL statements, through the order service.

The plugins' order hooks read their facts for the whole order at once (the
built-in plugins' per-SKU facts in one statement for all of them, whatever the
number of lines) and read the tenant's settings only when one of the order's
SKUs is theirs. Counts include what runs once the order commits (the plugins'
``order_event``).
"""

import datetime
from decimal import Decimal

import pytest
from django.test import TestCase

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
    """The SQL statements of placing one order of ``codes`` with ``modules`` enabled,
    with what runs after it commits (``order_event``)."""
    tenant.modules = list(modules)
    tenant.__dict__.pop("_plugin_settings_cache", None)  # a new request: a fresh tenant object
    with count_queries() as q, TestCase.captureOnCommitCallbacks(execute=True):
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


def test_all_plugins_on_ordinary_skus_cost_one_statement(plain_shop):
    """Every built-in plugin enabled, an order of SKUs none of them has records for: one
    statement more than with no plugin (their facts), whatever the number of lines, and
    nothing after the commit: no batch lock, licence, settings or reservation query."""
    tenant, dealer, buyer, skus = plain_shop
    codes = [s.code for s in skus]
    names = get_manager().names
    assert {"autoparts", "electronics", "food", "pharma"} <= set(names)
    for n in (1, 10):
        none = _statements(tenant, dealer, buyer, [], codes[:n], f"none-{n}")
        every = _statements(tenant, dealer, buyer, names, codes[:n], f"all-{n}")
        assert len(every) == len(none) + 1, f"{n} lines: {every}"
        extra = [s for s in every if s not in none and "orders_order" not in s]
        (facts,) = [s for s in every if '"pharma_' in s or '"food_' in s]
        assert facts in extra
        for table in ('"pharma_batch"', '"food_casepolicy"', '"electronics_reelrule"'):
            assert table in facts
        assert not any(SETTINGS_TABLE in s for s in every)
        assert not any('"orders_allocation"' in s for s in every), "order_event read allocations"


def test_pharma_alone_on_ordinary_skus_costs_its_facts_and_nothing_after_commit(plain_shop):
    tenant, dealer, buyer, skus = plain_shop
    codes = [s.code for s in skus]
    base = _statements(tenant, dealer, buyer, [], codes, "none")
    statements = _statements(tenant, dealer, buyer, ["pharma"], codes, "pharma")
    assert len(statements) == len(base) + 1, statements
    (facts,) = [s for s in statements if '"pharma_' in s]
    assert '"pharma_batch"' in facts and '"pharma_controlledcategory"' in facts
    assert "FOR UPDATE" not in facts


def test_pharma_skus_in_the_order_still_cost_a_fixed_number_of_statements(plain_shop):
    """With batch-tracked SKUs the order locks and reserves their batches and records
    the reservations after the commit: a fixed count, whatever the number of lines."""
    from plugins.pharma.models import BatchReservation
    from plugins.pharma.services import receive_batch, today

    tenant, dealer, buyer, skus = plain_shop
    east = skus[0].stocks.first().warehouse
    for sku in skus:
        receive_batch(
            sku=sku,
            warehouse=east,
            lot=f"L-{sku.code}",
            manufactured_on=today() - datetime.timedelta(days=30),
            expires_on=today() + datetime.timedelta(days=400),
            quantity=100,
        )
    codes = [s.code for s in skus]
    few = _statements(tenant, dealer, buyer, ["pharma"], codes[:2], "few")
    many = _statements(tenant, dealer, buyer, ["pharma"], codes, "many")
    assert len(few) == len(many), many
    assert BatchReservation.objects.count() == 12


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


def test_pharma_on_an_order_without_batches_costs_one_query_per_later_event(plain_shop):
    """Cancelling or shipping an order that took no batch: pharma's ``order_event``
    reads the order's allocations once and stops (nothing to release or ship)."""
    from core.testing.factories import UserFactory

    tenant, dealer, buyer, skus = plain_shop
    staff = UserFactory(role="staff", is_staff=True)
    codes = [s.code for s in skus[:3]]

    def placed(key):
        tenant.modules = []
        lines = [LineInput(code, 2) for code in codes]
        return services.place_order(
            dealer=dealer, user=buyer, lines=lines, channel="web", idempotency_key=key
        ).order

    def statements(modules, action, order):
        tenant.modules = list(modules)
        tenant.__dict__.pop("_plugin_settings_cache", None)
        with count_queries() as q, TestCase.captureOnCommitCallbacks(execute=True):
            action(order)
        # Savepoints: the test's enclosing transaction turns each plugin call's own
        # transaction (it runs after the commit) into a savepoint.
        return [s for s in q.statements if "SAVEPOINT" not in s]

    for key, act in (
        ("cancel", lambda order: services.cancel_order(order=order, user=buyer)),
        (
            "ship",
            lambda order: services.ship(
                shipment=order.shipments.get(), user=staff, carrier="SF", tracking_number="SF1"
            ),
        ),
    ):
        plain, with_pharma = placed(f"{key}-none"), placed(f"{key}-pharma")
        none = statements([], act, plain)
        pharma = statements(["pharma"], act, with_pharma)
        assert len(pharma) == len(none) + 1, f"{key}: {pharma}"
        assert '"orders_allocation"' in pharma[-1], f"{key}: {pharma[-1]}"
