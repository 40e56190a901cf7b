"""The plugin's GraphQL: dealer look-ups with typed errors, staff mutations, and
PLUGIN_DISABLED with no data for a tenant without the plugin."""

import pytest
from django.db import connection
from graphql_relay import to_global_id

from plugins.autoparts.models import CrossReference, Fitment, PartNumber, Vehicle
from plugins.services import set_plugin_settings
from plugins.testing import PluginClient, assert_plugin_disabled

from .conftest import LAVIDA_VIN

PART = """skuCode productCode productName brand available isAvailable
  price { unitPrice currency } fitments { vehicle { make model } position note }
  numbers { kind brand number }"""
BY_VIN = f"""query($vin: String!, $dealer: ID) {{
  autopartsPartsByVin(vin: $vin, forDealerId: $dealer) {{
    parts {{ {PART} }} vehicles {{ make model yearFrom yearTo engineCode }}
    decodedVin {{ vin wmi manufacturer makes modelYear checkDigitValid warnings {{ code }} }}
    errors {{ code field reason position message }} }} }}"""
BY_NUMBER = f"""query($number: String!, $brand: String) {{
  autopartsPartsByNumber(number: $number, brand: $brand) {{
    parts {{ {PART} }} numbers {{ brand number kind }} truncated errors {{ code field }} }} }}"""
BY_VEHICLE = f"""query($id: ID, $make: String, $model: String, $year: Int, $engine: String,
                     $first: Int) {{
  autopartsPartsByVehicle(vehicleId: $id, make: $make, model: $model, year: $year,
                          engineCode: $engine, first: $first) {{
    parts {{ {PART} }} vehicles {{ id model }} truncated errors {{ code field }} }} }}"""


def test_parts_by_vin_for_a_dealer(garage, plugin_client):
    _, body = plugin_client.graphql(BY_VIN, {"vin": LAVIDA_VIN.lower()}, user=garage.buyer)
    result = body["data"]["autopartsPartsByVin"]
    assert result["errors"] == []
    assert result["decodedVin"]["manufacturer"] == "SAIC Volkswagen"
    assert result["decodedVin"]["modelYear"] == 2018 and result["decodedVin"]["checkDigitValid"]
    assert result["vehicles"] == [
        {
            "make": "Volkswagen",
            "model": "Lavida",
            "yearFrom": 2018,
            "yearTo": None,
            "engineCode": "EA211",
        }
    ]
    assert [(p["skuCode"], p["price"]["unitPrice"], p["available"]) for p in result["parts"]] == [
        ("OIL-1", "25.0000", 200)
    ]
    assert result["parts"][0]["fitments"][0]["note"] == "Change every 10,000 km"


def test_invalid_vin_is_a_typed_error_not_a_server_error(garage, plugin_client):
    bad = LAVIDA_VIN[:4] + "O" + LAVIDA_VIN[5:]
    status, body = plugin_client.graphql(BY_VIN, {"vin": bad}, user=garage.buyer)
    assert status == 200 and "errors" not in body, body
    result = body["data"]["autopartsPartsByVin"]
    assert result["parts"] == [] and result["decodedVin"] is None
    assert result["errors"][0]["code"] == "INVALID_VIN"
    assert (result["errors"][0]["reason"], result["errors"][0]["position"]) == ("CHARACTERS", 5)
    _, body = plugin_client.graphql(BY_VIN, {"vin": "LSV123"}, user=garage.buyer)
    assert body["data"]["autopartsPartsByVin"]["errors"][0]["reason"] == "LENGTH"
    # A Buick VIN decodes, but the catalogue has no Buick: UNKNOWN_VEHICLE with the decoding.
    from plugins.autoparts.vin import with_check_digit

    _, body = plugin_client.graphql(
        BY_VIN, {"vin": with_check_digit("LSGAB41Z0J2123456")}, user=garage.buyer
    )
    result = body["data"]["autopartsPartsByVin"]
    assert result["errors"][0]["code"] == "UNKNOWN_VEHICLE"
    assert result["decodedVin"]["makes"] == ["Buick", "Chevrolet", "Cadillac"]


