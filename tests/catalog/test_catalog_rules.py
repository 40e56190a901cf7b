"""Catalogue rules: barcodes, typed attributes, order quantities, the category tree,
authorised catalogue scopes and SKU look-up for the order channels."""

import pytest

from core.accounts import services as accounts
from core.catalog import services
from core.catalog.models import Category, ProductStatus, SkuUnit
from core.catalog.rules import check_order_quantity, clean_gtin, is_valid_gtin, sku_order_quantity
from core.catalog.selectors import (
    authorised_products,
    catalogue_scope_for,
    effective_attribute_schema,
    resolve_sku_unit,
    resolve_sku_units,
)
from core.exceptions import DomainError, ValidationFailed
from core.testing.factories import (
    BrandFactory,
    CatalogueFactory,
    CategoryFactory,
    ProductFactory,
    SkuFactory,
    SkuUnitFactory,
    valid_gtin,
)


@pytest.mark.parametrize(
    ("gtin", "valid"),
    [
        ("4006381333931", True),
        ("96385074", True),
        ("036000291452", True),
        ("10036000291459", True),
        ("4006381333932", False),
        ("400638133393", False),
        ("ABC6381333931", False),
        ("", False),
    ],
)
def test_gtin_check_digits(gtin, valid):
    assert is_valid_gtin(gtin) is valid


def test_clean_gtin_names_the_problem():
    assert clean_gtin(" 4006381333931 ") == "4006381333931"
    assert clean_gtin("") == ""
    with pytest.raises(DomainError) as err:
        clean_gtin("4006381333932", field="units.0.gtin")
    assert (err.value.code, err.value.field) == ("INVALID_GTIN", "units.0.gtin")
    assert "1" in err.value.message  # the expected check digit


@pytest.mark.parametrize(
    ("quantity", "factor", "moq", "multiple", "result"),
    [
        (24, 1, 24, 6, 24),
        (2, 12, 24, 6, 24),
        (1, 12, 24, 6, "BELOW_MINIMUM"),
        (25, 1, 24, 6, "NOT_MULTIPLE_OF_PACK"),
        (3, 12, 1, 1, 36),
        (0, 1, 1, 1, "INVALID_QUANTITY"),
        (-2, 1, 1, 1, "INVALID_QUANTITY"),
    ],
)
def test_order_quantities_in_base_units(quantity, factor, moq, multiple, result):
    if isinstance(result, int):
        assert (
            check_order_quantity(
                quantity=quantity, factor=factor, min_order_qty=moq, order_multiple=multiple
            )
            == result
        )
    else:
        with pytest.raises(DomainError) as err:
            check_order_quantity(
                quantity=quantity, factor=factor, min_order_qty=moq, order_multiple=multiple
            )
        assert err.value.code == result


def test_unsellable_unit_is_refused(tenant_db):
    sku = SkuFactory()
    pallet = SkuUnitFactory(sku=sku, code="pallet", factor=480, is_sellable=False)
    with pytest.raises(DomainError) as err:
        sku_order_quantity(sku, pallet, 1)
    assert err.value.code == "UNIT_NOT_SELLABLE"


def test_every_sku_gets_its_base_unit(tenant_db):
    sku = SkuFactory()
    base = SkuUnit.objects.get(sku=sku)
    assert (base.code, base.factor, base.gtin) == ("each", 1, sku.gtin)


