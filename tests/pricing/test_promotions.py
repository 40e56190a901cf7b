"""Promotions evaluated by one engine: a table of cases, then usage limits,
bad input and the query budget of price_cart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import DomainError
from core.pricing.models import Promotion, PromotionDealerUsage
from core.pricing.selectors import price_cart, price_products_for_dealer
from core.pricing.services import record_promotion_usage, release_promotion_usage, save_promotion
from core.testing.factories import SkuFactory
from core.testing.queries import count_queries

from .conftest import add_list, line

D = Decimal


@pytest.fixture
def priced(world):
    add_list(
        "BASE",
        prices=[
            (world.sku, "each", 1, "100"),
            (world.sku2, "each", 1, "50"),
            (world.sku3, "each", 1, "20"),
        ],
    )
    return world


def promo(w, code, kind, rule, **kw):
    """Targets by name: sku/sku2/sku3, product, brand, category (the parent 'Tools')."""
    targets = kw.pop("targets", ["sku"])
    data = dict(sku_ids=[], product_ids=[], category_ids=[], brand_ids=[])
    for t in targets:
        if t in ("sku", "sku2", "sku3"):
            data["sku_ids"].append(getattr(w, t).pk)
        elif t == "product":
            data["product_ids"].append(w.sku.product_id)
        elif t == "brand":
            data["brand_ids"].append(w.brand.pk)
        elif t == "category":
            data["category_ids"].append(w.category.pk)
    if kw.pop("dealer", False):
        kw["dealer_ids"] = [w.dealer.pk]
    if kw.pop("sibling", False):
        kw["dealer_ids"] = [w.sibling.pk]
    if kind in ("amount_off", "spend_threshold", "bundle_price"):
        kw.setdefault("currency", "CNY")
    if kind == "bundle_price":
        rule = {
            **rule,
            "components": [
                {"sku_id": getattr(w, s).pk, "quantity": q} for s, q in rule["components"]
            ],
        }
    if kind == "buy_x_get_y" and rule.get("get_sku"):
        rule = {
            **{k: v for k, v in rule.items() if k != "get_sku"},
            "get_sku_id": getattr(w, rule["get_sku"]).pk,
        }
    return save_promotion(code=code, name=code, kind=kind, rule=rule, **data, **kw)


ago, later = timedelta(days=-2), timedelta(days=2)

CASES = [
    # label, promotions, cart lines [(sku, qty)], expected discount, total, applied codes, free [(sku, qty)]
    (
        "percent off a SKU",
        [("P10", "percent_off", {"percent": "10"}, {})],
        [("sku", 2), ("sku2", 1)],
        "20.00",
        "230.00",
        ["P10"],
        [],
    ),
    (
        "percent off a brand",
        [("B10", "percent_off", {"percent": "10"}, {"targets": ["brand"]})],
        [("sku", 1)],
        "10.00",
        "90.00",
        ["B10"],
        [],
    ),
    (
        "category covers its subcategories",
        [("C10", "percent_off", {"percent": "10"}, {"targets": ["category"]})],
        [("sku", 1), ("sku2", 2), ("sku3", 1)],
        "20.00",
        "200.00",
        ["C10"],
        [],
    ),
    (
        "amount off per unit",
        [("A5", "amount_off", {"amount": "5"}, {"targets": ["product"]})],
        [("sku", 3)],
        "15.00",
        "285.00",
        ["A5"],
        [],
    ),
    (
        "two stackables compound",
        [
            ("S10", "percent_off", {"percent": "10"}, {"priority": 2}),
            ("S5", "percent_off", {"percent": "5"}, {"priority": 1}),
        ],
        [("sku", 1)],
        "14.50",
        "85.50",
        ["S10", "S5"],
        [],
    ),
    (
        "exclusive of higher priority applies alone",
        [
            ("X20", "percent_off", {"percent": "20"}, {"priority": 10, "stackable": False}),
            ("S10", "percent_off", {"percent": "10"}, {"priority": 5}),
        ],
        [("sku", 1)],
        "20.00",
        "80.00",
        ["X20"],
        [],
    ),
    (
        "stackable of higher priority beats an exclusive",
        [
            ("X20", "percent_off", {"percent": "20"}, {"priority": 1, "stackable": False}),
            ("S10", "percent_off", {"percent": "10"}, {"priority": 5}),
        ],
        [("sku", 1)],
        "10.00",
        "90.00",
        ["S10"],
        [],
    ),
    (
        "exclusive that does not apply does not block",
        [
            (
                "X20",
                "percent_off",
                {"percent": "20"},
                {"priority": 10, "stackable": False, "targets": ["sku3"]},
            ),
            ("S10", "percent_off", {"percent": "10"}, {"priority": 5}),
        ],
        [("sku", 1)],
        "10.00",
        "90.00",
        ["S10"],
        [],
    ),
    (
        "spend threshold met",
        [("T5", "spend_threshold", {"threshold": "500", "percent": "5"}, {"targets": []})],
        [("sku", 6)],
        "30.00",
        "570.00",
        ["T5"],
        [],
    ),
    (
        "spend threshold not met",
        [("T5", "spend_threshold", {"threshold": "500", "percent": "5"}, {"targets": []})],
        [("sku", 4)],
        "0",
        "400.00",
        [],
        [],
    ),
    (
        "threshold judged after line discounts",
        [
            ("P10", "percent_off", {"percent": "10"}, {}),
            ("T50", "spend_threshold", {"threshold": "500", "amount": "50"}, {"targets": []}),
        ],
        [("sku", 5)],
        "50.00",
        "450.00",
        ["P10"],
        [],
    ),
    (
        "buy 10 get 1 free, same SKU",
        [("BX", "buy_x_get_y", {"buy_quantity": 10, "get_quantity": 1}, {})],
        [("sku", 25)],
        "0",
        "2500.00",
        ["BX"],
        [("sku", 2)],
    ),
    (
        "buy 2 get 1 of another SKU",
        [("BY", "buy_x_get_y", {"buy_quantity": 2, "get_quantity": 1, "get_sku": "sku3"}, {})],
        [("sku", 4)],
        "0",
        "400.00",
        ["BY"],
        [("sku3", 2)],
    ),
    (
        "bundle price",
        [("BN", "bundle_price", {"components": [("sku", 1), ("sku2", 2)], "price": "180"}, {})],
        [("sku", 1), ("sku2", 3)],
        "20.00",
        "230.00",
        ["BN"],
        [],
    ),
    (
        "bundle needs every component",
        [("BN", "bundle_price", {"components": [("sku", 1), ("sku3", 1)], "price": "100"}, {})],
        [("sku", 2)],
        "0",
        "200.00",
        [],
        [],
    ),
    (
        "targeted at the dealer",
        [("D10", "percent_off", {"percent": "10"}, {"dealer": True})],
        [("sku", 1)],
        "10.00",
        "90.00",
        ["D10"],
        [],
    ),
    (
        "targeted at another dealer",
        [("O10", "percent_off", {"percent": "10"}, {"sibling": True})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
    (
        "targeted at the dealer's region",
        [("R10", "percent_off", {"percent": "10"}, {"regions": ["east"]})],
        [("sku", 1)],
        "10.00",
        "90.00",
        ["R10"],
        [],
    ),
    (
        "targeted at another tier",
        [("T10", "percent_off", {"percent": "10"}, {"tiers": ["silver"]})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
    (
        "expired",
        [("E10", "percent_off", {"percent": "10"}, {"starts_at": -5, "ends_at": -1})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
    (
        "not started",
        [("F10", "percent_off", {"percent": "10"}, {"starts_at": 1})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
    (
        "inactive",
        [("I10", "percent_off", {"percent": "10"}, {"is_active": False})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
    (
        "amount in another currency",
        [("U5", "amount_off", {"amount": "5"}, {"currency": "USD"})],
        [("sku", 1)],
        "0",
        "100.00",
        [],
        [],
    ),
]


@pytest.mark.parametrize(
    ("label", "promos", "cart", "discount", "total", "applied", "free"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_promotions(priced, label, promos, cart, discount, total, applied, free):
    w = priced
    ids = {}
    for code, kind, rule, kw in promos:
        kw = dict(kw)
        for key in ("starts_at", "ends_at"):
            if key in kw:
                kw[key] = timezone.now() + timedelta(days=kw[key])
        ids[promo(w, code, kind, rule, **kw).pk] = code
    result = price_cart(dealer=w.dealer, lines=[line(getattr(w, s), q) for s, q in cart])
    assert result.discount == D(discount)
    assert result.total == D(total)
    assert sorted(ids[i] for i in result.promotion_ids) == sorted(applied)
    assert [(f.sku_id, f.base_quantity) for f in result.free_lines] == [
        (getattr(w, s).pk, q) for s, q in free
    ]
    assert result.subtotal - result.discount == result.total
    assert sum((ln.total for ln in result.lines), D(0)) - result.order_discount == result.total


def test_free_goods_carry_their_value(priced):
    promo(priced, "BY", "buy_x_get_y", {"buy_quantity": 2, "get_quantity": 1, "get_sku": "sku3"})
    cart = price_cart(dealer=priced.dealer, lines=[line(priced.sku, 2)])
    (free,) = cart.free_lines
    assert (free.unit_code, free.unit_price, free.value, free.promotion_code) == (
        "each",
        D("20"),
        D("20.00"),
        "BY",
    )


def test_listing_shows_promotions_and_promoted_price(priced):
    promo(priced, "B10", "percent_off", {"percent": "10"}, targets=["brand"])
    promo(priced, "O10", "percent_off", {"percent": "50"}, targets=["brand"], sibling=True)
    prices = price_products_for_dealer(priced.dealer, [priced.sku.pk, priced.sku3.pk])
    assert [p.code for p in prices[priced.sku.pk].promotions] == ["B10"]
    assert prices[priced.sku.pk].promoted_unit_price == D("90.00")
    assert prices[priced.sku3.pk].promotions == () and prices[
        priced.sku3.pk
    ].promoted_unit_price == D("20")


# --- usage limits -----------------------------------------------------------------------
def test_usage_limits_total_and_per_dealer(priced):
    p = promo(
        priced, "LIM", "percent_off", {"percent": "10"}, usage_limit=2, usage_limit_per_dealer=1
    )
    record_promotion_usage(dealer=priced.dealer, promotion_ids=[p.pk], reference="SO-1")
    record_promotion_usage(
        dealer=priced.dealer, promotion_ids=[p.pk], reference="SO-1"
    )  # idempotent
    with pytest.raises(DomainError) as exc:
        record_promotion_usage(dealer=priced.dealer, promotion_ids=[p.pk], reference="SO-2")
    assert exc.value.code == "PROMOTION_EXHAUSTED" and exc.value.params["promotion_id"] == p.pk
    # The dealer no longer gets it; the sibling still does, once, then nobody.
    assert price_cart(dealer=priced.dealer, lines=[line(priced.sku, 1)]).promotion_ids == ()
    assert price_cart(dealer=priced.sibling, lines=[line(priced.sku, 1)]).promotion_ids == (p.pk,)
    record_promotion_usage(dealer=priced.sibling, promotion_ids=[p.pk], reference="SO-3")
    p.refresh_from_db()
    assert p.used_count == 2
    with pytest.raises(DomainError):
        record_promotion_usage(dealer=priced.parent, promotion_ids=[p.pk], reference="SO-4")
    assert price_cart(dealer=priced.parent, lines=[line(priced.sku, 1)]).promotion_ids == ()
    # Cancelling an order gives its use back.
    assert release_promotion_usage(reference="SO-1") == 1
    assert release_promotion_usage(reference="SO-1") == 0
    p.refresh_from_db()
    assert p.used_count == 1
    assert PromotionDealerUsage.objects.get(promotion=p, dealer=priced.dealer).used_count == 0


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "rule", "kw", "code", "field"),
    [
        ("percent_off", {"percent": "10"}, {"targets": []}, "NO_TARGET", "targets"),
        (
            "buy_x_get_y",
            {"buy_quantity": 2, "get_quantity": 1},
            {"targets": []},
            "NO_TARGET",
            "targets",
        ),
        ("bundle_price", {"components": [], "price": "10"}, {}, "NO_TARGET", "rule.components"),
        ("percent_off", {"percent": "120"}, {}, "INVALID_RULE", "rule.percent"),
        ("percent_off", [10], {}, "INVALID_RULE", "rule"),
        ("percent_off", {"percent": "-1"}, {}, "INVALID_RULE", "rule.percent"),
        ("amount_off", {"amount": "5"}, {"currency": ""}, "INVALID_CURRENCY", "currency"),
        ("amount_off", {"amount": "5.001"}, {}, "INVALID_AMOUNT", "rule.amount"),
        (
            "spend_threshold",
            {"threshold": "100", "percent": "5", "amount": "3"},
            {"targets": []},
            "INVALID_RULE",
            "rule.percent",
        ),
        (
            "percent_off",
            {"percent": "10"},
            {"starts_at": 2, "ends_at": 1},
            "INVALID_DATES",
            "ends_at",
        ),
    ],
)
def test_bad_promotions_are_typed_errors_and_save_nothing(priced, kind, rule, kw, code, field):
    kw = dict(kw)
    for key in ("starts_at", "ends_at"):
        if key in kw:
            kw[key] = timezone.now() + timedelta(days=kw[key])
    with pytest.raises(DomainError) as exc:
        promo(priced, "BAD", kind, rule, **kw)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not Promotion.objects.exists()


# --- query budget ------------------------------------------------------------------------------
def test_price_cart_runs_the_same_few_queries_for_1_and_20_lines(priced):
    skus = [SkuFactory(product=priced.sku.product) for _ in range(20)]
    add_list("TIER", kind="tier", tier="gold", prices=[(s, "each", 1, "10") for s in skus])
    add_list(
        "MINE", kind="dealer", dealers=[priced.dealer], prices=[(s, "each", 5, "9") for s in skus]
    )
    promo(priced, "B10", "percent_off", {"percent": "10"}, targets=["brand"])
    promo(priced, "C5", "amount_off", {"amount": "1"}, targets=["category"], priority=3)
    promo(
        priced,
        "BY",
        "buy_x_get_y",
        {"buy_quantity": 2, "get_quantity": 1, "get_sku": "sku3"},
        targets=["product"],
    )
    promo(priced, "T", "spend_threshold", {"threshold": "30", "percent": "2"}, targets=[])
    counts = []
    for n in (1, 20):
        with count_queries(max_count=4) as q:
            cart = price_cart(dealer=priced.dealer, lines=[line(s, 6) for s in skus[:n]])
        counts.append(q.count)
        assert len(cart.lines) == n and cart.free_lines and cart.order_discounts
        assert all(ln.source.price_list_code == "MINE" for ln in cart.lines)
    assert counts[0] == counts[1] <= 4, counts
    with count_queries(max_count=3):
        assert len(price_products_for_dealer(priced.dealer, [s.pk for s in skus])) == 20
