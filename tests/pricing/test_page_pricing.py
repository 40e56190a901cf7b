"""The product page's pricing shortcuts give the same answers as the general code:
written-out SQL for price rows (vs applicable_lists_q), promotions indexed by target
(vs PromotionRule.matches), SKU facts handed in by the page (vs load_skus)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.catalog.models import Category
from core.pricing.engine import PromotionRule
from core.pricing.models import PriceListItem, Promotion
from core.pricing.selectors import (
    PromotionIndex,
    applicable_lists_q,
    dealer_context,
    load_price_rows,
    load_promotions,
    load_skus,
    price_products_for_dealer,
)

from .test_resolution import make_lists

EVERY_LIST = [
    "base",
    "base_hi",
    "tier",
    "tier_silver",
    "region",
    "own",
    "own_high_break",
    "other_dealer",
    "parent_list",
    "expired",
    "future",
    "usd",
    "inactive",
]


def test_price_rows_are_those_of_the_applicable_lists(world, days):
    make_lists(world, EVERY_LIST, days)
    now = timezone.now()
    for dealer in (world.dealer, world.sibling, world.parent):
        ctx = dealer_context(dealer)
        rows = load_price_rows(ctx, [world.sku.pk, world.sku2.pk], now)
        expected = set(
            PriceListItem.objects.filter(sku_id__in=[world.sku.pk, world.sku2.pk])
            .filter(applicable_lists_q(ctx, now, prefix="price_list__"))
            .values_list("price_list_id", "sku_id", "unit_code", "min_quantity", "unit_price")
        )
        got = {(r.price_list_id, r.sku_id, r.unit_code, r.min_quantity, r.unit_price) for r in rows}
        assert got == expected and got, dealer.code


def _promo(**kw):
    now = timezone.now()
    defaults = dict(
        kind="percent_off",
        rule={"percent": "5"},
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    return Promotion.objects.create(**{**defaults, **kw})


def test_the_promotion_index_finds_what_matches_finds_in_the_same_order(world):
    other = Category.objects.create(name="Other", slug="other")
    _promo(code="SKU", name="s", sku_ids=[world.sku.pk], priority=1)
    _promo(code="PRODUCT", name="p", product_ids=[world.sku2.product_id], priority=9)
    _promo(code="BRAND", name="b", brand_ids=[world.brand.pk], priority=5, stackable=False)
    _promo(code="PARENT-CAT", name="c", category_ids=[world.category.pk])  # reaches the subcategory
    _promo(code="OTHER-CAT", name="o", category_ids=[other.pk])
    _promo(code="TWICE", name="t", sku_ids=[world.sku.pk], brand_ids=[world.brand.pk], priority=5)
    _promo(code="TIER", name="tier", category_ids=[world.category.pk], tiers=["gold"], priority=2)
    skus = load_skus([world.sku.pk, world.sku2.pk, world.sku3.pk])
    promotions = load_promotions(
        dealer_context(world.dealer), skus, timezone.now(), order_level=False
    )
    index = PromotionIndex(promotions)
    for info in skus.values():
        expected = [p for p in promotions if p.matches(info)]
        assert index.touching(info) == expected
    assert [p.code for p in index.touching(skus[world.sku.pk])] == [
        "BRAND",
        "TWICE",
        "TIER",
        "SKU",
        "PARENT-CAT",
    ]
    assert index.touching(skus[world.sku3.pk]) == []
    assert all(isinstance(p, PromotionRule) for p in promotions)


def test_sku_facts_handed_in_give_the_same_prices(world, days):
    make_lists(world, ["base", "tier", "region", "own"], days)
    _promo(code="CAT", name="c", category_ids=[world.category.pk])
    ids = [world.sku.pk, world.sku2.pk, world.sku3.pk]
    loaded = price_products_for_dealer(world.dealer, ids)
    handed = price_products_for_dealer(world.dealer, ids, skus=load_skus(ids))
    partly = price_products_for_dealer(world.dealer, ids, skus=load_skus(ids[:1]))
    assert loaded == handed == partly and loaded


def test_usage_limits_and_audiences_are_read_in_sql(world):
    from core.pricing.models import PromotionDealerUsage

    used_up = _promo(
        code="USED", name="u", category_ids=[world.category.pk], usage_limit=3, used_count=3
    )
    mine_used = _promo(
        code="MINE-USED", name="m", category_ids=[world.category.pk], usage_limit_per_dealer=1
    )
    PromotionDealerUsage.objects.create(promotion=mine_used, dealer=world.dealer, used_count=1)
    _promo(code="OPEN", name="o", category_ids=[world.category.pk], usage_limit_per_dealer=1)
    _promo(code="WEST", name="w", category_ids=[world.category.pk], regions=["west"])
    _promo(code="ME", name="me", category_ids=[world.category.pk], dealer_ids=[world.dealer.pk])
    _promo(code="USD", name="usd", category_ids=[world.category.pk], currency="USD")
    _promo(
        code="ENDED",
        name="e",
        category_ids=[world.category.pk],
        ends_at=timezone.now() - timedelta(hours=1),
    )
    skus = load_skus([world.sku.pk])
    codes = {p.code for p in load_promotions(dealer_context(world.dealer), skus, timezone.now())}
    assert codes == {"OPEN", "ME"}
    sibling = {p.code for p in load_promotions(dealer_context(world.sibling), skus, timezone.now())}
    assert sibling == {"OPEN", "WEST", "MINE-USED"}
    assert used_up.code not in codes | sibling


def _engine_one_unit(gross, promotions, currency, info=None):
    """What the cart engine leaves of one base unit of SKU ``info`` (by default SKU 1,
    which the random promotions name) at ``gross``."""
    from core.pricing.engine import PricedLine, PriceSource, PromotionEngine, apply_promotions
    from core.pricing.engine import SkuInfo as Info

    if info is None:
        info = Info(id=1, product_id=1, brand_id=None, category_ids=frozenset(), base_unit="each")
    source = PriceSource(0, "L", "base", info.base_unit, 1, gross, 1, "")
    line = PricedLine(0, info.id, info.base_unit, 1, 1, currency, gross, gross, 1, source, gross)
    engine = PromotionEngine(lines=[line], skus={info.id: info}, currency=currency, free_prices={})
    apply_promotions(engine, promotions, with_skipped=False)
    return max(line.gross - line.discount, Decimal(0))


def test_the_one_unit_shortcut_gives_the_engines_promoted_price():
    """Random stacks of percentage and amount-off promotions (priorities with ties,
    exclusive and stackable, other currencies, zero and over-the-price amounts,
    prices with four decimals, a currency without minor units): the page's shortcut
    and the cart engine agree on every one, and so does one pricer of a stack applied
    to several prices."""
    import random

    from core.pricing.engine import can_price_one_unit, one_unit_pricer, one_unit_promoted_price

    rng = random.Random(4)
    checked = 0
    for case in range(3000):
        currency = rng.choice(["CNY", "CNY", "JPY"])
        gross = Decimal(rng.randint(0, 200000)) / Decimal(rng.choice([1, 100, 10000]))
        promotions = []
        for i in range(rng.randint(0, 5)):
            kind = rng.choice(["percent_off", "amount_off"])
            if kind == "percent_off":
                rule = {"percent": rng.choice(["5", "12.5", "0", "100", "150", "33.333"])}
            else:
                rule = {"amount": rng.choice(["0.50", "1", "0", "2.345", "9999", "0.004"])}
            promotions.append(
                PromotionRule(
                    id=rng.randint(1, 50) * 10 + i,
                    code=f"P{case}-{i}",
                    name="p",
                    kind=kind,
                    currency=rng.choice(["", "", "", currency, "USD"]),
                    rule=rule,
                    priority=rng.randint(0, 3),
                    stackable=rng.random() < 0.6,
                    sku_ids=frozenset({1}),
                    product_ids=frozenset(),
                    category_ids=frozenset(),
                    brand_ids=frozenset(),
                )
            )
        assert can_price_one_unit(promotions)
        expected = _engine_one_unit(gross, promotions, currency)
        got = one_unit_promoted_price(gross, promotions, currency, {})
        assert got == expected and str(got) == str(expected), (gross, promotions)
        in_order = sorted(promotions, key=lambda p: (-p.priority, p.id))
        got = one_unit_promoted_price(gross, in_order, currency, {}, ordered=True)
        assert got == expected and str(got) == str(expected), (gross, promotions)
        # one pricer for every SKU the promotions touch, whatever its price
        pricer = one_unit_pricer(in_order, currency, {})
        for other in (gross, gross * 3 + Decimal("0.005"), Decimal("0.01")):
            expected = _engine_one_unit(other, promotions, currency)
            got = pricer(other)
            assert got == expected and str(got) == str(expected), (other, promotions)
        checked += expected != gross
    assert checked > 1000  # most cases really discount


def test_the_base_unit_shortcut_resolves_as_the_general_code():
    """Random ladders (several lists of every kind, priorities and start dates, other
    units, breaks from 0, 1 or above one unit, a list pricing only other units or only
    from several units), rows in the order the page's statement reads them: the page's
    one-base-unit resolution gives resolve_line_price's price, breaks and source."""
    import random
    from datetime import UTC, datetime
    from itertools import groupby

    from core.pricing.engine import PriceRow, PriceWording, order_lists, resolve_line_price
    from core.pricing.models import KIND_RANK
    from core.pricing.selectors import _base_unit_price, _page_source, _worded_lists

    rng = random.Random(7)
    kinds = ["dealer", "region", "tier", "base"]
    starts = [None, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]
    found = 0
    for case in range(2000):
        rows = []
        for list_id in range(1, rng.randint(1, 6)):
            kind, priority, start = rng.choice(kinds), rng.randint(0, 2), rng.choice(starts)
            for unit in rng.sample(["each", "case", "box"], rng.randint(1, 3)):
                for minimum in rng.sample([0, 1, 2, 5, 10, 100], rng.randint(1, 4)):
                    price = Decimal(rng.randint(1, 100000)) / Decimal(rng.choice([1, 100, 10000]))
                    rows.append(
                        (list_id, f"L{list_id}", "n", kind, priority, start, "CNY")
                        + (case, unit, minimum, price)
                    )
        # The page's statement: each list's position in resolution order (kind's rank,
        # priority DESC, valid_from DESC NULLS LAST, id), its rows by SKU, position, break.
        ranked = sorted(
            {r[0]: r for r in rows}.values(),
            key=lambda r: (
                KIND_RANK[r[3]],
                -r[4],
                -(r[5].timestamp() if r[5] else float("-inf")),
                r[0],
            ),
        )
        lists = {at: (r[0], r[1], r[3], r[6]) for at, r in enumerate(ranked, start=1)}
        position = {list_id: at for at, (list_id, *_) in lists.items()}
        page_rows = sorted(
            ((2, r[7], position[r[0]], r[9], None, None, None, None, r[8], r[10]) for r in rows),
            key=lambda r: r[:4],
        )
        base_unit = rng.choice(["each", "case"])
        expected = resolve_line_price(
            order_lists([PriceRow(*r) for r in rows]).get(case, []),
            unit_code=base_unit,
            quantity=1,
            base_quantity=1,
            base_unit=base_unit,
        )
        got = None
        wording = PriceWording()
        worded, text = _worded_lists(lists, wording), wording.direct_text()
        for _sku, sku_rows in groupby(page_rows, lambda r: r[1]):
            got = _base_unit_price(sku_rows, base_unit, worded, text)
        if expected is None:
            assert got is None, (rows, base_unit)
            continue
        unit_price, breaks, source_facts, list_price, currency = got
        assert (unit_price, breaks, _page_source(source_facts)) == (
            expected.unit_price,
            expected.breaks,
            expected.source,
        ), (rows, base_unit)
        assert str(unit_price) == str(expected.unit_price)
        assert list_price == expected.list_price and currency == expected.currency
        found += 1
    assert found > 1000  # most cases have a price


