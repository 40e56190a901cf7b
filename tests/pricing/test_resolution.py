"""Which price a dealer gets, and why: a table of cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.exceptions import DomainError
from core.pricing.selectors import price_cart, price_products_for_dealer

from .conftest import add_list, line

D = Decimal


def make_lists(w, names, days):
    specs = {
        "base": dict(
            kind="base",
            prices=[
                (w.sku, "each", 1, "100"),
                (w.sku, "each", 10, "90"),
                (w.sku, "case", 1, "1100"),
            ],
        ),
        "base_hi": dict(kind="base", priority=5, prices=[(w.sku, "each", 1, "99")]),
        "tier": dict(kind="tier", tier="gold", prices=[(w.sku, "each", 1, "95")]),
        "tier_silver": dict(kind="tier", tier="silver", prices=[(w.sku, "each", 1, "60")]),
        "region": dict(
            kind="region",
            region="east",
            prices=[(w.sku, "each", 1, "92"), (w.sku, "each", 50, "80")],
        ),
        "own": dict(kind="dealer", dealers=[w.dealer], prices=[(w.sku, "each", 1, "88")]),
        "own_high_break": dict(
            kind="dealer", dealers=[w.dealer], prices=[(w.sku, "each", 100, "70")]
        ),
        "other_dealer": dict(kind="dealer", dealers=[w.sibling], prices=[(w.sku, "each", 1, "50")]),
        "parent_list": dict(kind="dealer", dealers=[w.parent], prices=[(w.sku, "each", 1, "51")]),
        "expired": dict(
            kind="dealer",
            dealers=[w.dealer],
            valid_from=days(-30),
            valid_to=days(-1),
            prices=[(w.sku, "each", 1, "10")],
        ),
        "future": dict(
            kind="dealer", dealers=[w.dealer], valid_from=days(1), prices=[(w.sku, "each", 1, "11")]
        ),
        "usd": dict(
            kind="dealer", dealers=[w.dealer], currency="USD", prices=[(w.sku, "each", 1, "5")]
        ),
        "inactive": dict(
            kind="dealer", dealers=[w.dealer], is_active=False, prices=[(w.sku, "each", 1, "7")]
        ),
    }
    for name in names:
        add_list(name.upper(), **specs[name])


NEVER = ["other_dealer", "parent_list", "expired", "future", "usd", "inactive", "tier_silver"]

CASES = [
    # lists, unit, quantity, unit price, winning list, break (in the list's unit)
    ("base only, first break", ["base"], "each", 1, "100", "BASE", 1),
    ("base, below the next break", ["base"], "each", 9, "100", "BASE", 1),
    ("base, at the break", ["base"], "each", 10, "90", "BASE", 10),
    ("base, above the break", ["base"], "each", 500, "90", "BASE", 10),
    ("higher priority base list wins", ["base", "base_hi"], "each", 1, "99", "BASE_HI", 1),
    ("tier beats base", ["base", "tier"], "each", 1, "95", "TIER", 1),
    ("region beats tier", ["base", "tier", "region"], "each", 1, "92", "REGION", 1),
    ("region's own break", ["base", "tier", "region"], "each", 50, "80", "REGION", 50),
    ("dealer's own list beats all", ["base", "tier", "region", "own"], "each", 50, "88", "OWN", 1),
    (
        "lists that must never win are skipped",
        ["base", "tier", "own", *NEVER],
        "each",
        1,
        "88",
        "OWN",
        1,
    ),
    ("only unusable lists besides base", ["base", *NEVER], "each", 1, "100", "BASE", 1),
    (
        "own list's lowest break above the quantity falls through",
        ["base", "own_high_break"],
        "each",
        5,
        "100",
        "BASE",
        1,
    ),
    (
        "own list's break reached",
        ["base", "own_high_break"],
        "each",
        100,
        "70",
        "OWN_HIGH_BREAK",
        100,
    ),
    ("case priced directly", ["base"], "case", 2, "1100", "BASE", 1),
    ("case from a list's each price", ["tier"], "case", 2, "1140", "TIER", 1),
    ("case judged on base units for breaks", ["region"], "case", 5, "960", "REGION", 50),
]


@pytest.mark.parametrize(
    ("label", "lists", "unit", "qty", "price", "winner", "brk"), CASES, ids=[c[0] for c in CASES]
)
def test_price_resolution(world, days, label, lists, unit, qty, price, winner, brk):
    make_lists(world, lists, days)
    factor = 12 if unit == "case" else 1
    cart = price_cart(dealer=world.dealer, lines=[line(world.sku, qty, unit, factor)])
    priced = cart.lines[0]
    assert priced.unit_price == D(price)
    assert priced.source.price_list_code == winner
    assert priced.quantity_break == brk
    assert winner in priced.source.explanation
    assert priced.gross == D(price) * qty
    assert cart.currency == "CNY" and priced.currency == "CNY"


def test_no_price_names_the_line(world, days):
    make_lists(world, ["other_dealer", "usd"], days)
    with pytest.raises(DomainError) as exc:
        price_cart(dealer=world.dealer, lines=[line(world.sku2, 1), line(world.sku, 1)])
    assert exc.value.code == "NO_PRICE" and exc.value.field == "lines.0"


def test_sibling_and_parent_get_their_own_lists(world, days):
    make_lists(world, ["base", "own", "other_dealer", "parent_list"], days)
    prices = {
        d.code: price_cart(dealer=d, lines=[line(world.sku, 1)]).lines[0].unit_price
        for d in (world.dealer, world.sibling, world.parent)
    }
    assert prices == {"SHOP-A": D("88"), "SHOP-B": D("50"), "HQ": D("51")}


def test_a_dealer_in_another_currency_uses_only_lists_in_its_currency(world, days):
    make_lists(world, ["base", "usd"], days)
    world.dealer.currency = "USD"
    world.dealer.save()
    cart = price_cart(dealer=world.dealer, lines=[line(world.sku, 3)])
    assert cart.currency == "USD" and cart.lines[0].unit_price == D("5")
    assert cart.total == D("15.00")


def test_listing_prices_with_breaks_and_source(world, days):
    make_lists(world, ["base", "region", "other_dealer"], days)
    result = price_products_for_dealer(world.dealer, [world.sku.pk, world.sku2.pk])
    assert set(result) == {world.sku.pk}  # sku2 has no price for this dealer
    p = result[world.sku.pk]
    assert p.unit_price == D("92") and p.currency == "CNY" and p.source.price_list_code == "REGION"
    assert [(b.min_quantity, b.unit_price) for b in p.breaks] == [(1, D("92")), (50, D("80"))]
