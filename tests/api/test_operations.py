"""Every documented operation in graphql/operations/ runs against a real tenant."""

import pytest

from core.api.contract import OPERATIONS_DIR
from core.testing.factories import TEST_PASSWORD, DealerUserFactory, StockFactory, UserFactory
from core.testing.pytest_plugin import gql, token_for

OPERATIONS = sorted(p.stem for p in OPERATIONS_DIR.glob("*.graphql"))


def _case(name, env):
    """Variables, token and a check of the data for each operation (each entry builds its own data)."""
    staff, buyer = env["staff"], env["buyer"]
    cases = {
        "SignIn": lambda: (
            {"username": buyer.username, "password": TEST_PASSWORD},
            None,
            lambda d: d["tokenCreate"]["token"] and d["tokenCreate"]["errors"] == [],
        ),
        "Me": lambda: (
            {},
            token_for(buyer),
            lambda d: d["me"]["dealer"]["code"] == buyer.dealer.code,
        ),
        "Products": lambda: (
            {"first": 5},
            token_for(buyer),
            lambda d: (
                d["products"]["totalCount"] == 1
                and d["products"]["edges"][0]["node"]["skus"][0]["available"] == 100
            ),
        ),
        "Dealers": lambda: ({}, token_for(staff), lambda d: d["dealers"]["totalCount"] == 1),
        "Search": lambda: (
            _indexed({"text": "Product", "first": 5}),
            token_for(buyer),
            lambda d: (
                d["search"]["total"] == 1
                and d["search"]["errors"] == []
                and d["search"]["hits"][0]["product"]["skus"][0]["available"] == 100
                and d["search"]["hits"][0]["inStock"]
            ),
        ),
        "DealerCredit": lambda: (
            {},
            token_for(buyer),
            lambda d: d["dealerCredit"]["available"] == "100000.00",
        ),
        "DealerPrices": lambda: (
            _base_prices(),
            token_for(buyer),
            lambda d: (
                d["dealerPrices"][0]["unitPrice"] == "12.5000"
                and d["dealerPrices"][0]["source"]["priceListCode"] == "BASE"
            ),
        ),
        "PlaceOrder": lambda: _order_case(
            buyer,
            {"idempotencyKey": "op-1"},
            lambda d: (
                d["placeOrder"]["errors"] == []
                and d["placeOrder"]["order"]["status"] == "ALLOCATED"
            ),
        ),
        "MyOrders": lambda: _order_case(
            buyer,
            None,
            lambda d: (
                d["orders"]["totalCount"] == 1
                and d["orders"]["edges"][0]["node"]["history"][0]["toStatus"] == "submitted"
            ),
        ),
        "QuickOrderPreview": lambda: _order_case(
            buyer,
            {"text": "{sku} 2\nNOPE 1"},
            lambda d: (
                d["quickOrderPreview"][0]["unitPrice"] == "9.5000"
                and d["quickOrderPreview"][1]["error"]["code"] == "UNKNOWN_SKU"
            ),
        ),
        "Availability": lambda: _order_case(
            buyer, {"skuCodes": ["{sku}"]}, lambda d: d["availability"][0]["available"] == 100
        ),
        "ProductPage": lambda: (
            _base_prices() and {"first": 5},
            token_for(buyer),
            lambda d: (
                d["products"]["edges"][0]["node"]["isAvailable"]
                and d["products"]["edges"][0]["node"]["skus"][0]["price"]["unitPrice"] == "12.5000"
                and d["products"]["edges"][0]["node"]["skus"][0]["units"][0]["factor"] == 1
            ),
        ),
        "DealerDetail": lambda: (
            {"code": buyer.dealer.code},
            token_for(buyer),
            lambda d: d["dealer"]["code"] == buyer.dealer.code and d["dealer"]["depth"] == 0,
        ),
        "DealerCreate": lambda: (
            {"input": {"code": "OP-NEW", "name": "New dealer", "paymentTerms": "NET_30"}},
            token_for(staff),
            lambda d: (
                d["dealerCreate"]["errors"] == []
                and d["dealerCreate"]["dealer"]["paymentTerms"] == "NET_30"
            ),
        ),
        "ProductCreate": lambda: (
            {
                "input": {
                    "code": "OP-P",
                    "name": "Op product",
                    "skus": [{"code": "OP-P-1", "units": [{"code": "case", "factor": 12}]}],
                }
            },
            token_for(staff),
            lambda d: (
                d["productCreate"]["errors"] == []
                and len(d["productCreate"]["product"]["skus"][0]["units"]) == 2
            ),
        ),
        "ProductBulkUpsert": lambda: (
            {"products": [{"code": "OP-B", "name": "B", "skus": [{"code": "OP-B-1"}]}]},
            token_for(staff),
            lambda d: (
                d["productBulkUpsert"]["created"] == 1 and d["productBulkUpsert"]["errors"] == []
            ),
        ),
        "SkuLookup": lambda: (
            _sku_codes("NOPE"),
            token_for(buyer),
            lambda d: (
                d["skuLookup"][0]["sku"] is not None
                and d["skuLookup"][1]["errorCode"] == "UNKNOWN_SKU"
            ),
        ),
        "Categories": lambda: (
            _category(),
            token_for(buyer),
            lambda d: d["categories"][0]["attributeSchema"][0]["code"] == "volume",
        ),
        "ElectronicsAlternates": lambda: _electronics_alternates(buyer),
        "FoodProductInfo": lambda: _food_product_info(buyer),
        "PharmaRecallTrace": lambda: _pharma_recall_trace(staff, buyer),
        "PharmaTransferBatch": lambda: _pharma_batch_case(staff, "transfer"),
        "PharmaCountBatch": lambda: _pharma_batch_case(staff, "count"),
        "Plugins": lambda: _plugins_case("Plugins"),
        "PluginEnable": lambda: _plugins_case("PluginEnable"),
        "PluginDisable": lambda: _plugins_case("PluginDisable"),
        "PartsByVin": lambda: _autoparts_case(buyer, "vin"),
        "PartsByOeNumber": lambda: _autoparts_case(buyer, "number"),
    }
    # Built lazily: only the operation under test sets up its data.
    make = cases.get(name)
    return make() if make else None


