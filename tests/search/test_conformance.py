"""One conformance suite for every search backend: the same catalogue, the same
queries, the same hits and facet counts (PostgreSQL and Elasticsearch)."""

from __future__ import annotations

import pytest
from django.apps import apps

from search import search
from search.documents import build_documents
from search.query import Range, Scope, SearchError, SearchQuery, SortOrder

from . import catalogue


@pytest.fixture
def cat(search_backend):
    data = catalogue.build()
    ids = [p.id for p in data["products"].values()]
    docs, missing = build_documents(ids)
    search_backend.index(docs)
    search_backend.delete(missing)
    data["backend"] = search_backend
    return data


def run(cat, **kwargs):
    kwargs.setdefault("limit", 50)
    return search(SearchQuery(**kwargs), using=cat["backend"])


def names(result):
    return [h.name for h in result.hits]


def keys(cat, result):
    by_id = {p.id: k for k, p in cat["products"].items()}
    return [by_id[h.product_id] for h in result.hits]


def ids(cat, *keys_):
    return [cat["products"][k].id for k in keys_]


def test_index_holds_active_products_only(cat):
    assert cat["backend"].count() == 9
    assert "draft" not in keys(cat, run(cat, sort=SortOrder.NAME))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("维生素", {"vc", "vb", "ca", "chew"}),  # chew: its category is 维生素
        ("泡腾片", {"vc"}),
        ("维生素C", {"vc", "chew"}),  # chew: category 维生素, name "Vitamin C"
        ("维生素C泡腾", {"vc"}),
        ("ｖｉｔａ", {"chew"}),  # full-width input, word prefix
        ("vitamin chew", {"chew"}),
        ("orange", {"chew"}),  # description
        ("汤臣", {"vc", "vb", "chew"}),  # brand name
        ("电阻 0603", {"r10k", "r4k7"}),
        ("VC-0", {"vc"}),  # SKU code prefix
        ("690123", {"vc"}),  # barcode prefix
        ("1690123456", {"vc"}),  # a pack's barcode prefix
        ("rc0603", {"r10k", "r4k7"}),
        ("维生素 E", set()),  # the draft product is not searchable
        ("!!!", set()),
    ],
)
def test_text(cat, text, expected):
    assert set(keys(cat, run(cat, text=text))) == expected


def test_reserved_syntax_is_searched_literally(cat):
    for text in [
        '"USB-C" (1m) AND/OR *',
        "cable AND",
        "cable OR zzz",
        "' OR 1=1 --",
        "cable~2 ^3 \\",
    ]:
        result = run(cat, text=text)
        assert set(keys(cat, result)) <= {"cable"}, text
    assert keys(cat, run(cat, text='"USB-C" (1m) AND/OR *')) == ["cable"]


def test_best_match_first(cat):
    result = run(cat, text="维生素C")
    assert keys(cat, result)[0] == "vc"
    assert result.hits[0].score is not None and result.hits[0].score > 0


def test_highlight(cat):
    result = run(cat, text="泡腾片")
    assert result.hits[0].highlight == "维生素C<em>泡腾片</em>"
    chew = run(cat, text="vita")
    assert chew.hits[0].highlight == "<em>Vita</em>min C Chewable"
    cable = run(cat, text="usb")
    assert cable.hits[0].highlight == "Cable &quot;<em>USB</em>-C&quot; (1m) AND/OR *"


def test_category_includes_descendants(cat):
    assert set(keys(cat, run(cat, category_ids=(cat["health"].id,)))) == {"vc", "vb", "ca", "chew"}
    assert set(keys(cat, run(cat, category_ids=(cat["electronics"].id,)))) == {
        "r10k",
        "r4k7",
        "r100",
        "r1m",
        "cable",
    }


def test_filters_combine(cat):
    result = run(
        cat,
        category_ids=(cat["resistors"].id,),
        terms={"package": ("0603", "0805")},
        ranges={"resistance": Range(min=1000)},
    )
    assert set(keys(cat, result)) == {"r10k", "r4k7"}
    assert set(
        keys(cat, run(cat, terms={"tolerance": ("1%",)}, brand_ids=(cat["vishay"].id,)))
    ) == {"r100"}
    assert set(keys(cat, run(cat, ranges={"count": Range(min=20, max=60)}))) == {"vc", "vb", "chew"}
    assert set(keys(cat, run(cat, ranges={"resistance": Range(max=100)}))) == {"r100"}


