"""Services' rules and database constraints, the console pages, the admin, demo data."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test import Client

from core.exceptions import DomainError
from core.testing.factories import SkuFactory
from core.testing.pytest_plugin import host_of
from plugins.autoparts import services
from plugins.autoparts.models import CrossReference, Fitment, PartNumber, Vehicle


def test_numbers_are_stored_normalised_and_unique_per_brand(plugin_tenant):
    row, created = services.set_part_number(brand="Toyota", number="04465-33450")
    assert created and row.normalised == "0446533450" and row.kind == "oe"
    again, created = services.set_part_number(brand=" toyota ", number="04465 33450")
    assert not created and again.pk == row.pk and again.number == "04465-33450"
    services.set_part_number(brand="Lexus", number="04465 33450")  # another maker: another row
    assert PartNumber.objects.filter(normalised="0446533450").count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        PartNumber(brand="TOYOTA", number="0446533450").save()
    with pytest.raises(DomainError) as exc:
        services.set_part_number(brand="Toyota", number=" -/. ")
    assert exc.value.code == "REQUIRED" and exc.value.field == "number"
    with pytest.raises(DomainError) as exc:
        services.set_part_number(brand="Toyota", number="1", kind="genuine")
    assert exc.value.field == "kind"


def test_normalised_number_is_indexed(plugin_tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'autoparts_partnumber' "
            "AND indexdef LIKE '%%normalised%%'"
        )
        assert cursor.fetchall()


def test_cross_reference_rules(plugin_tenant):
    ref, created = services.add_cross_reference(
        brand="Bosch", number="0 986 AB2 640", other_brand="Toyota", other_number="04465-33450"
    )
    assert created and ref.source.kind == "aftermarket" and ref.target.kind == "oe"
    back, created = services.add_cross_reference(
        brand="Toyota",
        number="0446533450",
        other_brand="BOSCH",
        other_number="0986AB2640",
        kind="oe",
        other_kind="aftermarket",
    )
    assert not created and back.pk == ref.pk  # the same pair, written the other way round
    with pytest.raises(DomainError) as exc:
        services.add_cross_reference(
            brand="Bosch", number="1", other_brand="bosch", other_number="2"
        )
    assert exc.value.code == "SAME_BRAND"
    assert CrossReference.objects.count() == 1


def test_vehicle_rules(plugin_tenant):
    for data, field in [
        ({"make": "", "model": "X", "year_from": 2020}, "make"),
        ({"make": "A", "model": "X", "year_from": "20x0"}, "yearFrom"),
        ({"make": "A", "model": "X", "year_from": 1850}, "yearFrom"),
        ({"make": "A", "model": "X", "year_from": 2020, "displacement": "big"}, "displacement"),
        ({"make": "A", "model": "X", "year_from": 2020, "fuel": "coal"}, "fuel"),
    ]:
        with pytest.raises(DomainError) as exc:
            services.create_vehicle(**data)
        assert exc.value.field == field
    vehicle = services.create_vehicle(
        make="Volkswagen", model="Lavida", year_from=2018, displacement="1.5L"
    )
    assert str(vehicle.displacement) == "1.50"
    with pytest.raises(DomainError) as exc:
        services.update_vehicle(vehicle=vehicle, year_to=2015)
    assert exc.value.field == "yearTo"
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.create(make="A", model="B", year_from=2020, year_to=2010)
    assert Vehicle.objects.count() == 1


def test_fitment_is_unique_and_updates_its_note(plugin_tenant):
    sku = SkuFactory(code="PAD-X")
    vehicle = services.create_vehicle(make="Toyota", model="Camry", year_from=2018)
    _fit, created = services.add_fitment(vehicle=vehicle, sku_code="PAD-X", position="Front")
    assert created
    fit, created = services.add_fitment(
        vehicle=vehicle, sku_code="pad-x".upper(), position="front", note="new note"
    )
    assert not created and fit.note == "new note" and fit.product_id == sku.product_id
    services.add_fitment(vehicle=vehicle, product_code=sku.product.code)
    services.add_fitment(vehicle=vehicle, product_code=sku.product.code)  # no duplicate
    assert Fitment.objects.count() == 2
    with pytest.raises(DomainError) as exc:
        services.add_fitment(vehicle=vehicle)
    assert exc.value.code == "REQUIRED"
    with pytest.raises(DomainError) as exc:
        services.add_fitment(vehicle=vehicle, sku_code="NOPE")
    assert exc.value.code == "NOT_FOUND"


def test_csv_import_reports_every_bad_row_and_saves_nothing(plugin_tenant):
    SkuFactory(code="PAD-X")
    content = (
        "\ufeffMake,Model,Year_From,SKU_Code\nToyota,Camry,2018,PAD-X\n,Camry,2018,PAD-X\n"
        "Toyota,Camry,2018,NOPE\n"
    ).encode()
    with pytest.raises(DomainError) as exc:
        services.import_csv(kind="fitments", content=content)
    assert [e.field for e in exc.value.errors] == ["row.3", "row.4"]
    assert not Vehicle.objects.exists() and not Fitment.objects.exists()
    with pytest.raises(DomainError) as exc:
        services.import_csv(kind="numbers", content="brand\nToyota\n")
    assert exc.value.errors[0].code == "MISSING_COLUMNS"
    report = services.import_csv(kind="fitments", content=content.split(b"\n,")[0] + b"\n")
    assert (report.rows, report.created) == (1, 1)


def test_console_pages(plugin_tenant, plugin_disabled_tenant, plugin_staff_user):
    client = Client(HTTP_HOST=host_of(plugin_tenant))
    assert client.get("/console/plugins/autoparts/import/").status_code == 302  # sign in first
    client.force_login(plugin_staff_user)
    assert client.get("/console/plugins/autoparts/import/").status_code == 200
    SkuFactory(code="PAD-X")
    upload = SimpleUploadedFile(
        "numbers.csv", b"brand,number,sku_code\nToyota,04465-33450,\n", content_type="text/csv"
    )
    response = client.post(
        "/console/plugins/autoparts/import/", {"kind": "numbers", "file": upload}
    )
    assert response.status_code == 200, response.content
    assert PartNumber.objects.get().normalised == "0446533450"
    response = client.get("/console/plugins/autoparts/vin/", {"vin": "1M8GDM9AXKP042788"})
    assert b"Motor Coach Industries" in response.content and b"1989" in response.content
    response = client.get("/console/plugins/autoparts/vin/", {"vin": "1M8GDM9A1KP042788"})
    assert b"CHECK_DIGIT" in response.content
    plugin_staff_user.is_staff = plugin_staff_user.is_superuser = True  # the Django admin
    plugin_staff_user.save()
    assert client.get("/admin/autoparts/vehicle/").status_code == 200
    response = client.get("/admin/autoparts/partnumber/", {"q": "04465 33450"})
    assert b"04465-33450" in response.content
    other = Client(HTTP_HOST=host_of(plugin_disabled_tenant))
    assert other.get("/console/plugins/autoparts/import/").status_code == 404
    connection.set_tenant(plugin_disabled_tenant)
    from core.accounts.models import Role
    from core.testing.factories import UserFactory

    other.force_login(UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True))
    assert other.get("/admin/autoparts/vehicle/").status_code == 403  # hidden without the plugin


def test_demo_data_is_idempotent(plugin_tenant, plugin_hooks):
    for code in ("BP-F-001", "OF-204"):
        SkuFactory(code=code)
    plugin_hooks.load_demo_data(plugin_tenant)
    counts = (
        Vehicle.objects.count(),
        Fitment.objects.count(),
        PartNumber.objects.count(),
        CrossReference.objects.count(),
    )
    plugin_hooks.load_demo_data(plugin_tenant)
    assert counts == (2, 4, 5, 2)
    assert (
        Vehicle.objects.count(),
        Fitment.objects.count(),
        PartNumber.objects.count(),
        CrossReference.objects.count(),
    ) == counts
    assert PartNumber.objects.get(normalised="0446533450").products.get().skus.get().code == (
        "BP-F-001"
    )


def test_csv_import_row_refused_by_the_database_names_no_database_detail(
    plugin_tenant, monkeypatch
):
    from django.db import IntegrityError

    def conflict(kind, row):
        raise IntegrityError(
            'duplicate key value violates unique constraint "autoparts_partnumber_unique"\n'
            "DETAIL:  Key (brand, number)=(TOYOTA, 0446533450) already exists."
        )

    monkeypatch.setattr(services, "_import_row", conflict)
    with pytest.raises(DomainError) as exc:
        services.import_csv(kind="numbers", content="brand,number\nToyota,04465-33450\n")
    (error,) = exc.value.errors
    assert (error.code, error.field) == ("CONFLICT", "row.2")
    assert "DETAIL" not in error.message and "constraint" not in error.message
    assert "2" in error.message