def test_strict_check_digit_setting(garage, plugin_client, plugin_tenant):
    vin = "WVWZZZ1KZJW000001"  # a German VIN: "Z" at position 9 is no check digit
    _, body = plugin_client.graphql(BY_VIN, {"vin": vin}, user=garage.buyer)
    result = body["data"]["autopartsPartsByVin"]
    assert result["errors"] == []
    assert result["decodedVin"]["warnings"] == [{"code": "CHECK_DIGIT_NOT_VERIFIED"}]
    set_plugin_settings(
        tenant=plugin_tenant, name="autoparts", values={"vin_check_digit": "strict"}
    )
    _, body = plugin_client.graphql(BY_VIN, {"vin": vin}, user=garage.buyer)
    assert body["data"]["autopartsPartsByVin"]["errors"][0]["reason"] == "CHECK_DIGIT"


def test_parts_by_number_and_by_vehicle(garage, plugin_client):
    _, body = plugin_client.graphql(BY_NUMBER, {"number": "04465 33450"}, user=garage.buyer)
    result = body["data"]["autopartsPartsByNumber"]
    assert [p["skuCode"] for p in result["parts"]] == ["PAD-F"]
    assert result["parts"][0]["numbers"] == [
        {"kind": "oe", "brand": "Toyota", "number": "04465-33450"}
    ]
    assert {n["brand"] for n in result["numbers"]} == {"Toyota", "Bosch", "Brembo"}
    _, body = plugin_client.graphql(BY_NUMBER, {"number": "NOPE-1"}, user=garage.buyer)
    assert body["data"]["autopartsPartsByNumber"]["errors"] == [
        {"code": "UNKNOWN_OE_NUMBER", "field": "number"}
    ]
    variables = {"make": "Toyota", "model": "Camry", "year": 2019, "engine": "A25A-FKS"}
    _, body = plugin_client.graphql(BY_VEHICLE, variables, user=garage.buyer)
    result = body["data"]["autopartsPartsByVehicle"]
    assert [p["skuCode"] for p in result["parts"]] == ["PAD-F", "PAD-R", "OIL-1"]
    assert result["parts"][1]["isAvailable"] is False
    _, body = plugin_client.graphql(
        BY_VEHICLE, {"id": result["vehicles"][0]["id"], "first": 1}, user=garage.buyer
    )
    result = body["data"]["autopartsPartsByVehicle"]
    assert len(result["parts"]) == 1 and result["truncated"] is True
    _, body = plugin_client.graphql(BY_VEHICLE, {**variables, "year": 2030}, user=garage.buyer)
    assert body["data"]["autopartsPartsByVehicle"]["errors"] == [
        {"code": "UNKNOWN_VEHICLE", "field": "make"}
    ]
    _, body = plugin_client.graphql(BY_VEHICLE, {"id": "not-an-id"}, user=garage.buyer)
    assert body["data"]["autopartsPartsByVehicle"]["errors"][0]["code"] == "INVALID"


def test_staff_looks_up_for_a_dealer(garage, plugin_client):
    dealer_id = to_global_id("Dealer", garage.dealer.pk)
    _, body = plugin_client.graphql(
        BY_VIN, {"vin": LAVIDA_VIN, "dealer": dealer_id}, user=garage.staff
    )
    parts = body["data"]["autopartsPartsByVin"]["parts"]
    assert [(p["skuCode"], p["price"]["unitPrice"]) for p in parts] == [("OIL-1", "25.0000")]
    _, body = plugin_client.graphql(BY_VIN, {"vin": LAVIDA_VIN}, user=garage.staff)
    assert body["data"]["autopartsPartsByVin"]["parts"][0]["price"] is None


def test_look_ups_need_a_signed_in_user(garage, plugin_client):
    _, body = plugin_client.graphql(BY_VIN, {"vin": LAVIDA_VIN})
    assert body["data"] is None or body["data"].get("autopartsPartsByVin") is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


MANAGE = """
mutation($input: AutopartsVehicleInput!) {
  autopartsVehicleCreate(input: $input) { vehicle { id make displacement fuel }
    errors { code field } } }"""
FIT = """mutation($v: ID!, $sku: String, $product: String, $position: String) {
  autopartsFitmentAdd(vehicleId: $v, skuCode: $sku, productCode: $product, position: $position,
                      note: "OE quality") {
    fitment { productCode skuCode position note vehicle { model } } created errors { code field }
  } }"""