def test_in_stock_only(cat):
    # r1m has stock only in a closed warehouse, r4k7 and vb none.
    assert set(keys(cat, run(cat, in_stock_only=True))) == {
        "vc",
        "ca",
        "chew",
        "r10k",
        "r100",
        "cable",
    }


def test_dealer_scope(cat):
    scope = Scope(
        unrestricted=False,
        category_ids=frozenset({cat["health"].id}),
        product_ids=frozenset(ids(cat, "r100")),
    )
    assert set(keys(cat, run(cat, scope=scope))) == {"vc", "vb", "ca", "chew", "r100"}
    assert set(keys(cat, run(cat, scope=scope, text="电阻"))) == {"r100"}
    brand_scope = Scope(unrestricted=False, brand_ids=frozenset({cat["yageo"].id}))
    assert set(keys(cat, run(cat, scope=brand_scope))) == {"r10k", "r4k7"}
    nothing = run(cat, scope=Scope(unrestricted=False))
    assert nothing.total == 0 and nothing.hits == ()


def test_sorting_and_paging(cat):
    by_name = keys(cat, run(cat, sort=SortOrder.NAME))
    assert by_name == ["cable", "chew", "r100", "vb", "vc", "r10k", "r1m", "r4k7", "ca"]
    newest = keys(cat, run(cat, sort=SortOrder.NEWEST))
    assert newest == ["cable", "r1m", "r100", "r4k7", "r10k", "chew", "ca", "vb", "vc"]
    page = run(cat, sort=SortOrder.NAME, offset=2, limit=3)
    assert keys(cat, page) == by_name[2:5] and page.total == 9


@pytest.mark.skipif(
    not apps.is_installed("core.pricing"), reason="the pricing app is not installed"
)
def test_sort_by_the_dealers_price(cat):
    chain = (cat["dealer_list"].id, cat["base_list"].id)
    result = run(cat, sort=SortOrder.PRICE_ASC, price_lists=chain)
    assert keys(cat, result) == ["r10k", "r4k7", "r1m", "r100", "ca", "chew", "vc", "vb", "cable"]
    assert [h.price for h in result.hits] == [0.05, 0.05, 0.2, 0.3, 9.0, 19.9, 20.0, 31.0, None]
    assert result.hits[4].price_list_id == cat["dealer_list"].id
    assert result.hits[6].price_list_id == cat["base_list"].id
    desc = run(cat, sort=SortOrder.PRICE_DESC, price_lists=chain)
    assert keys(cat, desc) == ["vb", "vc", "chew", "ca", "r100", "r1m", "r10k", "r4k7", "cable"]
    base_only = run(
        cat, sort=SortOrder.PRICE_ASC, price_lists=(cat["base_list"].id,), offset=3, limit=3
    )
    assert keys(cat, base_only) == ["chew", "vc", "vb"]
    assert keys(
        cat, run(cat, sort=SortOrder.PRICE_ASC, price_lists=chain, text="维生素", limit=2)
    ) == ["ca", "chew"]


def test_facets(cat):
    result = run(cat, text="维生素")
    assert result.total == 4
    cats = {v.value: v.count for v in result.categories}
    assert cats == {str(cat["health"].id): 4, str(cat["vitamins"].id): 4}
    assert [(v.value, v.count) for v in result.brands] == [
        (str(cat["byhealth"].id), 3),
        (str(cat["swisse"].id), 1),
    ]
    facets = {f.key: f for f in result.attributes}
    assert [(v.value, v.count) for v in facets["form"].values] == [
        ("咀嚼片", 1),
        ("泡腾片", 1),
        ("片剂", 1),
        ("软胶囊", 1),
    ]
    count = facets["count"]
    assert (count.min, count.max) == (20.0, 90.0)
    assert [(b.lower, b.upper, b.count) for b in count.buckets] == [
        (20.0, 30.0, 1),
        (30.0, 40.0, 1),
        (40.0, 50.0, 0),
        (50.0, 60.0, 0),
        (60.0, 70.0, 1),
        (70.0, 80.0, 0),
        (80.0, 90.0, 0),
        (90.0, 100.0, 1),
    ]
    in_stock = run(cat, text="维生素", in_stock_only=True)
    assert [(v.value, v.count) for v in in_stock.brands] == [
        (str(cat["byhealth"].id), 2),
        (str(cat["swisse"].id), 1),
    ]
    assert facets["package"].values == () and facets["resistance"].buckets == ()