def _order_case(buyer, variables, check):
    """A priced SKU with stock for the order operations; ``{sku}`` in variables is its code.
    ``variables=None`` places an order first (for the listing)."""
    from core.catalog.models import Sku
    from core.orders import services
    from core.orders.lines import LineInput
    from core.testing.factories import PriceListItemFactory

    sku = Sku.objects.get()
    PriceListItemFactory(sku=sku, unit_price="9.50")
    if variables is None:
        services.place_order(
            dealer=buyer.dealer,
            user=buyer,
            lines=[LineInput(sku.code, 1)],
            channel="web",
            idempotency_key="op-list",
        )
        variables = {}
    elif "idempotencyKey" in variables:
        variables = {**variables, "lines": [{"sku": sku.code, "quantity": 2}]}
    import json

    variables = json.loads(json.dumps(variables).replace("{sku}", sku.code))
    return variables, token_for(buyer), check


def _base_prices():
    """A base price list pricing every SKU at 12.50; the SKU codes as variables."""
    from core.catalog.models import Sku
    from core.testing.factories import PriceListFactory, PriceListItemFactory

    base = PriceListFactory(code="BASE")
    skus = list(Sku.objects.all())
    for sku in skus:
        PriceListItemFactory(price_list=base, sku=sku, unit_price="12.50")
    return {"skuCodes": [s.code for s in skus]}


