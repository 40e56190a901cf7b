"""Start here: the kit's fixtures give you a tenant with the plugin enabled, one
without, a dealer, users and API clients."""

from core.testing.factories import SkuFactory
from plugins.services import set_plugin_settings
from plugins.testing import assert_plugin_disabled


def test_too_many_lines(plugin_tenant, plugin_hooks, order_context):
    set_plugin_settings(tenant=plugin_tenant, name="my_plugin", values={"max_lines": 1})
    sku = SkuFactory()
    context = order_context([(sku, 1), (sku, 2)])
    assert [e.code for e in plugin_hooks.validate_order_lines(context, context.lines)] == [
        "TOO_MANY_LINES"
    ]


def test_fields_refused_without_the_plugin(plugin_disabled_client, plugin_disabled_tenant):
    from django.db import connection

    from core.testing.factories import UserFactory

    connection.set_tenant(plugin_disabled_tenant)
    status, body = plugin_disabled_client.graphql("{ myPluginNotes { text } }", user=UserFactory())
    assert_plugin_disabled(body, "myPluginNotes")