def test_numeric_facet_histogram(cat):
    result = run(
        cat, category_ids=(cat["resistors"].id,), facet_attributes=("resistance", "package")
    )
    assert [f.key for f in result.attributes] == ["resistance", "package"]
    resistance, package = result.attributes
    assert (resistance.min, resistance.max) == (100.0, 1_000_000.0)
    assert len(resistance.buckets) == 11 and resistance.buckets[0].count == 3
    assert resistance.buckets[-1].lower == 1_000_000.0 and resistance.buckets[-1].count == 1
    assert [(v.value, v.count) for v in package.values] == [("0603", 2), ("0805", 1), ("1206", 1)]


def test_facets_of_a_filtered_attribute_ignore_its_own_filter(cat):
    """Disjunctive facets: with 0603 chosen, 0805 and 1206 keep the counts choosing them
    would add; the hits, the total and every other facet follow all the filters."""
    resistors = (cat["resistors"].id,)
    result = run(
        cat,
        category_ids=resistors,
        terms={"package": ("0603",)},
        facet_attributes=("package", "tolerance", "resistance"),
    )
    assert set(keys(cat, result)) == {"r10k", "r4k7"} and result.total == 2
    package, tolerance, resistance = result.attributes
    assert [(v.value, v.count) for v in package.values] == [("0603", 2), ("0805", 1), ("1206", 1)]
    assert [(v.value, v.count) for v in tolerance.values] == [("1%", 1), ("5%", 1)]
    assert (resistance.min, resistance.max) == (4700.0, 10000.0)
    assert [(v.value, v.count) for v in result.brands] == [(str(cat["yageo"].id), 2)]
    # Two filtered attributes: each one's counts ignore its own filter, not the other's.
    both = run(
        cat,
        category_ids=resistors,
        terms={"package": ("0603", "0805"), "tolerance": ("1%",)},
        facet_attributes=("package", "tolerance"),
    )
    assert set(keys(cat, both)) == {"r10k", "r100"} and both.total == 2
    package, tolerance = both.attributes
    assert [(v.value, v.count) for v in package.values] == [("0603", 1), ("0805", 1)]
    assert [(v.value, v.count) for v in tolerance.values] == [("1%", 2), ("5%", 1)]
    # An attribute filtered but not faceted narrows every facet, as any filter.
    narrowed = run(
        cat, category_ids=resistors, terms={"package": ("0603",)}, facet_attributes=("tolerance",)
    )
    assert [(v.value, v.count) for v in narrowed.attributes[0].values] == [("1%", 1), ("5%", 1)]
    assert (
        run(cat, terms={"package": ("0603",)}, facet_attributes=("tolerance",)).attributes
        == narrowed.attributes
    )


def test_sku_attributes_are_indexed_and_filterable(cat):
    """A product matches a filter when any of its SKUs has the value (a reel of 22 Ω in
    0402 and one of 47 Ω in 0201); facets count the product once per distinct value."""
    from core.catalog.models import Product, Sku

    reel = Product.objects.create(name="贴片电阻套装", category=cat["resistors"])
    Sku.objects.create(
        product=reel, code="KIT-22R", attributes={"package": "0402", "resistance": 22}
    )
    Sku.objects.create(
        product=reel, code="KIT-47R", attributes={"package": "0201", "resistance": 47}
    )
    Sku.objects.create(product=reel, code="KIT-47R-B", attributes={"resistance": "47"})
    docs, _ = build_documents([reel.id])
    assert docs[0]["attrs"]["package"] == ["0402", "0201"]
    assert docs[0]["nums"]["resistance"] == [22.0, 47.0]
    cat["backend"].index(docs)

    def found(**kwargs):
        return reel.id in {h.product_id for h in run(cat, **kwargs).hits}

    assert found(terms={"package": ("0201",)}) and found(terms={"package": ("0402",)})
    assert found(ranges={"resistance": Range(40, 50)})
    assert found(ranges={"resistance": Range(max=30)})
    assert not found(ranges={"resistance": Range(30, 40)})
    assert not found(ranges={"resistance": Range(min=48)})
    result = run(cat, text="套装", facet_attributes=("package", "resistance"))
    assert result.total == 1
    package, resistance = result.attributes
    assert [(v.value, v.count) for v in package.values] == [("0201", 1), ("0402", 1)]
    assert (resistance.min, resistance.max) == (22.0, 47.0)
    assert sum(b.count for b in resistance.buckets) == 2