def test_attribute_schema_inherits_and_validates(tenant_db):
    parent = services.create_category(
        name="Electronics",
        slug="electronics",
        attribute_schema=[{"code": "rohs", "type": "boolean", "required": True}],
    )
    child = services.create_category(
        name="Resistors",
        slug="resistors",
        parent=parent,
        attribute_schema=[
            {"code": "resistance", "type": "number", "unit": "ohm", "required": True},
            {"code": "package", "type": "choice", "choices": ["0402", "0603"]},
        ],
    )
    assert [a["code"] for a in effective_attribute_schema(child)] == [
        "rohs",
        "resistance",
        "package",
    ]
    product = services.create_product(
        code="R1",
        name="10k",
        category=child,
        attributes={"rohs": "yes", "resistance": "10000 ohm", "package": "0603"},
    )
    assert product.attributes == {"rohs": True, "resistance": 10000, "package": "0603"}
    with pytest.raises(ValidationFailed) as err:
        services.create_product(
            code="R2",
            name="bad",
            category=child,
            attributes={"resistance": "10 V", "package": "1206"},
        )
    assert {(e.field, e.code) for e in err.value.errors} == {
        ("attributes.rohs", "REQUIRED"),
        ("attributes.resistance", "INVALID"),
        ("attributes.package", "INVALID_CHOICE"),
    }
    with pytest.raises(ValidationFailed) as err:
        services.create_category(
            name="Bad",
            slug="bad",
            attribute_schema=[
                {"code": "Colour!", "type": "text"},
                {"code": "size", "type": "shape"},
                {"code": "kind", "type": "choice"},
            ],
        )
    assert [e.field for e in err.value.errors] == [
        "attribute_schema.0.code",
        "attribute_schema.1.type",
        "attribute_schema.2.choices",
    ]


def test_category_moves_update_the_subtree(tenant_db):
    a = services.create_category(name="A", slug="a")
    b = services.create_category(name="B", slug="b", parent=a)
    c = services.create_category(name="C", slug="c", parent=b)
    other = services.create_category(name="Other", slug="other")
    services.update_category(b, parent=other)
    c.refresh_from_db()
    assert c.path == f"/{other.pk}/{b.pk}/{c.pk}/" and c.depth == 2
    with pytest.raises(ValidationFailed) as err:
        services.update_category(
            Category.objects.get(pk=other.pk), parent=Category.objects.get(pk=c.pk)
        )
    assert err.value.errors[0].code == "INVALID_PARENT"


def test_catalogue_scope_for_a_search_engine(tenant_db):
    tools = CategoryFactory(slug="tools")
    drills = CategoryFactory(slug="drills", parent=tools)
    food = CategoryFactory(slug="food")
    acme = BrandFactory()
    tea = ProductFactory(category=food)
    hq = accounts.create_dealer(code="HQ", name="HQ")
    shop = accounts.create_dealer(code="SHOP", name="Shop", parent=hq)
    assert catalogue_scope_for(shop).unrestricted
    CatalogueFactory(
        grants={"categories": [tools], "brands": [acme], "products": [tea], "dealers": [hq]}
    )
    scope = catalogue_scope_for(shop)  # inherited from HQ
    assert not scope.unrestricted
    assert scope.category_ids == {tools.pk, drills.pk} and scope.brand_ids == {acme.pk}
    assert scope.product_ids == {tea.pk}
    drill = ProductFactory(category=drills)
    other_food = ProductFactory(category=food)
    assert scope.allows(product_id=drill.pk, category_id=drills.pk, brand_id=None)
    assert not scope.allows(product_id=other_food.pk, category_id=food.pk, brand_id=None)
    # The selector agrees with the scope.
    assert set(authorised_products(shop)) == {drill, tea}


def test_discontinued_products_are_not_authorised(tenant_db):
    dealer = accounts.create_dealer(code="D", name="D")
    live, old = ProductFactory(), ProductFactory(status=ProductStatus.DISCONTINUED)
    assert list(authorised_products(dealer)) == [live]
    assert set(authorised_products(dealer, include_inactive=True)) == {live, old}


def test_resolve_codes_units_and_barcodes_in_one_query(tenant_db, django_assert_num_queries):
    sku = SkuFactory(code="BOLT-M6", gtin=valid_gtin(1))
    case = SkuUnitFactory(sku=sku, code="case", factor=100, gtin=valid_gtin(2))
    other = SkuFactory(code="NUT-M6")
    with django_assert_num_queries(1):
        found = resolve_sku_units(
            ["BOLT-M6", "BOLT-M6/case", valid_gtin(2), valid_gtin(1), "NUT-M6"]
        )
    assert found["BOLT-M6"].unit.factor == 1 and found["BOLT-M6/case"].unit == case
    assert found[valid_gtin(2)].unit == case and found[valid_gtin(1)].unit.factor == 1
    assert found["NUT-M6"].sku == other
    sku_, unit = resolve_sku_unit("BOLT-M6/case")
    assert (sku_, unit) == (sku, case)