NUMBER = """mutation($brand: String!, $number: String!, $products: [String!]) {
  autopartsPartNumberSet(brand: $brand, number: $number, productCodes: $products) {
    partNumber { id brand number normalised productCodes } created errors { code field } } }"""
XREF = """mutation { autopartsCrossReferenceAdd(brand: "Textar", number: "2 1234 01",
  otherBrand: "toyota", otherNumber: "0446533450") {
  crossReference { source { brand kind } target { brand number } } errors { code field } } }"""
IMPORT = """mutation($kind: AutopartsImportKind!, $csv: String!) {
  autopartsImport(kind: $kind, csv: $csv) { rows created updated errors { code field message } } }"""


def test_staff_manage_vehicles_fitments_and_numbers(garage, plugin_client):
    staff = garage.staff
    _, body = plugin_client.graphql(
        MANAGE,
        {
            "input": {
                "make": " Honda ",
                "model": "Civic",
                "yearFrom": 2016,
                "yearTo": 2021,
                "engineCode": "l15b7",
                "displacement": "1.5",
                "fuel": "petrol",
            }
        },
        user=staff,
    )
    created = body["data"]["autopartsVehicleCreate"]
    assert created["errors"] == [] and created["vehicle"]["make"] == "Honda"
    assert created["vehicle"]["displacement"] == "1.50"
    assert Vehicle.objects.get(model="Civic").engine_code == "L15B7"
    _, body = plugin_client.graphql(
        MANAGE,
        {"input": {"make": "Honda", "model": "Jazz", "yearFrom": 2020, "yearTo": 2019}},
        user=staff,
    )
    assert body["data"]["autopartsVehicleCreate"]["errors"] == [
        {"code": "INVALID", "field": "yearTo"}
    ]
    vehicle_id = created["vehicle"]["id"]
    _, body = plugin_client.graphql(
        FIT, {"v": vehicle_id, "sku": "PAD-F", "position": "front"}, user=staff
    )
    fit = body["data"]["autopartsFitmentAdd"]
    assert fit["errors"] == [] and fit["created"] is True
    assert fit["fitment"]["productCode"] == "P-PAD-F" and fit["fitment"]["position"] == "front"
    _, body = plugin_client.graphql(
        FIT, {"v": vehicle_id, "sku": "PAD-F", "product": "P-OIL"}, user=staff
    )
    assert body["data"]["autopartsFitmentAdd"]["errors"] == [
        {"code": "SKU_OF_OTHER_PRODUCT", "field": "skuCode"}
    ]
    _, body = plugin_client.graphql(
        FIT, {"v": vehicle_id, "sku": "PAD-F", "position": "roof"}, user=staff
    )
    assert body["data"]["autopartsFitmentAdd"]["errors"] == [
        {"code": "INVALID", "field": "position"}
    ]
    # The same number typed differently updates the existing one.
    _, body = plugin_client.graphql(
        NUMBER, {"brand": "TOYOTA", "number": "04465.33450", "products": ["P-OIL"]}, user=staff
    )
    number = body["data"]["autopartsPartNumberSet"]
    assert number["created"] is False and number["partNumber"]["normalised"] == "0446533450"
    assert number["partNumber"]["productCodes"] == ["P-OIL", "P-PAD-F"]
    _, body = plugin_client.graphql(
        NUMBER, {"brand": "Toyota", "number": "1", "products": ["NOPE"]}, user=staff
    )
    assert body["data"]["autopartsPartNumberSet"]["errors"] == [
        {"code": "NOT_FOUND", "field": "productCodes"}
    ]
    _, body = plugin_client.graphql(XREF, user=staff)
    xref = body["data"]["autopartsCrossReferenceAdd"]
    assert xref["errors"] == [] and xref["crossReference"]["target"]["number"] == "04465-33450"
    assert xref["crossReference"]["source"] == {"brand": "Textar", "kind": "aftermarket"}
    _, body = plugin_client.graphql(BY_NUMBER, {"number": "2123401"}, user=garage.buyer)
    parts = body["data"]["autopartsPartsByNumber"]["parts"]
    assert sorted(p["skuCode"] for p in parts) == ["OIL-1", "PAD-F"]


