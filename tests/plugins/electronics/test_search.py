"""Parametric search through the search backends (PostgreSQL and Elasticsearch):
range and set filters over electronics parameters with facet counts; a tenant
without the plugin neither indexes the fields nor accepts the filters."""

from __future__ import annotations

import pytest
from django.db import connection

from core.exceptions import DomainError
from core.testing.factories import CategoryFactory, ProductFactory, SkuFactory
from plugins.electronics import selectors, services
from plugins.electronics.selectors import ParameterFilter
from plugins.electronics.units import ParameterError
from search import search
from search.documents import build_documents
from search.query import Range, SearchError, SearchQuery
from tests.search.conftest import elasticsearch_url, es_backend  # noqa: F401 - a fixture

R = "resistors"
C = "capacitors"


@pytest.fixture(params=["postgres", "elasticsearch"])
def backend(request, plugin_tenant):
    if request.param == "postgres":
        from search.backends.postgres import PostgresBackend

        found = PostgresBackend()
    else:
        found = es_backend(request.getfixturevalue("elasticsearch_url"))
    found.drop()
    yield found
    connection.set_tenant(plugin_tenant)
    found.drop()


@pytest.fixture
def parts(make_part, backend):
    skus = {
        "R1": make_part(
            "R1",
            R,
            {"resistance": "10k", "package": "0603", "tolerance": "1%", "temperature": "-55~155°C"},
        ),
        "R2": make_part(
            "R2",
            R,
            {
                "resistance": "10 kΩ",
                "package": "0402",
                "tolerance": "1%",
                "temperature": "-40~85°C",
            },
        ),
        "R3": make_part("R3", R, {"resistance": "10000 ohm", "package": "0805"}),
        "R4": make_part("R4", R, {"resistance": "4K7", "package": "0603"}),
        "R5": make_part("R5", R, {"resistance": "9K95", "package": "sot23"}),
        "R6": make_part("R6", R, {"resistance": "10.1k", "package": "0603"}),
        "C1": make_part("C1", C, {"capacitance": "0.1µF", "package": "0603", "dielectric": "x7r"}),
        "C2": make_part("C2", C, {"capacitance": "100n", "package": "0402", "dielectric": "C0G"}),
    }
    docs, missing = build_documents([s.product_id for s in skus.values()])
    backend.index(docs)
    return skus


def _codes(parts, result) -> set[str]:
    by_product = {s.product_id: code for code, s in parts.items()}
    return {by_product[h.product_id] for h in result.hits}


def _facet(result, key):
    return next(f for f in result.attributes if f.key == key)


def test_documents_carry_normalised_fields(parts):
    docs, _missing = build_documents([parts["R1"].product_id, parts["C1"].product_id])
    by_id = {d["product_id"]: d for d in docs}
    resistor = by_id[parts["R1"].product_id]
    assert resistor["nums"]["electronics_resistance"] == 10000.0
    assert resistor["nums"]["electronics_temperature_min"] == -55.0
    assert resistor["nums"]["electronics_temperature_max"] == 155.0
    assert resistor["attrs"]["electronics_package"] == ["0603"]
    capacitor = by_id[parts["C1"].product_id]
    assert capacitor["nums"]["electronics_capacitance"] == pytest.approx(1e-7)
    assert capacitor["attrs"]["electronics_dielectric"] == ["X7R"]


def test_range_and_set_filter_with_facets(parts, backend):
    result = selectors.parametric_search(
        [
            ParameterFilter("resistance", min="9.9k", max="10.1k"),
            ParameterFilter("package", values=("0603", "0402")),
        ],
        limit=50,
        using=backend,
    )
    assert _codes(parts, result) == {"R1", "R2", "R6"}
    assert result.total == 3
    # Disjunctive: the package counts ignore the package filter (what choosing another
    # package would give), the range still applies (R4 at 4.7 kΩ is not counted).
    packages = _facet(result, "electronics_package")
    assert {v.value: v.count for v in packages.values} == {
        "0603": 2,
        "0402": 1,
        "0805": 1,
        "SOT-23": 1,
    }
    resistance = _facet(result, "electronics_resistance")
    assert (resistance.min, resistance.max) == (10000.0, 10100.0)
    assert sum(b.count for b in resistance.buckets) == 3
    assert resistance.buckets[0].lower <= 10000.0 < resistance.buckets[-1].upper