def _indexed(variables):
    """Index the catalogue for the Search operation (the transaction never commits,
    so the after-commit indexing would not run)."""
    from core.catalog.models import Product
    from search.indexing import index_now

    index_now(Product.objects.values_list("id", flat=True))
    return variables


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_runs(name, tenant_db, tenant_client):
    env = {"staff": UserFactory(), "buyer": DealerUserFactory()}
    StockFactory()
    case = _case(name, env)
    assert case is not None, f"graphql/operations/{name}.graphql has no test case here"
    variables, token, check = case
    query = (OPERATIONS_DIR / f"{name}.graphql").read_text()
    status, body = gql(tenant_client, query, variables, token=token, operation_name=name)
    assert status == 200 and "errors" not in body, body
    assert check(body["data"]), body


def _sku_codes(*extra):
    from core.catalog.models import Sku

    return {"codes": [*Sku.objects.values_list("code", flat=True), *extra]}


def _category():
    from core.testing.factories import CategoryFactory

    CategoryFactory(attribute_schema=[{"code": "volume", "type": "number", "unit": "ml"}])
    return {}


def _electronics_alternates(buyer):
    """The electronics plugin enabled; a 10 kΩ 0603 part and a priced, stocked alternate."""
    from django.db import connection

    from core.testing.factories import (
        CategoryFactory,
        PriceListItemFactory,
        ProductFactory,
        SkuFactory,
        StockFactory,
    )
    from plugins.electronics import services
    from plugins.services import enable_plugin
    from tenants.models import Tenant

    enable_plugin(tenant=Tenant.objects.get(pk=connection.tenant.pk), name="electronics")
    resistors = CategoryFactory()
    for code, quantity in (
        ("resistance", "resistance"),
        ("tolerance", "tolerance"),
        ("package", "package"),
    ):
        services.define_parameter(category=resistors, code=code, label=code, quantity=quantity)
    for code, value in (("R-OP-1", "10k"), ("R-OP-2", "10.0 kΩ")):
        sku = SkuFactory(code=code, product=ProductFactory(category=resistors))
        services.set_part_parameters(
            product=sku.product, values={"resistance": value, "tolerance": "±1%", "package": "0603"}
        )
    alternate = sku
    PriceListItemFactory(sku=alternate, unit_price="0.0150")
    StockFactory(sku=alternate, on_hand=5000)
    return (
        {"skuCode": "R-OP-1"},
        token_for(buyer),
        lambda d: (
            d["electronicsAlternates"]["errors"] == []
            and {p["code"]: p["display"] for p in d["electronicsAlternates"]["part"]["parameters"]}
            == {"resistance": "10kΩ", "tolerance": "±1%", "package": "0603"}
            and [
                (a["part"]["skuCode"], a["price"]["unitPrice"], a["available"])
                for a in d["electronicsAlternates"]["alternates"]
            ]
            == [("R-OP-2", "0.0150", 5000)]
        ),
    )


def _food_product_info(buyer):
    """The food plugin enabled; a drink sold by the case of 24 (case price only), single
    units from 6 at the case price per unit + 5%, with a production date."""
    import datetime

    from django.db import connection
    from django.utils import timezone

    from core.inventory.models import Stock
    from core.testing.factories import PriceListItemFactory, SkuUnitFactory
    from plugins.food import services
    from plugins.services import enable_plugin
    from tenants.models import Tenant

    enable_plugin(tenant=Tenant.objects.get(pk=connection.tenant.pk), name="food")
    stock = Stock.objects.select_related("sku", "warehouse").get()
    case = SkuUnitFactory(sku=stock.sku, code="case", factor=24)
    PriceListItemFactory(sku=stock.sku, unit_code="case", unit_price="72.00")
    services.set_case_policy(sku=stock.sku, policy="units_min", min_units=6, shelf_life_days=270)
    produced = timezone.localdate() - datetime.timedelta(days=20)
    services.set_production_date(sku=stock.sku, warehouse=stock.warehouse, production_date=produced)
    return (
        {"skuCodes": [stock.sku.code]},
        token_for(buyer),
        lambda d: (
            d["foodProductInfo"][0]["caseUnit"] == case.code
            and d["foodProductInfo"][0]["policy"] == "UNITS_MIN"
            and d["foodProductInfo"][0]["casePrice"] == "72.0000"
            and d["foodProductInfo"][0]["unitPrice"] == "3.1500"
            and d["foodProductInfo"][0]["daysLeft"] == 250
            and d["foodProductInfo"][0]["bestBeforeSource"] == "LOT"
        ),
    )


