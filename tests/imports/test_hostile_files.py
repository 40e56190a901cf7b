"""Crafted upload files: each import job ends FAILED with a typed error on the file or
the cell, saves nothing and never raises out of run_import (a stuck job)."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from core.accounts.models import Dealer
from core.catalog.models import Product
from core.imports.models import ImportStatus

from .test_imports import PRODUCT_HEADER, run, xlsx


@pytest.fixture
def staff(tenant_db):
    from core.accounts.models import Role
    from core.testing.factories import UserFactory

    return UserFactory(role=Role.STAFF)


@pytest.fixture
def catalog_refs(tenant_db):
    from core.testing.factories import BrandFactory, CategoryFactory

    CategoryFactory(
        slug="drinks", attribute_schema=[{"code": "volume", "type": "number", "unit": "ml"}]
    )
    BrandFactory(name="Acme")


def _errors(job):
    return [(e["row"], e["column"], e["code"]) for e in job.errors]


def _patched(buffer: io.BytesIO, old: bytes, new: bytes) -> io.BytesIO:
    """The workbook with ``old`` replaced by ``new`` in every XML part."""
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename).replace(old, new))
    out.seek(0)
    return out


@pytest.mark.parametrize("kind", ["products", "dealers"])
def test_a_csv_cell_past_the_csv_field_limit(staff, django_capture_on_commit_callbacks, kind):
    header = "product_code,sku_code" if kind == "products" else "code,name"
    content = f"{header}\nA,{'x' * 200_000}\n".encode()
    job = run(kind, io.BytesIO(content), "big.csv", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert _errors(job) == [(1, "file", "INVALID_FORMAT")]
    assert not Product.objects.exists() and not Dealer.objects.exists()


def test_an_xlsx_whose_sheet_is_broken_xml(staff, django_capture_on_commit_callbacks):
    buffer = _patched(xlsx([["code", "name"], ["D1", "Shop"]]), b"</sheetData>", b"<sheetData>")
    job = run("dealers", buffer, "dealers.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert _errors(job) == [(1, "file", "INVALID_FORMAT")]
    assert not Dealer.objects.exists()


def test_an_xlsx_with_no_worksheet(staff, django_capture_on_commit_callbacks):
    workbook = Workbook()
    workbook.create_chartsheet()
    workbook.remove(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    job = run("dealers", buffer, "dealers.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert _errors(job) in ([(1, "file", "INVALID_FORMAT")], [(1, None, "EMPTY")])


@pytest.mark.parametrize(
    "attributes",
    [
        '{"volume": NaN}',
        '{"volume": Infinity}',
        '{"volume": "a\\u0000b"}',
        '{"vol\\u0000ume": 1}',
        "{" * 100_000,
        '{"volume": -1e999}',
    ],
)
def test_attributes_json_postgresql_cannot_store(
    catalog_refs, staff, django_capture_on_commit_callbacks, attributes
):
    rows = [PRODUCT_HEADER, ["P1", "Tea", "drinks", "Acme", "0.13", attributes, "S1", "", 1, 1, ""]]
    job = run("products", xlsx(rows), "p.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert _errors(job) == [(2, "attributes", "INVALID")]
    assert not Product.objects.exists()


def test_a_formula_is_an_empty_cell(catalog_refs, staff, django_capture_on_commit_callbacks):
    rows = [PRODUCT_HEADER, ["=1+1", "Tea", "drinks", "Acme", "0.13", "", "S1", "", 1, 1, ""]]
    job = run("products", xlsx(rows), "p.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert _errors(job) == [(2, "product_code", "REQUIRED")]
    assert not Product.objects.exists()


def test_duplicate_skus_and_extra_cells(catalog_refs, staff, django_capture_on_commit_callbacks):
    rows = [
        PRODUCT_HEADER,
        ["P2", "Tea", "drinks", "Acme", "0.13", "", "S2", "", 1, 1, "", "extra", "cells"],
        ["P3", "Tea", "drinks", "Acme", "0.13", "", "S2", "", 1, 1, ""],
        ["P3", "Tea", "drinks", "Acme", "0.13", "", "S2", "", 1, 1, ""],
    ]
    job = run("products", xlsx(rows), "p.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert {row for row, _c, _code in _errors(job)} >= {3}, _errors(job)
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"\xef\xbb\xbf", b"\n\n\n", b"code,name\n", b",,,\n,,\n", b'"code,name\nD1,"x\n'],
)
def test_empty_and_header_only_csv(staff, django_capture_on_commit_callbacks, content):
    from core.exceptions import DomainError

    try:
        job = run(
            "dealers", io.BytesIO(content), "d.csv", staff, django_capture_on_commit_callbacks
        )
    except DomainError as exc:  # an empty upload is refused before a job exists
        assert (exc.field, exc.code) == ("file", "REQUIRED")
        return
    assert job.status in (ImportStatus.FAILED, ImportStatus.SUCCEEDED)
    assert not Dealer.objects.exists()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("tier", "t" * 500),
        ("region", "r" * 500),
        ("currency", "CNYX"),
        ("credit_limit", "1e30"),
        ("credit_limit", "-5"),
        ("credit_limit", "NaN"),
        ("payment_terms", "net_9999"),
        ("status", "deleted"),
        ("tax_id", "x" * 500),
        ("email", "not-an-email"),
        ("phone", "9" * 500),
        ("contact_email", "nope"),
        ("contact_phone", "123"),
        ("parent_code", "D1"),
    ],
)
def test_dealer_rows_with_hostile_cells(staff, django_capture_on_commit_callbacks, column, value):
    job = run(
        "dealers",
        xlsx([["code", "name", column], ["D1", "Shop", value]]),
        "d.xlsx",
        staff,
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.FAILED, (column, job.summary)
    assert [(row, col) for row, col, _code in _errors(job)] == [
        (2, "contact_name" if column in ("contact_email", "contact_phone") else column)
    ], _errors(job)
    assert not Dealer.objects.exists()


def test_many_unknown_sales_reps_are_each_named(staff, django_capture_on_commit_callbacks):
    reps = "|".join(f"rep{i}" for i in range(500))
    job = run(
        "dealers",
        xlsx([["code", "name", "sales_reps"], ["D1", "Shop", reps]]),
        "d.xlsx",
        staff,
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.FAILED
    assert {(row, col, code) for row, col, code in _errors(job)} == {
        (2, "sales_reps", "UNKNOWN_SALES_REP")
    }
    assert not Dealer.objects.exists()


@pytest.mark.parametrize(
    ("column", "value", "error_column"),
    [
        ("shipping_address", "s" * 5000, "shipping_address"),
        ("contact_email", "nope", "contact_email"),
        ("contact_name", "n" * 500, "contact_name"),
    ],
)
def test_address_and_contact_errors_name_their_sheet_column(
    staff, django_capture_on_commit_callbacks, column, value, error_column
):
    """They were reported on the service's fields (addresses.0.line1, contacts.0.email),
    which are no columns of the sheet."""
    base = {"code": "D1", "name": "Shop", "billing_address": "1 Road", "contact_name": "Wang"}
    base[column] = value
    rows = [list(base), list(base.values())]
    job = run("dealers", xlsx(rows), "d.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert [(row, col) for row, col, _code in _errors(job)] == [(2, error_column)]
    assert not Dealer.objects.exists()


@pytest.mark.parametrize(
    "filename",
    ["d" * 300 + ".csv", "../../etc/passwd.csv", "d\x00.csv", "dealers.CSV", ".csv", "d.csv.exe"],
)
def test_hostile_file_names(staff, django_capture_on_commit_callbacks, filename):
    from core.exceptions import DomainError

    content = io.BytesIO(b"code,name\nD1,Shop\n")
    try:
        job = run("dealers", content, filename, staff, django_capture_on_commit_callbacks)
    except DomainError as exc:
        assert (exc.field, exc.code) == ("file", "INVALID_FORMAT"), exc
        assert not Dealer.objects.exists()
        return
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert "\x00" not in job.original_name and ".." not in job.file.name


def test_an_exported_name_that_looks_like_a_formula_stays_text(
    catalog_refs, staff, django_capture_on_commit_callbacks
):
    from openpyxl import load_workbook

    from core.imports import services

    rows = [
        PRODUCT_HEADER,
        ["P1", '=HYPERLINK("http://x","y")', "drinks", "Acme", "0.13", "", "S1", "", 1, 1, ""],
    ]
    content = "\n".join(",".join(f'"{c}"' if "," in str(c) else str(c) for c in r) for r in rows)
    content = content.replace('"=HYPERLINK("http://x","y")"', '"=HYPERLINK(""http://x"",""y"")"')
    job = run(
        "products", io.BytesIO(content.encode()), "p.csv", staff, django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Product.objects.get(code="P1").name == '=HYPERLINK("http://x","y")'
    sheet = load_workbook(io.BytesIO(services.export("products", "xlsx", user=staff))).active
    cells = [c for c in sheet[2] if c.value == '=HYPERLINK("http://x","y")']
    assert cells and {c.data_type for c in cells} == {"s"}  # text, not a formula Excel runs
    # and it imports back as the same name
    buffer = io.BytesIO(services.export("products", "xlsx", user=staff))
    job = run("products", buffer, "again.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Product.objects.get(code="P1").name == '=HYPERLINK("http://x","y")'


def test_a_csv_export_keeps_formula_like_text_as_text_and_imports_it_back(
    catalog_refs, staff, django_capture_on_commit_callbacks
):
    """CSV injection: a cell a spreadsheet would run as a formula is exported after an
    apostrophe (Excel and LibreOffice then show it as text), and imports back as it was."""
    import csv

    from core.imports import services

    names = ['=HYPERLINK("http://x","y")', "@SUM(A1:A9)", "+1+1", "-2+3", "-Sale-"]
    rows = [PRODUCT_HEADER] + [
        [f"P{i}", name, "drinks", "Acme", "0.13", "", f"S{i}", "", 1, 1, ""]
        for i, name in enumerate(names)
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    job = run(
        "products",
        io.BytesIO(out.getvalue().encode()),
        "p.csv",
        staff,
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    exported = services.export("products", "csv", user=staff)
    cells = [c for row in csv.reader(io.StringIO(exported.decode("utf-8-sig"))) for c in row]
    for name in names:
        assert "'" + name in cells and name not in cells
    header, *body = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    numbers = [c for row in body for c in row if c.lstrip("-").replace(".", "").isdigit()]
    assert numbers and not [c for c in cells if c.startswith("'") and c[1:] not in names]
    Product.objects.all().delete()
    job = run(
        "products", io.BytesIO(exported), "again.csv", staff, django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert sorted(Product.objects.values_list("name", flat=True)) == sorted(names)


def test_csv_rows_quote_formulas_not_numbers():
    from core.imports.tables import csv_row, unquote_formula

    values = ["=1+1", "+1+1", "-2+3", "@A1", "\tx", "\rx", "-5", "+1.5", "-0.25e3", ".5", "a=b", 7]
    assert csv_row(values) == [
        "'=1+1",
        "'+1+1",
        "'-2+3",
        "'@A1",
        "'\tx",
        "'\rx",
        "-5",
        "+1.5",
        "-0.25e3",
        ".5",
        "a=b",
        7,
    ]
    assert [unquote_formula(v) for v in csv_row(values[:6])] == values[:6]
    assert unquote_formula("'quoted") == "'quoted" and unquote_formula("'") == "'"
