"""Admin pages: typed values parsed and normalised like the API; bad units shown
beside the field, nothing saved; hidden from a tenant without the plugin."""

from __future__ import annotations

from django.db import connection

from core.accounts.models import Role
from core.testing.factories import UserFactory
from plugins.electronics.models import PartParameter, ReelRule
from plugins.testing import PluginClient


def _admin_client(tenant) -> PluginClient:
    client = PluginClient(tenant)
    user = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
    client.client.force_login(user)
    return client


def test_part_parameter_admin_parses_values(plugin_tenant, make_part):
    sku = make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    client = _admin_client(plugin_tenant)
    url = "/admin/electronics/partparameter/add/"
    assert client.get(url).status_code == 200
    response = client.client.post(
        url, {"product": sku.product_id, "code": "voltage", "raw": "50 volts"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = PartParameter.objects.get(product=sku.product, code="voltage")
    assert row.value == 50 and row.raw == "50 volts"
    response = client.client.post(url, {"product": sku.product_id, "code": "power", "raw": "10nF"})
    assert response.status_code == 200
    assert "WRONG_QUANTITY" in response.content.decode()
    response = client.client.post(url, {"product": sku.product_id, "code": "weight", "raw": "1"})
    assert response.status_code == 200
    assert not PartParameter.objects.filter(code__in=["power", "weight"]).exists()
    listing = client.get("/admin/electronics/partparameter/")
    assert listing.status_code == 200 and "10kΩ" in listing.content.decode()


def test_reel_rule_admin_validates_through_the_service(plugin_tenant, make_part):
    sku = make_part("R1", "resistors", {"resistance": "10k", "package": "0603"})
    client = _admin_client(plugin_tenant)
    url = "/admin/electronics/reelrule/add/"
    response = client.client.post(
        url, {"sku": sku.pk, "mode": "cut_tape_from", "reel_quantity": 5000, "minimum_quantity": 1}
    )
    assert response.status_code == 200 and not ReelRule.objects.exists()
    response = client.client.post(
        url,
        {
            "sku": sku.pk,
            "mode": "cut_tape_from",
            "reel_quantity": 5000,
            "cut_tape_from": 1000,
            "minimum_quantity": 10,
        },
    )
    assert response.status_code == 302
    rule = ReelRule.objects.get(sku=sku)
    assert (rule.reel_quantity, rule.cut_tape_from, rule.minimum_quantity) == (5000, 1000, 10)


def test_category_parameter_admin(plugin_tenant, passives):
    client = _admin_client(plugin_tenant)
    url = "/admin/electronics/categoryparameter/add/"
    data = {
        "category": passives["resistors"].pk,
        "code": "rated_current",
        "label": "Current",
        "quantity": "current",
        "display_unit": "mV",
        "match": "",
        "position": 0,
    }
    response = client.client.post(url, data)
    assert response.status_code == 200  # mV is not a unit of current
    response = client.client.post(url, {**data, "display_unit": "mA"})
    assert response.status_code == 302


def test_hidden_from_a_tenant_without_the_plugin(plugin_disabled_tenant):
    connection.set_tenant(plugin_disabled_tenant)
    client = _admin_client(plugin_disabled_tenant)
    assert client.get("/admin/electronics/partparameter/").status_code in (403, 404)
    assert "electronics" not in client.get("/admin/").content.decode()