def test_both_backends_agree(tenant_db, elasticsearch_url):
    """The same queries give the same answers on both backends (relevance order aside)."""
    from search.backends.postgres import PostgresBackend

    from .conftest import es_backend

    data = catalogue.build()
    docs, _ = build_documents([p.id for p in data["products"].values()])
    backends = [PostgresBackend(), es_backend(elasticsearch_url)]
    queries = [
        SearchQuery(text="维生素", sort=SortOrder.NAME),
        SearchQuery(text="电阻", terms={"package": ("0603",)}, sort=SortOrder.NEWEST),
        SearchQuery(
            category_ids=(data["electronics"].id,), in_stock_only=True, sort=SortOrder.NAME
        ),
        SearchQuery(ranges={"resistance": Range(10, 1e7)}, sort=SortOrder.NAME, offset=1, limit=1),
        SearchQuery(sort=SortOrder.NAME, facet_attributes=("count", "form", "tolerance")),
        SearchQuery(
            terms={"package": ("0603", "1206"), "tolerance": ("5%",)},
            in_stock_only=False,
            sort=SortOrder.NAME,
        ),
        SearchQuery(
            text="电阻", terms={"form": ("泡腾片",), "package": ("0805",)}, sort=SortOrder.NEWEST
        ),
    ]
    try:
        for b in backends:
            b.drop()
            b.index(docs)
        for q in queries:
            a, b = (_unscored(search(q, using=x)) for x in backends)
            assert a == b, q
        relevance = SearchQuery(text="电阻 0603")
        a, b = (search(relevance, using=x) for x in backends)
        assert {h.product_id for h in a.hits} == {h.product_id for h in b.hits}
        assert (a.total, a.categories, a.brands, a.attributes) == (
            b.total,
            b.categories,
            b.brands,
            b.attributes,
        )
    finally:
        for b in backends:
            b.drop()


def _unscored(result):
    from dataclasses import replace

    return replace(result, hits=tuple(replace(h, score=None) for h in result.hits))


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        (SearchQuery(terms={"colour": ("red",)}), "UNKNOWN_FILTER", "colour"),
        (SearchQuery(ranges={"package": Range(1, 2)}), "UNKNOWN_FILTER", "package"),
        (SearchQuery(terms={"resistance": ("1",)}), "UNKNOWN_FILTER", "resistance"),
        (
            SearchQuery(terms={"note": ("橙味",)}),
            "UNKNOWN_FILTER",
            "note",
        ),  # free text is not a filter
        (SearchQuery(ranges={"resistance": Range(10, 1)}), "INVALID_RANGE", "resistance"),
        (SearchQuery(ranges={"resistance": Range(float("nan"), 1)}), "INVALID_RANGE", "resistance"),
        (SearchQuery(text="维" * 201), "QUERY_TOO_LONG", "text"),
        (SearchQuery(limit=1000), "INVALID", "first"),
        (SearchQuery(offset=-1), "INVALID", "offset"),
        (SearchQuery(offset=9_999, limit=20), "INVALID", "offset"),
        (SearchQuery(facet_attributes=("nope",)), "UNKNOWN_FILTER", "nope"),
    ],
)
def test_bad_input_is_a_typed_error(cat, query, code, field):
    with pytest.raises(SearchError) as exc:
        search(query, using=cat["backend"])
    assert (exc.value.code, exc.value.field) == (code, field)


def test_updates_and_deletes(cat):
    from core.catalog.models import ProductStatus

    backend = cat["backend"]
    vc = cat["products"]["vc"]
    vc.name = "维生素C泡腾片 新包装"
    vc.save()
    cat["products"]["vb"].status = ProductStatus.DISCONTINUED
    cat["products"]["vb"].save()
    docs, missing = build_documents(ids(cat, "vc", "vb"))
    backend.index(docs)
    backend.delete(missing)
    assert keys(cat, run(cat, text="新包装")) == ["vc"]
    assert set(keys(cat, run(cat, text="维生素"))) == {"vc", "ca", "chew"}
    backend.index(docs)  # idempotent
    backend.delete(missing)
    assert backend.count() == 8


def test_rebuild_swaps_without_losing_documents(cat):
    backend = cat["backend"]
    docs, _ = build_documents([p.id for p in cat["products"].values()])
    before = backend.count()
    assert backend.rebuild([docs[:4], docs[4:]]) == len(docs)
    assert backend.count() == before == len(docs)
    assert set(keys(cat, run(cat, text="维生素"))) == {"vc", "vb", "ca", "chew"}
    # A rebuild from fewer products drops the rest.
    backend.rebuild([docs[:2]])
    assert backend.count() == 2
