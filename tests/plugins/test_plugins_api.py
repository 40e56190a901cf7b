"""Tenant admins list, enable and disable industry modules over GraphQL
(``plugins``, ``pluginEnable``, ``pluginDisable``), through ``plugins.services``."""

import pytest
from django.db import connection

from core.testing.factories import DealerUserFactory, UserFactory
from plugins.manager import get_manager
from plugins.services import set_plugin_settings
from plugins.testing import PluginClient
from tenants.models import Tenant

LIST = """query Plugins { plugins { name enabled version settings { name type value default } } }"""
ENABLE = """mutation PluginEnable($name: String!) {
  pluginEnable(name: $name) { plugin { name enabled } errors { field code message } }
}"""
DISABLE = """mutation PluginDisable($name: String!) {
  pluginDisable(name: $name) { plugin { name enabled } errors { field code message } }
}"""


def _modules(tenant):
    return Tenant.objects.get(pk=tenant.pk).modules


@pytest.fixture
def accounts(db, tenant, other_tenant):
    """Both test tenants with no module, an admin in each, a dealer buyer and a staff user
    in the first."""
    saved = {t.pk: list(t.modules or []) for t in (tenant, other_tenant)}
    Tenant.objects.filter(pk__in=saved).update(modules=[])
    users = {}
    for t in (tenant, other_tenant):
        connection.set_tenant(t)
        users[t.pk] = UserFactory(role="tenant_admin")
    connection.set_tenant(tenant)
    buyer, staff = DealerUserFactory(), UserFactory(role="staff")
    connection.set_schema_to_public()
    yield {
        "first": (tenant, PluginClient(tenant), users[tenant.pk]),
        "second": (other_tenant, PluginClient(other_tenant), users[other_tenant.pk]),
        "buyer": buyer,
        "staff": staff,
    }
    connection.set_schema_to_public()
    for t in (tenant, other_tenant):
        t.modules = saved[t.pk]
        t.__dict__.pop("_plugin_settings_cache", None)


def test_an_admin_lists_every_installed_plugin_with_its_state_and_settings(accounts):
    first, client, admin = accounts["first"]
    set_plugin_settings(tenant=first, name="food", values={"split_surcharge_percent": "7.5"})
    status, body = client.graphql(LIST, user=admin)
    assert status == 200 and "errors" not in body, body
    listed = {p["name"]: p for p in body["data"]["plugins"]}
    assert sorted(listed) == get_manager().names
    assert not any(p["enabled"] for p in listed.values())
    food = {s["name"]: s for s in listed["food"]["settings"]}
    assert food["split_surcharge_percent"]["type"] == "decimal"
    assert food["split_surcharge_percent"]["value"] == '"7.5"'  # JSON: decimals as strings
    assert food["split_surcharge_percent"]["default"] == '"5"'
    assert food["allow_mixed_cases"]["value"] == "false"


def test_enabling_in_one_tenant_leaves_the_other_alone(accounts):
    first, first_client, first_admin = accounts["first"]
    second, second_client, second_admin = accounts["second"]

    status, body = first_client.graphql(ENABLE, {"name": "food"}, user=first_admin)
    assert body["data"]["pluginEnable"] == {
        "plugin": {"name": "food", "enabled": True},
        "errors": [],
    }, body
    assert _modules(first) == ["food"] and _modules(second) == []
    _, body = second_client.graphql(LIST, user=second_admin)
    assert not any(p["enabled"] for p in body["data"]["plugins"])
    _, body = first_client.graphql(LIST, user=first_admin)
    assert [p["name"] for p in body["data"]["plugins"] if p["enabled"]] == ["food"]

    # Idempotent; then the second tenant enables another module, independently.
    first_client.graphql(ENABLE, {"name": "food"}, user=first_admin)
    second_client.graphql(ENABLE, {"name": "electronics"}, user=second_admin)
    assert _modules(first) == ["food"] and _modules(second) == ["electronics"]

    # The first tenant's token does not work on the second tenant's host.
    from core.testing.pytest_plugin import gql, token_for

    connection.set_tenant(first)
    token = token_for(first_admin)
    connection.set_schema_to_public()
    status, body = gql(second_client.client, ENABLE, {"name": "pharma"}, token=token)
    assert body.get("data", {}).get("pluginEnable") is None
    assert _modules(second) == ["electronics"]


def test_disabling_stops_the_hooks_and_keeps_the_other_tenant(accounts):
    first, first_client, first_admin = accounts["first"]
    second, second_client, second_admin = accounts["second"]
    for client, admin in ((first_client, first_admin), (second_client, second_admin)):
        client.graphql(ENABLE, {"name": "electronics"}, user=admin)
    _, body = first_client.graphql(DISABLE, {"name": "electronics"}, user=first_admin)
    assert body["data"]["pluginDisable"] == {
        "plugin": {"name": "electronics", "enabled": False},
        "errors": [],
    }
    assert _modules(first) == [] and _modules(second) == ["electronics"]
    manager = get_manager()
    assert not manager.hooks_for(Tenant.objects.get(pk=first.pk)).has("validate_order_lines")
    assert manager.hooks_for(Tenant.objects.get(pk=second.pk)).has("validate_order_lines")
    # Disabling what is not enabled changes nothing and is not an error.
    _, body = first_client.graphql(DISABLE, {"name": "electronics"}, user=first_admin)
    assert body["data"]["pluginDisable"]["errors"] == []


def test_an_unknown_module_is_a_typed_error_and_changes_nothing(accounts):
    first, client, admin = accounts["first"]
    for mutation, field in ((ENABLE, "pluginEnable"), (DISABLE, "pluginDisable")):
        _, body = client.graphql(mutation, {"name": "bakery"}, user=admin)
        assert body["data"][field]["plugin"] is None
        assert [(e["code"], e["field"]) for e in body["data"][field]["errors"]] == [
            ("UNKNOWN_PLUGIN", "name")
        ]
    assert _modules(first) == []


@pytest.mark.parametrize(
    "name", ["", "   ", "FOOD", "food\t2", "f" * 10_000, "../food", "food,pharma"]
)
def test_hostile_module_names_are_unknown_on_name(accounts, name):
    first, client, admin = accounts["first"]
    for mutation, field in ((ENABLE, "pluginEnable"), (DISABLE, "pluginDisable")):
        status, body = client.graphql(mutation, {"name": name}, user=admin)
        assert status == 200 and "errors" not in body, body
        assert [(e["code"], e["field"]) for e in body["data"][field]["errors"]] == [
            ("UNKNOWN_PLUGIN", "name")
        ]
    assert _modules(first) == []


@pytest.mark.parametrize("who", ["buyer", "staff", "anonymous"])
def test_only_tenant_admins_may_list_or_change_modules(accounts, who):
    first, client, _admin = accounts["first"]
    user = None if who == "anonymous" else accounts[who]
    for operation, variables, field in (
        (LIST, None, "plugins"),
        (ENABLE, {"name": "food"}, "pluginEnable"),
        (DISABLE, {"name": "food"}, "pluginDisable"),
    ):
        status, body = client.graphql(operation, variables, user=user)
        assert status == 200
        assert (body.get("data") or {}).get(field) is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["PERMISSION_DENIED"]
    assert _modules(first) == []