def test_the_page_reads_price_rows_in_resolution_order(world, days):
    """The page's one pricing statement reads load_promotions' line promotions in its
    order, the applicable lists (applicable_lists_q's) and load_price_rows' rows with
    each SKU's lists ordered as order_lists orders them (kind, priority, start, id),
    each list's breaks ascending, so its prices are the general resolution's, for every
    dealer of a world of lists with priorities, breaks, other units and lists that
    never win."""
    from core.pricing.engine import order_lists, resolve_line_price
    from core.pricing.models import PriceList
    from core.pricing.selectors import _page_pricing

    make_lists(world, EVERY_LIST, days)
    _promo(code="LOW", name="l", category_ids=[world.category.pk], priority=1)
    _promo(code="HIGH", name="h", brand_ids=[world.brand.pk], priority=7, stackable=False)
    _promo(code="SKU", name="s", sku_ids=[world.sku.pk], kind="amount_off", rule={"amount": "1"})
    _promo(code="GOLD", name="g", category_ids=[world.category.pk], tiers=["gold"], priority=3)
    ids = [world.sku.pk, world.sku2.pk, world.sku3.pk]
    now = timezone.now()
    checked = 0
    for dealer in (world.dealer, world.sibling, world.parent):
        skus = load_skus(ids)
        ctx = dealer_context(dealer)
        page_promotions, page_lists, rows = _page_pricing(ctx, skus, now)
        promotions = page_promotions.rules
        assert promotions == load_promotions(ctx, skus, now, order_level=False) and promotions
        applicable = PriceList.objects.filter(applicable_lists_q(ctx, now))
        assert sorted(page_lists.values()) == sorted(
            applicable.values_list("id", "code", "kind", "currency")
        )
        assert sorted(page_lists) == list(range(1, len(page_lists) + 1))
        price_rows = load_price_rows(ctx, ids, now)
        assert sorted((*page_lists[r[2]], r[1], r[8], r[3], r[9]) for r in rows) == sorted(
            (r.price_list_id, r.price_list_code, r.kind, r.currency)
            + (r.sku_id, r.unit_code, r.min_quantity, r.unit_price)
            for r in price_rows
        )
        assert rows == sorted(rows, key=lambda r: r[:4]) and {r[0] for r in rows} == {2}
        lists = order_lists(price_rows)
        assert [
            list(dict.fromkeys(page_lists[r[2]][0] for r in rows if r[1] == sku)) for sku in ids
        ] == [[rs[0].price_list_id for rs in lists.get(sku, [])] for sku in ids]
        prices = price_products_for_dealer(dealer, ids, at=now, skus=skus)
        for sku_id, info in skus.items():
            expected = resolve_line_price(
                lists.get(sku_id, []),
                unit_code=info.base_unit,
                quantity=1,
                base_quantity=1,
                base_unit=info.base_unit,
            )
            got = prices.get(sku_id)
            if expected is None:
                assert got is None
                continue
            assert (got.unit_price, got.breaks, got.source) == (
                expected.unit_price,
                expected.breaks,
                expected.source,
            ), dealer.code
            # the promotions touching it, in order, and what the cart engine leaves
            touching = [p for p in promotions if p.matches(info)]
            assert [p.code for p in got.promotions] == [p.code for p in touching]
            promoted = _engine_one_unit(expected.unit_price, touching, dealer.currency, info)
            assert str(got.promoted_unit_price) == str(promoted), dealer.code
            checked += promoted != got.unit_price
    assert checked >= 3  # promoted prices, not just list prices


