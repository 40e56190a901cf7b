"""Hostile input to the auto parts plugin's GraphQL mutations and CSV import: a typed error
on its field or row, nothing saved, no internal error."""

from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from plugins.autoparts.models import CrossReference, Fitment, PartNumber, Vehicle

from .test_graphql import IMPORT, MANAGE, NUMBER

FIT_NOTE = """mutation($v: ID!, $sku: String, $note: String) {
  autopartsFitmentAdd(vehicleId: $v, skuCode: $sku, note: $note) {
    fitment { note } errors { code field } } }"""
XREF = """mutation($note: String, $brand: String!) {
  autopartsCrossReferenceAdd(brand: $brand, number: "2 1234 01", otherBrand: "toyota",
                             otherNumber: "0446533450", note: $note) {
  crossReference { note } errors { code field } } }"""
NUMBER_NOTE = """mutation($brand: String!, $number: String!, $note: String) {
  autopartsPartNumberSet(brand: $brand, number: $number, note: $note) {
    partNumber { note } errors { code field } } }"""
DELETE = """mutation($id: ID!) { autopartsVehicleDelete(id: $id) { errors { code field } } }"""


def _errors(body, field):
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


def test_vehicle_text_longer_than_its_column_is_too_long(garage, plugin_client):
    for name, value, field in [
        ("make", "M" * 61, "make"),
        ("model", "M" * 81, "model"),
        ("engineCode", "E" * 41, "engineCode"),
        ("trim", "T" * 61, "trim"),
    ]:
        vehicle = {"make": "Honda", "model": "Civic", "yearFrom": 2016, name: value}
        _, body = plugin_client.graphql(MANAGE, {"input": vehicle}, user=garage.staff)
        assert _errors(body, "autopartsVehicleCreate") == [(field, "TOO_LONG")], name
    assert not Vehicle.objects.filter(make="Honda").exists()


@pytest.mark.parametrize("displacement", ["NaN", "sNaN", "-0", "Infinity", "1e9", "0.001"])
def test_odd_displacements_are_invalid(garage, plugin_client, displacement):
    vehicle = {"make": "Honda", "model": "Civic", "yearFrom": 2016, "displacement": displacement}
    status, body = plugin_client.graphql(MANAGE, {"input": vehicle}, user=garage.staff)
    assert status == 200
    if displacement == "0.001":  # rounds to 0.00: not a displacement either
        assert _errors(body, "autopartsVehicleCreate") in ([("displacement", "INVALID")], [])
    else:
        assert _errors(body, "autopartsVehicleCreate") == [("displacement", "INVALID")]


def test_notes_longer_than_their_column_are_too_long_not_cut(garage, plugin_client):
    vehicle = Vehicle.objects.get(model="Camry", year_from=2018)
    vid = to_global_id("AutopartsVehicle", vehicle.pk)
    _, body = plugin_client.graphql(
        FIT_NOTE, {"v": vid, "sku": "OIL-1", "note": "n" * 201}, user=garage.staff
    )
    assert _errors(body, "autopartsFitmentAdd") == [("note", "TOO_LONG")]
    _, body = plugin_client.graphql(
        NUMBER_NOTE, {"brand": "Denso", "number": "1", "note": "n" * 201}, user=garage.staff
    )
    assert _errors(body, "autopartsPartNumberSet") == [("note", "TOO_LONG")]
    _, body = plugin_client.graphql(XREF, {"brand": "Textar", "note": "n" * 201}, user=garage.staff)
    assert _errors(body, "autopartsCrossReferenceAdd") == [("note", "TOO_LONG")]
    _, body = plugin_client.graphql(NUMBER, {"brand": "B" * 61, "number": "1"}, user=garage.staff)
    assert _errors(body, "autopartsPartNumberSet") == [("brand", "TOO_LONG")]
    _, body = plugin_client.graphql(
        NUMBER, {"brand": "Denso", "number": "1" * 61}, user=garage.staff
    )
    assert _errors(body, "autopartsPartNumberSet") == [("number", "TOO_LONG")]
    assert not Fitment.objects.filter(vehicle=vehicle, sku__code="OIL-1").exists()
    assert not PartNumber.objects.filter(brand__in=["Denso", "Textar"]).exists()
    assert not CrossReference.objects.filter(note__startswith="n").exists()