def test_unknown_codes_suggest_close_ones(tenant_db):
    SkuFactory(code="BOLT-M6-20")
    SkuFactory(code="BOLT-M8-20")
    found = resolve_sku_units(["BOLT-M6-2O", "BOLT-M6-20/crate", "ZZZ"])
    assert found["BOLT-M6-2O"].code == "UNKNOWN_SKU"
    assert "BOLT-M6-20" in found["BOLT-M6-2O"].params["suggestions"]
    assert (
        "Did you mean" in found["BOLT-M6-2O"].message or "BOLT-M6-20" in found["BOLT-M6-2O"].message
    )
    assert found["BOLT-M6-20/crate"].code == "UNKNOWN_UNIT"
    assert found["ZZZ"].params["suggestions"] == []
    with pytest.raises(DomainError) as err:
        resolve_sku_unit("BOLT-M6-2O")
    assert err.value.code == "UNKNOWN_SKU"


def test_inactive_skus_cannot_be_resolved_for_ordering(tenant_db):
    SkuFactory(code="OLD", product__status=ProductStatus.DISCONTINUED)
    assert resolve_sku_units(["OLD"])["OLD"].code == "SKU_INACTIVE"


def test_resolution_respects_the_dealers_catalogue(tenant_db):
    food, tools = CategoryFactory(slug="food"), CategoryFactory(slug="tools")
    SkuFactory(code="TEA-1", product__category=food)
    SkuFactory(code="DRILL-1", product__category=tools)
    dealer = accounts.create_dealer(code="D", name="D")
    CatalogueFactory(grants={"categories": [food], "dealers": [dealer]})
    found = resolve_sku_units(["TEA-1", "DRILL-1"], dealer=dealer)
    assert found["TEA-1"].sku.code == "TEA-1"
    assert (
        found["DRILL-1"].code == "UNKNOWN_SKU"
        and "DRILL-1" not in found["DRILL-1"].params["suggestions"]
    )


def test_plan_limit_is_checked_once_for_a_batch(tenant_db, monkeypatch):
    calls = []
    monkeypatch.setattr(
        services, "enforce_plan_limit", lambda resource, adding=1: calls.append((resource, adding))
    )
    services.upsert_products(
        [
            {"code": f"P{i}", "name": "x", "skus": [{"code": f"S{i}"}, {"code": f"T{i}"}]}
            for i in range(3)
        ]
    )
    assert calls == [("skus", 6)]


def test_plan_limit_refuses_the_whole_batch(tenant_db, monkeypatch):
    def refuse(resource, adding=1):
        raise DomainError("over", code="PLAN_LIMIT_EXCEEDED", field=resource)

    monkeypatch.setattr(services, "enforce_plan_limit", refuse)
    with pytest.raises(DomainError) as err:
        services.upsert_products([{"code": "P", "name": "x", "skus": [{"code": "S"}]}])
    assert err.value.code == "PLAN_LIMIT_EXCEEDED"
    from core.catalog.models import Product

    assert not Product.objects.filter(code="P").exists()


def test_a_name_longer_than_its_column_is_refused_not_cut(tenant_db):
    from core.catalog.models import Product

    long_name = "维" * 201
    with pytest.raises(ValidationFailed) as err:
        services.upsert_products(
            [
                {"code": "P1", "name": long_name, "skus": [{"code": "S1"}]},
                {"code": "P2", "name": "ok", "skus": [{"code": "S2", "name": long_name}]},
            ]
        )
    assert sorted((e.code, e.field) for e in err.value.errors) == [
        ("TOO_LONG", "products.0.name"),
        ("TOO_LONG", "products.1.skus.0.name"),
    ]
    assert not Product.objects.exists()
    services.upsert_products([{"code": "P1", "name": "维" * 200, "skus": [{"code": "S1"}]}])
    assert Product.objects.get(code="P1").name == "维" * 200