def test_other_line_kinds_are_left_to_the_engine():
    from core.pricing.engine import can_price_one_unit

    bundle = PromotionRule(
        1,
        "B",
        "b",
        "bundle_price",
        "",
        {},
        0,
        True,
        frozenset({1}),
        frozenset(),
        frozenset(),
        frozenset(),
    )
    assert not can_price_one_unit([bundle])


def test_quick_init_keeps_the_dataclass_contract():
    """Values built by quick_init's ``__init__`` are the dataclass's: the same
    parameters (positional or by name), equality, hashing, repr and immutability;
    a dataclass it does not fit (defaults, not frozen) is refused."""
    import dataclasses

    import pytest

    from core.pricing import engine, selectors

    classes = [
        engine.SkuInfo,
        engine.PriceRow,
        engine.PromotionRule,
        engine.PriceBreak,
        engine.PriceSource,
        engine.ResolvedPrice,
        selectors.PromotionInfo,
        selectors.ProductPrice,
    ]
    for cls in classes:
        names = [f.name for f in dataclasses.fields(cls)]
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
        values = [f"value-{i}" for i in range(len(names))]
        by_position, by_name = cls(*values), cls(**dict(zip(names, values, strict=True)))
        assert by_position == by_name and hash(by_position) == hash(by_name)
        assert [getattr(by_name, n) for n in names] == values
        assert repr(by_name).startswith(f"{cls.__name__}(")
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(by_name, names[0], "changed")
        with pytest.raises(TypeError):
            cls(*values[:-1])

    @dataclasses.dataclass(frozen=True)
    class WithDefault:
        a: int
        b: int = 0

    @dataclasses.dataclass
    class NotFrozen:
        a: int

    for cls in (WithDefault, NotFrozen):
        with pytest.raises(TypeError):
            engine.quick_init(cls)