def test_dealers_cannot_manage(garage, plugin_client):
    _, body = plugin_client.graphql(
        MANAGE,
        {"input": {"make": "Honda", "model": "Civic", "yearFrom": 2016}},
        user=garage.buyer,
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert not Vehicle.objects.filter(model="Civic").exists()


def test_csv_import_all_or_nothing(garage, plugin_client):
    good = (
        "make,model,year_from,year_to,engine_code,sku_code,position,note\n"
        "Honda,Civic,2016,2021,L15B7,PAD-F,front,\n"
        "Honda,Civic,2016,2021,L15B7,OIL-1,,\n"
    )
    _, body = plugin_client.graphql(IMPORT, {"kind": "FITMENTS", "csv": good}, user=garage.staff)
    assert body["data"]["autopartsImport"] == {"rows": 2, "created": 2, "updated": 0, "errors": []}
    assert Vehicle.objects.filter(model="Civic").count() == 1
    bad = "brand,number,product_code\nDenso,234-9099,P-OIL\nDenso,,P-OIL\nNGK,9999,NOPE\n"
    _, body = plugin_client.graphql(IMPORT, {"kind": "NUMBERS", "csv": bad}, user=garage.staff)
    errors = body["data"]["autopartsImport"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("REQUIRED", "row.3"),
        ("NOT_FOUND", "row.4"),
    ]
    assert not PartNumber.objects.filter(brand="Denso").exists()  # nothing saved
    xrefs = "brand,number,other_brand,other_number\nMann,W 68/3,Toyota,90915-YZZE1\n"
    _, body = plugin_client.graphql(
        IMPORT, {"kind": "CROSS_REFERENCES", "csv": xrefs}, user=garage.staff
    )
    assert body["data"]["autopartsImport"]["created"] == 1
    _, body = plugin_client.graphql(BY_NUMBER, {"number": "w68-3"}, user=garage.buyer)
    assert [p["skuCode"] for p in body["data"]["autopartsPartsByNumber"]["parts"]] == ["OIL-1"]


LOOKUPS = [
    ("autopartsPartsByVin", BY_VIN, {"vin": LAVIDA_VIN}),
    ("autopartsPartsByNumber", BY_NUMBER, {"number": "04465-33450"}),
    ("autopartsPartsByVehicle", BY_VEHICLE, {"make": "Volkswagen"}),
    ("autopartsVehicles", "query { autopartsVehicles { make } }", {}),
    ("autopartsMakes", "query { autopartsMakes }", {}),
    ("autopartsDecodeVin", 'query { autopartsDecodeVin(vin: "LSV") { errors { code } } }', {}),
]


def test_disabled_tenant_gets_plugin_disabled_and_no_data(
    plugin_tenant, plugin_disabled_tenant, plugin_disabled_client
):
    from .conftest import build_garage

    connection.set_tenant(plugin_disabled_tenant)
    garage = build_garage()  # the tables exist in every schema; the data must not leak
    for field, query, variables in LOOKUPS:
        _, body = plugin_disabled_client.graphql(query, variables, user=garage.buyer)
        assert_plugin_disabled(body, field)
    _, body = plugin_disabled_client.graphql(
        MANAGE, {"input": {"make": "Honda", "model": "Civic", "yearFrom": 2016}}, user=garage.staff
    )
    assert_plugin_disabled(body, "autopartsVehicleCreate")
    _, body = plugin_disabled_client.graphql(
        IMPORT, {"kind": "NUMBERS", "csv": "brand,number\nX,1\n"}, user=garage.staff
    )
    assert_plugin_disabled(body, "autopartsImport")
    assert not Vehicle.objects.filter(model="Civic").exists()
    assert not PartNumber.objects.filter(brand="X").exists()
    node = f'query {{ node(id: "{to_global_id("AutopartsVehicle", garage.lavida.pk)}") {{ id }} }}'
    _, body = plugin_disabled_client.graphql(node, user=garage.buyer)
    assert_plugin_disabled(body, "node")
    # The same look-up answers for the tenant that enabled the plugin.
    connection.set_tenant(plugin_tenant)
    enabled = build_garage()
    _, body = PluginClient(plugin_tenant).graphql(BY_VIN, {"vin": LAVIDA_VIN}, user=enabled.buyer)
    assert [p["skuCode"] for p in body["data"]["autopartsPartsByVin"]["parts"]] == ["OIL-1"]


def test_staff_listings(garage, plugin_client):
    _, body = plugin_client.graphql(
        'query { autopartsPartNumbers(number: "04465") { brand number productCodes } '
        'autopartsMakes autopartsFitments(productCode: "P-OIL") { vehicle { model } note } }',
        user=garage.staff,
    )
    data = body["data"]
    assert data["autopartsPartNumbers"] == [
        {"brand": "Toyota", "number": "04465-33450", "productCodes": ["P-PAD-F"]}
    ]
    assert data["autopartsMakes"] == ["Toyota", "Volkswagen"]
    assert {f["vehicle"]["model"] for f in data["autopartsFitments"]} == {"Camry", "Lavida"}
    assert Fitment.objects.count() == 8 and CrossReference.objects.count() == 2


def test_deleting_with_a_bad_or_unknown_id_is_a_typed_error(garage, plugin_client):
    """deleted: false with NOT_FOUND / INVALID on id, not an internal error (deleted is non-null)."""
    cases = [
        ("autopartsVehicleDelete", "AutopartsVehicle"),
        ("autopartsFitmentRemove", "AutopartsFitment"),
        ("autopartsPartNumberDelete", "AutopartsPartNumber"),
        ("autopartsCrossReferenceRemove", "AutopartsCrossReference"),
    ]
    vehicles = Vehicle.objects.count()
    for mutation, kind in cases:
        query = (
            f"mutation($id: ID!) {{ {mutation}(id: $id) {{ deleted errors {{ code field }} }} }}"
        )
        for bad, code in ((to_global_id(kind, 10**9), "NOT_FOUND"), ("garbage", "INVALID")):
            status, body = plugin_client.graphql(query, {"id": bad}, user=garage.staff)
            assert "errors" not in body, body
            assert body["data"][mutation] == {
                "deleted": False,
                "errors": [{"code": code, "field": "id"}],
            }
    assert Vehicle.objects.count() == vehicles


def test_a_brand_longer_than_its_column_is_too_long(garage, plugin_client):
    _, body = plugin_client.graphql(
        NUMBER, {"brand": "B" * 61, "number": "123", "products": []}, user=garage.staff
    )
    assert body["data"]["autopartsPartNumberSet"]["errors"] == [
        {"code": "TOO_LONG", "field": "brand"}
    ]
    xref = """mutation($other: String!) { autopartsCrossReferenceAdd(brand: "Textar", number: "1",
      otherBrand: $other, otherNumber: "2") { crossReference { note } errors { code field } } }"""
    _, body = plugin_client.graphql(xref, {"other": "T" * 61}, user=garage.staff)
    assert "errors" not in body, body
    assert body["data"]["autopartsCrossReferenceAdd"]["errors"] == [
        {"code": "TOO_LONG", "field": "otherBrand"}
    ]
    assert not PartNumber.objects.filter(number__in=["123", "1", "2"]).exists()


def test_vehicle_text_longer_than_its_column_is_too_long(garage, plugin_client):
    vehicles = Vehicle.objects.count()
    _, body = plugin_client.graphql(
        MANAGE, {"input": {"make": "V" * 61, "model": "Golf", "yearFrom": 2010}}, user=garage.staff
    )
    assert "errors" not in body, body
    assert body["data"]["autopartsVehicleCreate"]["errors"] == [
        {"code": "TOO_LONG", "field": "make"}
    ]
    csv = "make,model,year_from,engine_code\nVW,Golf,2010," + "E" * 41 + "\n"
    _, body = plugin_client.graphql(IMPORT, {"kind": "FITMENTS", "csv": csv}, user=garage.staff)
    assert "errors" not in body, body
    [error] = body["data"]["autopartsImport"]["errors"]
    assert error["field"] == "row.2" and "40" in error["message"]
    assert error["code"] == "TOO_LONG"
    assert Vehicle.objects.count() == vehicles


def test_a_csv_holding_nul_is_refused_whole(garage, plugin_client):
    from core.exceptions import ValidationFailed
    from plugins.autoparts.services import import_csv

    content = b"make,model,year_from,product_code\nVW,Go\x00lf,2010,P-OIL\n"
    with pytest.raises(ValidationFailed) as err:
        import_csv(kind="fitments", content=content)
    assert [(e.field, e.code) for e in err.value.errors] == [("file", "INVALID")]
    assert not Vehicle.objects.filter(model__startswith="Go").exists()