@pytest.mark.parametrize(
    "vehicle_id",
    [
        "",
        "x",
        "1",
        to_global_id("AutopartsFitment", 1),
        to_global_id("AutopartsVehicle", "x"),
        to_global_id("AutopartsVehicle", 2**64),
        to_global_id("AutopartsVehicle", 10**6),
    ],
)
def test_malformed_vehicle_ids(garage, plugin_client, vehicle_id):
    count = Vehicle.objects.count()
    status, body = plugin_client.graphql(DELETE, {"id": vehicle_id}, user=garage.staff)
    assert status == 200
    errors = _errors(body, "autopartsVehicleDelete")
    assert errors in ([("id", "INVALID")], [("id", "NOT_FOUND")]), errors
    assert Vehicle.objects.count() == count


def test_csv_import_rows_with_odd_cells_are_reported_and_nothing_is_saved(garage, plugin_client):
    rows = (
        "make,model,year_from,displacement,sku_code,note,extra\n"
        "Honda,Civic,2016,1.5,PAD-F,,x,y,z\n"
        "Honda,Civic,2016,NaN,PAD-F,,\n"
        "Honda,Civic,99999999999999999999,1.5,PAD-F,,\n"
        "Honda,Civic,2016,1.5,PAD-F," + "n" * 201 + ",\n"
        "Honda,Civic,2016,1.5,,,\n"
        "=cmd|' /C calc'!A0,Civic,2016,1.5,PAD-F,,\n"
    )
    status, body = plugin_client.graphql(
        IMPORT, {"kind": "FITMENTS", "csv": rows}, user=garage.staff
    )
    assert status == 200
    errors = _errors(body, "autopartsImport")
    assert [f for f, _c in errors] == ["row.3", "row.4", "row.5", "row.6"], errors
    assert dict(errors)["row.5"] == "TOO_LONG"
    assert not Vehicle.objects.filter(make="Honda").exists()


@pytest.mark.parametrize(
    "csv",
    [
        "",
        "\n\n",
        "make,model\n",
        "a,b,c\n1,2,3\n",
        '"unterminated,quote\n1,2',
        "make,model,year_from\n" + "x" * 200_000 + ",Civic,2016\n",
    ],
)
def test_csv_import_of_malformed_files(garage, plugin_client, csv):
    status, body = plugin_client.graphql(
        IMPORT, {"kind": "FITMENTS", "csv": csv}, user=garage.staff
    )
    assert status in (200, 413)  # 413: the request itself is over the API's size limit
    if status == 200:
        errors = _errors(body, "autopartsImport")
        assert errors and all(f in ("file", "row.2") for f, _c in errors), errors
    assert Vehicle.objects.count() == 3


def test_a_csv_cell_past_the_csv_modules_field_limit_is_a_file_error(garage):
    from core.exceptions import ValidationFailed
    from plugins.autoparts.services import import_csv

    content = ("make,model,year_from\n" + "x" * 200_000 + ",Civic,2016\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        import_csv(kind="fitments", content=content)
    assert [(e.field, e.code) for e in exc.value.errors] == [("file", "INVALID")]
    assert Vehicle.objects.count() == 3


@pytest.mark.parametrize(
    ("query", "field", "variables"),
    [
        ("BY_VIN", "autopartsPartsByVin", {"vin": ""}),
        ("BY_VIN", "autopartsPartsByVin", {"vin": "Ｌ" * 17}),
        ("BY_VIN", "autopartsPartsByVin", {"vin": "1" * 5000}),
        ("BY_VIN", "autopartsPartsByVin", {"vin": "LSVAM4187C2184847", "dealer": "garbage"}),
        ("BY_NUMBER", "autopartsPartsByNumber", {"number": ""}),
        ("BY_NUMBER", "autopartsPartsByNumber", {"number": "%_%"}),
        ("BY_NUMBER", "autopartsPartsByNumber", {"number": "9" * 5000, "brand": "b" * 5000}),
        ("BY_VEHICLE", "autopartsPartsByVehicle", {"year": -(2**31)}),
        ("BY_VEHICLE", "autopartsPartsByVehicle", {"make": "%", "model": "_", "first": 0}),
        ("BY_VEHICLE", "autopartsPartsByVehicle", {"id": "garbage"}),
        ("BY_VEHICLE", "autopartsPartsByVehicle", {"id": to_global_id("AutopartsVehicle", 2**64)}),
        ("BY_VEHICLE", "autopartsPartsByVehicle", {"first": 2**31 - 1, "make": "Toyota"}),
    ],
)
def test_lookups_with_hostile_arguments(garage, plugin_client, query, field, variables):
    from . import test_graphql

    status, body = plugin_client.graphql(getattr(test_graphql, query), variables, user=garage.buyer)
    assert status == 200
    if "errors" in body:
        codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
        assert "INTERNAL_ERROR" not in codes and None not in codes, body
    else:
        result = body["data"][field]
        assert result["parts"] == [] or result["errors"] == [], result