def test_units_in_filters_are_normalised(parts, backend):
    by_ohms = selectors.parametric_search(
        [ParameterFilter("resistance", min="9900 ohm", max="10.1kΩ")], limit=50, using=backend
    )
    assert _codes(parts, by_ohms) == {"R1", "R2", "R3", "R5", "R6"}
    caps = selectors.parametric_search(
        [
            ParameterFilter("capacitance", min="0.1uF", max="100nF"),
            ParameterFilter("dielectric", values=("X7R",)),
        ],
        limit=50,
        using=backend,
    )
    assert _codes(parts, caps) == {"C1"}
    sot = selectors.parametric_search(
        [ParameterFilter("package", values=("SOT23",))], limit=50, using=backend
    )
    assert _codes(parts, sot) == {"R5"}
    # The operating range covers -40…85 °C: lowest at most -40, highest at least 85.
    covering = selectors.parametric_search(
        [
            ParameterFilter("temperature_min", max="-40°C"),
            ParameterFilter("temperature_max", min="85"),
        ],
        limit=50,
        using=backend,
    )
    assert _codes(parts, covering) == {"R1", "R2"}


def test_facets_without_filters_count_every_part(parts, backend):
    result = selectors.parametric_search([], limit=50, using=backend)
    packages = _facet(result, "electronics_package")
    assert {v.value: v.count for v in packages.values} == {
        "0603": 4,
        "0402": 2,
        "0805": 1,
        "SOT-23": 1,
    }
    capacitance = _facet(result, "electronics_capacitance")
    assert capacitance.min == pytest.approx(1e-7) and capacitance.max == pytest.approx(1e-7)
    assert sum(b.count for b in capacitance.buckets) == 2


def test_the_plain_search_query_accepts_the_fields(parts, backend):
    result = search(
        SearchQuery(
            ranges={"electronics_resistance": Range(9900, 10100)},
            terms={"electronics_package": ("0603", "0402")},
            limit=50,
        ),
        using=backend,
    )
    assert _codes(parts, result) == {"R1", "R2", "R6"}


def test_bad_filters_are_typed_errors(parts, backend):
    with pytest.raises(ParameterError) as exc:
        selectors.parametric_search([ParameterFilter("resistance", min="10V")], using=backend)
    assert (exc.value.code, exc.value.field) == ("WRONG_QUANTITY", "resistance")
    with pytest.raises(ParameterError) as exc:
        selectors.parametric_search([ParameterFilter("capacitance", max="1 zorg")], using=backend)
    assert exc.value.code == "UNKNOWN_UNIT"
    with pytest.raises(DomainError) as exc:
        selectors.parametric_search([ParameterFilter("weight", min="1")], using=backend)
    assert exc.value.code == "UNKNOWN_PARAMETER"
    with pytest.raises(SearchError) as exc:
        selectors.parametric_search(
            [ParameterFilter("resistance", min="10k", max="1k")], using=backend
        )
    assert exc.value.code == "INVALID_RANGE"


def test_tenant_without_the_plugin(plugin_disabled_tenant, backend):
    connection.set_tenant(plugin_disabled_tenant)
    backend.drop()
    category = CategoryFactory()
    services.define_parameter(
        category=category, code="resistance", label="R", quantity="resistance"
    )
    product = ProductFactory(category=category)
    SkuFactory(product=product)
    services.set_part_parameters(product=product, values={"resistance": "10k"})
    docs, _missing = build_documents([product.pk])
    assert not any(k.startswith("electronics_") for k in docs[0]["nums"])
    assert not any(k.startswith("electronics_") for k in docs[0]["attrs"])
    backend.index(docs)
    with pytest.raises(SearchError) as exc:
        search(SearchQuery(ranges={"electronics_resistance": Range(9900, 10100)}), using=backend)
    assert (exc.value.code, exc.value.field) == ("UNKNOWN_FILTER", "electronics_resistance")
    with pytest.raises(SearchError) as exc:
        search(SearchQuery(terms={"electronics_package": ("0603",)}), using=backend)
    assert exc.value.code == "UNKNOWN_FILTER"
    backend.drop()