def _autoparts_case(buyer, kind):
    """The auto parts plugin enabled, the stocked SKU priced, fitted to a Lavida and carrying
    a Toyota OE number; look it up by VIN or by the number typed with spaces."""
    from django.db import connection

    from core.catalog.models import Sku
    from core.testing.factories import PriceListItemFactory
    from plugins.autoparts import services as autoparts
    from plugins.autoparts.vin import with_check_digit
    from plugins.services import enable_plugin
    from tenants.models import Tenant

    enable_plugin(tenant=Tenant.objects.get(pk=connection.tenant.pk), name="autoparts")
    sku = Sku.objects.get()
    PriceListItemFactory(sku=sku, unit_price="88.00")
    lavida = autoparts.create_vehicle(make="Volkswagen", model="Lavida", year_from=2018)
    autoparts.add_fitment(vehicle=lavida, sku_code=sku.code, position="front")
    autoparts.set_part_number(
        brand="Toyota", number="04465-33450", product_codes=[sku.product.code]
    )
    if kind == "vin":
        return (
            {"vin": with_check_digit("LSVAB41Z0J2123456")},
            token_for(buyer),
            lambda d: (
                d["autopartsPartsByVin"]["errors"] == []
                and d["autopartsPartsByVin"]["decodedVin"]["modelYear"] == 2018
                and d["autopartsPartsByVin"]["parts"][0]["skuCode"] == sku.code
                and d["autopartsPartsByVin"]["parts"][0]["price"]["unitPrice"] == "88.0000"
                and d["autopartsPartsByVin"]["parts"][0]["available"] == 100
            ),
        )
    return (
        {"number": "04465 33450"},
        token_for(buyer),
        lambda d: (
            d["autopartsPartsByNumber"]["errors"] == []
            and d["autopartsPartsByNumber"]["parts"][0]["skuCode"] == sku.code
            and d["autopartsPartsByNumber"]["parts"][0]["numbers"][0]["number"] == "04465-33450"
        ),
    )


def _pharma_recall_trace(staff, buyer):
    """The pharma plugin enabled; lot PH-1 of the stocked SKU received, ordered by the buyer
    (FEFO takes PH-1) and shipped; the staff user traces the lot."""
    import datetime

    from django.db import connection

    from core.catalog.models import Sku
    from core.inventory.models import Stock
    from core.orders import services
    from core.orders.lines import LineInput
    from core.testing.factories import PriceListItemFactory
    from plugins.pharma.services import receive_batch, today
    from plugins.services import enable_plugin
    from tenants.models import Tenant

    original = connection.tenant
    enabled = enable_plugin(tenant=Tenant.objects.get(pk=original.pk), name="pharma")
    connection.set_tenant(enabled)  # the order service runs the plugin's hooks for this copy
    try:
        stock = Stock.objects.select_related("sku", "warehouse").get()
        PriceListItemFactory(sku=stock.sku, unit_price="9.50")
        receive_batch(
            sku=stock.sku,
            warehouse=stock.warehouse,
            lot="PH-1",
            manufactured_on=today() - datetime.timedelta(days=30),
            expires_on=today() + datetime.timedelta(days=400),
            quantity=10,
        )
        order = services.place_order(
            dealer=buyer.dealer,
            user=buyer,
            lines=[LineInput(stock.sku.code, 4)],
            channel="web",
            idempotency_key="pharma-op",
        ).order
        services.ship(
            shipment=order.shipments.get(), user=staff, carrier="SF", tracking_number="SF-1"
        )
    finally:
        connection.set_tenant(original)
    sku_code = Sku.objects.get().code
    return (
        {"lot": "PH-1", "skuCode": sku_code},
        token_for(staff),
        lambda d: (
            d["pharmaRecallTrace"]["orderCount"] == 1
            and d["pharmaRecallTrace"]["shippedQuantity"] == 4
            and d["pharmaRecallTrace"]["rows"][0]["orderNumber"] == order.number
            and d["pharmaRecallTrace"]["rows"][0]["dealerCode"] == buyer.dealer.code
            and d["pharmaRecallTrace"]["rows"][0]["trackingNumber"] == "SF-1"
            and d["pharmaRecallTrace"]["batches"][0]["onHand"] == 10
        ),
    )