def test_explanation_templates_compiled_once_format_as_percent_does():
    """The base-unit shortcut's explanation: the translated template, compiled into
    concatenation, gives what ``%`` gives, in English and Chinese, with braces, ``%%``
    and conversions it does not compile (left to ``%``)."""
    from django.utils import translation

    from core.pricing.engine import PriceWording, _template_function

    names = ("list", "kind", "price", "unit", "min")
    values = ("BASE {x}", "base", Decimal("12.3400"), "each", 1)
    by_name = dict(zip(names, values, strict=True))
    for template in (
        "%(list)s (%(kind)s list): %(price)s per %(unit)s from %(min)s %(unit)s",
        "%(list)s（%(kind)s价格表）：%(min)s %(unit)s 起每 %(unit)s %(price)s",
        "{%(list)s} 100%% %(price)s '\"\\n",
        "%(min)d × %(price)s",
        "%(other)s",
        "",
    ):
        text = _template_function(template, names)
        try:
            expected = template % by_name
        except KeyError:
            expected = None
        if expected is None:
            try:
                text(*values)
            except KeyError:
                continue
            raise AssertionError(template)
        assert text(*values) == expected, template
    for language in ("en", "zh-hans"):
        with translation.override(language):
            wording = PriceWording()
            assert wording.direct_text()(*values) == wording.direct() % by_name


