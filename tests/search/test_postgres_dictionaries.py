"""The PostgreSQL backend's per-tenant dictionaries (words, choice values, attribute slots):
documents refer to them by id, so they must stay consistent as products change, and
no tenant ever reads another's."""

from __future__ import annotations

import pytest
from django.db import connection

from core.catalog.models import Category, Product
from core.testing.factories import ProductFactory, SkuFactory
from search import search
from search.backends.postgres import PostgresBackend
from search.documents import build_documents
from search.models import SearchAttribute, SearchDocument, SearchLexeme, SearchValue
from search.query import Range, SearchQuery

SCHEMA = [
    {"key": "colour", "type": "choice", "label": "颜色"},
    {"key": "length", "type": "number", "label": "长度"},
]


@pytest.fixture
def backend(tenant_db):
    found = PostgresBackend()
    found.drop()
    yield found
    connection.set_tenant(tenant_db)
    found.drop()


def _product(name: str, **attributes) -> Product:
    category, _ = Category.objects.get_or_create(
        slug="cables", defaults={"name": "线缆", "attribute_schema": SCHEMA}
    )
    return SkuFactory(
        product=ProductFactory(name=name, category=category, attributes=attributes)
    ).product


def _index(backend, *products: Product) -> None:
    docs, missing = build_documents([p.id for p in products])
    backend.index(docs)
    backend.delete(missing)


def _colours(result) -> dict[str, int]:
    (facet,) = [a for a in result.attributes if a.key == "colour"]
    return {v.value: v.count for v in facet.values}


def test_a_changed_attribute_moves_the_product_to_its_new_value(backend):
    cable = _product("USB cable", colour="red", length=1)
    other = _product("HDMI cable", colour="red", length=2)
    _index(backend, cable, other)
    red = SearchValue.objects.get(attribute="colour", value="red").id
    cable.attributes = {"colour": "blue", "length": 3}
    cable.save()
    _index(backend, cable)

    assert SearchValue.objects.get(attribute="colour", value="red").id == red  # ids never change
    by_colour = search(SearchQuery(terms={"colour": ("red",)}))
    assert [h.product_id for h in by_colour.hits] == [other.id]
    assert [h.product_id for h in search(SearchQuery(terms={"colour": ("blue",)})).hits] == [
        cable.id
    ]
    assert _colours(search(SearchQuery(text="cable"))) == {"red": 1, "blue": 1}
    assert search(SearchQuery(ranges={"length": Range(2.5, 3.5)})).total == 1


def test_a_deleted_product_leaves_no_counts_behind(backend):
    cable = _product("USB cable", colour="green", length=1)
    other = _product("HDMI cable", colour="red", length=2)
    _index(backend, cable, other)
    cable_id = cable.id
    cable.delete()
    docs, missing = build_documents([cable_id, other.id])
    backend.index(docs)
    backend.delete(missing)

    assert missing == [cable_id]
    assert not SearchDocument.objects.filter(product_id=cable_id).exists()
    assert search(SearchQuery(terms={"colour": ("green",)})).total == 0
    assert _colours(search(SearchQuery())) == {"red": 1}
    assert search(SearchQuery(text="usb")).total == 0


def test_several_values_of_one_attribute_are_all_searchable_and_counted(backend):
    """A product whose SKUs differ keeps every value (``multi`` and ``nums``), not a slot."""
    cable = _product("USB cable")
    cable.skus.update(attributes={"colour": "red", "length": 1})
    SkuFactory(product=cable, attributes={"colour": "blue", "length": 5})
    _index(backend, cable, _product("HDMI cable", colour="blue", length=2))

    doc = SearchDocument.objects.get(product_id=cable.id)
    assert doc.multi and len(doc.multi) == 2 and doc.nums == {"length": [1.0, 5.0]}
    assert search(SearchQuery(terms={"colour": ("red",)})).total == 1
    assert _colours(search(SearchQuery())) == {"blue": 2, "red": 1}
    assert _colours(search(SearchQuery(terms={"colour": ("red",)}))) == {"blue": 2, "red": 1}
    assert search(SearchQuery(ranges={"length": Range(4, 6)})).total == 1
    assert search(SearchQuery(ranges={"length": Range(3, 4)})).total == 0
    (length,) = [a for a in search(SearchQuery()).attributes if a.key == "length"]
    assert (length.min, length.max, sum(b.count for b in length.buckets)) == (1.0, 5.0, 3)


def test_two_tenants_never_share_dictionary_entries(backend, other_tenant):
    _index(backend, _product("Red cable", colour="red", length=1))
    connection.set_tenant(other_tenant)
    PostgresBackend().drop()
    try:
        _index(PostgresBackend(), _product("Blue wire", colour="blue", length=7))
        # Each tenant numbers its own values: the same id may mean another value elsewhere.
        theirs = set(SearchValue.objects.values_list("id", "attribute", "value"))
        assert ("colour", "red") not in {(a, v) for _, a, v in theirs}
        assert not SearchLexeme.objects.filter(word="red").exists()
        assert search(SearchQuery(text="red")).total == 0
        assert search(SearchQuery(terms={"colour": ("red",)})).total == 0
        assert _colours(search(SearchQuery())) == {"blue": 1}
        assert search(SearchQuery(ranges={"length": Range(0, 10)})).total == 1
    finally:
        PostgresBackend().drop()


def test_attribute_slots_are_handed_out_once_per_key_and_kind(backend):
    _index(backend, _product("USB cable", colour="red", length=1))
    slots = dict(SearchAttribute.objects.values_list("key", "slot"))
    _index(backend, _product("HDMI cable", colour="blue", length=2))
    assert dict(SearchAttribute.objects.values_list("key", "slot")) == slots
    assert SearchAttribute.objects.filter(kind="choice").values_list("slot", flat=True).get() == 1
    assert SearchAttribute.objects.filter(kind="number").values_list("slot", flat=True).get() == 1


def test_a_very_long_choice_value_is_indexed_by_its_beginning(backend):
    """The value dictionary's unique index cannot hold thousands of bytes: such a value
    is indexed, matched and counted by its first MAX_VALUE_LENGTH characters."""
    from search.backends.postgres import MAX_VALUE_LENGTH

    long = "".join(chr(0x4E00 + i * 7919 % 20000) for i in range(3000))  # incompressible
    _index(backend, _product("USB cable", colour=long, length=1))
    assert search(SearchQuery(terms={"colour": (long,)})).total == 1
    assert _colours(search(SearchQuery())) == {long[:MAX_VALUE_LENGTH]: 1}