def _pharma_batch_case(staff, kind):
    """The pharma plugin enabled; lot PB-1 (10 units) of the stocked SKU received; the staff
    user moves 4 of them to a second warehouse, or counts 7."""
    import datetime

    from django.db import connection

    from core.inventory.models import Stock
    from core.testing.factories import WarehouseFactory
    from plugins.pharma.services import receive_batch, today
    from plugins.services import enable_plugin
    from tenants.models import Tenant

    enable_plugin(tenant=Tenant.objects.get(pk=connection.tenant.pk), name="pharma")
    stock = Stock.objects.select_related("sku", "warehouse").get()
    batch = receive_batch(
        sku=stock.sku,
        warehouse=stock.warehouse,
        lot="PB-1",
        manufactured_on=today() - datetime.timedelta(days=30),
        expires_on=today() + datetime.timedelta(days=400),
        quantity=10,
    )
    if kind == "transfer":
        WarehouseFactory(code="OP-WH2")
        return (
            {"batchId": str(batch.pk), "destinationCode": "OP-WH2", "quantity": 4},
            token_for(staff),
            lambda d: (
                d["pharmaTransferBatch"]["errors"] == []
                and d["pharmaTransferBatch"]["batch"]["onHand"] == 6
                and d["pharmaTransferBatch"]["destinationBatch"]["warehouseCode"] == "OP-WH2"
                and d["pharmaTransferBatch"]["destinationBatch"]["onHand"] == 4
            ),
        )
    return (
        {"batchId": str(batch.pk), "counted": 7, "note": "op"},
        token_for(staff),
        lambda d: (
            d["pharmaCountBatch"]["errors"] == [] and d["pharmaCountBatch"]["batch"]["onHand"] == 7
        ),
    )


def _plugins_case(name):
    """A tenant admin lists the modules, enables food, or disables it (enabled first)."""
    from django.db import connection

    from plugins.services import enable_plugin
    from tenants.models import Tenant

    admin = UserFactory(role="tenant_admin")
    if name == "PluginDisable":
        enable_plugin(tenant=Tenant.objects.get(pk=connection.tenant.pk), name="food")
    checks = {
        "Plugins": lambda d: (
            "food" in [p["name"] for p in d["plugins"]]
            and all(s["value"] is not None for p in d["plugins"] for s in p["settings"])
        ),
        "PluginEnable": lambda d: (
            d["pluginEnable"]["errors"] == []
            and d["pluginEnable"]["plugin"]["enabled"] is True
            and Tenant.objects.get(pk=connection.tenant.pk).modules == ["food"]
        ),
        "PluginDisable": lambda d: (
            d["pluginDisable"]["errors"] == []
            and d["pluginDisable"]["plugin"]["enabled"] is False
            and "food" not in Tenant.objects.get(pk=connection.tenant.pk).modules
        ),
    }
    return ({} if name == "Plugins" else {"name": "food"}), token_for(admin), checks[name]