def test_what_pages_keep_of_promotions_follows_their_rows(world, days):
    """A page keeps each promotion row's rule and what a set of rules gives a SKU for
    later pages (PagePromotions): the same rows find the same objects, and a promotion
    edited, ended or added between two pages changes the next page's prices at once."""
    from core.pricing.selectors import _page_pricing

    make_lists(world, ["base"], days)
    promo = _promo(code="CAT", name="c", category_ids=[world.category.pk], priority=1)
    ids = [world.sku.pk, world.sku2.pk]
    skus = load_skus(ids)
    ctx = dealer_context(world.dealer)

    def page():
        return price_products_for_dealer(world.dealer, ids, skus=skus)

    first = page()
    base = first[world.sku.pk].unit_price
    assert first[world.sku.pk].promoted_unit_price == base * Decimal("0.95")
    before, _, _ = _page_pricing(ctx, skus, timezone.now())
    again, _, _ = _page_pricing(ctx, skus, timezone.now())
    assert before.rules[0] is again.rules[0]  # one rule object for the same row
    touching = again.index.touching_tuple(skus[world.sku.pk])
    assert again.effect(touching) is before.effect(before.index.touching_tuple(skus[world.sku.pk]))
    assert page() == first

    promo.rule = {"percent": "20"}
    promo.save()
    assert page()[world.sku.pk].promoted_unit_price == base * Decimal("0.80")
    promo.name = "Renamed"
    promo.save()
    assert [p.name for p in page()[world.sku.pk].promotions] == ["Renamed"]
    _promo(code="MORE", name="m", sku_ids=[world.sku.pk], priority=5, stackable=True)
    promo.stackable = True
    promo.save()
    assert [p.code for p in page()[world.sku.pk].promotions] == ["MORE", "CAT"]
    assert page()[world.sku.pk].promoted_unit_price == (
        base * Decimal("0.95") * Decimal("0.80")
    ).quantize(Decimal("0.01"))
    promo.ends_at = timezone.now() - timedelta(minutes=1)
    promo.save()
    assert [p.code for p in page()[world.sku.pk].promotions] == ["MORE"]
    assert page()[world.sku.pk].promoted_unit_price == base * Decimal("0.95")


def test_a_page_price_builds_its_source_when_read(world, days):
    """A page's price formats its source's explanation only when something reads it,
    and is then the same value (equal, same hash, same repr) as one built with it."""
    import dataclasses

    make_lists(world, ["base", "tier"], days)
    ids = [world.sku.pk]
    price = price_products_for_dealer(world.dealer, ids, skus=load_skus(ids))[world.sku.pk]
    assert "source" not in price.__dict__
    source = price.source
    assert source.price_list_code and source.explanation and source.unit_code == "each"
    assert price.source is source and "source" in price.__dict__
    built = dataclasses.replace(price)
    assert built == price and hash(built) == hash(price) and repr(built) == repr(price)
    with pytest.raises(AttributeError):
        price.not_a_field  # noqa: B018 - the attribute read is the test


def test_pages_beyond_the_index_memo_price_the_same(world, days, monkeypatch):
    """An index past MEMO_MAX hands out new promotion tuples instead of remembered ones:
    what they give the SKUs is still found for each, and the prices are the same."""
    from core.pricing import selectors

    make_lists(world, ["base", "tier"], days)
    _promo(code="CAT", name="c", category_ids=[world.category.pk], priority=1)
    _promo(code="SKU", name="s", sku_ids=[world.sku.pk], priority=2, stackable=True)
    _promo(
        code="BRAND",
        name="b",
        brand_ids=[world.brand.pk],
        kind="amount_off",
        rule={"amount": "0.5"},
    )
    ids = [world.sku.pk, world.sku2.pk, world.sku3.pk]
    skus = load_skus(ids)
    expected = price_products_for_dealer(world.dealer, ids, skus=skus)
    monkeypatch.setattr(selectors.PromotionIndex, "MEMO_MAX", 0)
    selectors._EFFECTS.clear()
    assert price_products_for_dealer(world.dealer, ids, skus=skus) == expected
    assert price_products_for_dealer(world.dealer, ids, skus=skus) == expected
    assert any(p.promotions for p in expected.values())
