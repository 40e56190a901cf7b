"""The example plugin's own tests, written with the plugin test kit (plugins.testing)."""

import pytest
from django.db import connection

from core.exceptions import DomainError
from core.testing.factories import SkuFactory
from plugins.manager import get_manager
from plugins.services import plugin_settings, set_plugin_settings
from plugins.testing import assert_plugin_disabled

LIST = "query { exampleMinimums { skuCode minimum } }"
SET = """mutation($sku: String!, $min: Int!) {
  exampleSetMinimum(skuCode: $sku, minimum: $min) { minimum { skuCode minimum } errors { code field } }
}"""


def test_installed_from_its_entry_point(plugin_manager):
    info = plugin_manager.infos["example_vendor"]
    assert info.target == "dinghuo_example_vendor.plugin"
    assert info.source.startswith("dinghuo-example-vendor 0.1.0")
    assert "dinghuo_example_vendor.apps.ExampleVendorConfig" in plugin_manager.django_apps()
    assert {"BELOW_VENDOR_MINIMUM", "OVER_LINE_LIMIT"} <= set(plugin_manager.order_error_codes())


def test_minimum_refuses_short_lines_for_the_enabled_tenant(plugin_hooks, order_context):
    from dinghuo_example_vendor.models import MinimumQuantity

    sku, other = SkuFactory(), SkuFactory()
    MinimumQuantity.objects.create(sku=sku, minimum=6)
    errors = plugin_hooks.validate_order_lines(
        order_context(), order_context([(sku, 2), (other, 1), (sku, 6)]).lines
    )
    assert [(e.index, e.code, e.plugin, e.params) for e in errors] == [
        (0, "BELOW_VENDOR_MINIMUM", "example_vendor", {"minimum": 6})
    ]


def test_disabled_tenant_runs_no_hook(plugin_tenant, plugin_disabled_tenant, order_context):
    from dinghuo_example_vendor.models import MinimumQuantity

    connection.set_tenant(plugin_disabled_tenant)
    sku = SkuFactory()
    MinimumQuantity.objects.create(sku=sku, minimum=6)
    hooks = get_manager().hooks_for(plugin_disabled_tenant)
    context = order_context([(sku, 1)], tenant=plugin_disabled_tenant)
    assert hooks.validate_order_lines(context, context.lines) == []
    assert hooks.search_filters(plugin_disabled_tenant) == []
    connection.set_tenant(plugin_tenant)
    hooks = get_manager().hooks_for(plugin_tenant)
    assert [f.name for f in hooks.search_filters(plugin_tenant)] == ["minQuantity"]


def test_line_cap_setting(plugin_tenant, plugin_hooks, order_context):
    assert plugin_settings(tenant=plugin_tenant, name="example_vendor") == {
        "max_line_quantity": 0,
        "enforce_minimums": True,
    }
    set_plugin_settings(
        tenant=plugin_tenant, name="example_vendor", values={"max_line_quantity": 10}
    )
    sku = SkuFactory()
    context = order_context([(sku, 10), (sku, 11)])
    assert [
        (e.index, e.code) for e in plugin_hooks.validate_order_lines(context, context.lines)
    ] == [(1, "OVER_LINE_LIMIT")]
    with pytest.raises(DomainError) as exc:
        set_plugin_settings(
            tenant=plugin_tenant, name="example_vendor", values={"max_line_quantity": -1}
        )
    assert exc.value.code == "INVALID_SETTING"


def test_graphql_for_the_enabled_tenant(plugin_client, plugin_staff_user, plugin_dealer_user):
    sku = SkuFactory(code="EX-1")
    status, body = plugin_client.graphql(SET, {"sku": sku.code, "min": 12}, user=plugin_staff_user)
    assert status == 200, body
    assert body["data"]["exampleSetMinimum"] == {
        "minimum": {"skuCode": "EX-1", "minimum": 12},
        "errors": [],
    }
    status, body = plugin_client.graphql(SET, {"sku": "NOPE", "min": 2}, user=plugin_staff_user)
    assert body["data"]["exampleSetMinimum"]["errors"] == [
        {"code": "NOT_FOUND", "field": "skuCode"}
    ]
    status, body = plugin_client.graphql(LIST, user=plugin_dealer_user)
    assert body["data"] == {"exampleMinimums": [{"skuCode": "EX-1", "minimum": 12}]}, body


def test_graphql_refused_for_a_disabled_tenant(plugin_disabled_client, plugin_disabled_tenant):
    from dinghuo_example_vendor.models import MinimumQuantity

    from core.testing.factories import UserFactory

    connection.set_tenant(plugin_disabled_tenant)
    sku = SkuFactory(code="EX-2")
    MinimumQuantity.objects.create(sku=sku, minimum=3)
    staff = UserFactory(role="tenant_admin")
    status, body = plugin_disabled_client.graphql(LIST, user=staff)
    assert_plugin_disabled(body, "exampleMinimums")
    status, body = plugin_disabled_client.graphql(SET, {"sku": "EX-2", "min": 9}, user=staff)
    assert_plugin_disabled(body, "exampleSetMinimum")
    assert MinimumQuantity.objects.get(sku=sku).minimum == 3


def test_search_document_and_demo_data(plugin_tenant, plugin_hooks):
    from dinghuo_example_vendor.models import MinimumQuantity

    sku = SkuFactory()
    assert plugin_hooks.search_document_fields(plugin_tenant, sku.product) == {
        "example_vendor_min_quantity": 1
    }
    plugin_hooks.load_demo_data(plugin_tenant)
    plugin_hooks.load_demo_data(plugin_tenant)
    assert MinimumQuantity.objects.get(sku=sku).minimum == 6
    assert plugin_hooks.search_document_fields(plugin_tenant, sku.product) == {
        "example_vendor_min_quantity": 6
    }
