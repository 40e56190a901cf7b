"""The test kit for plugin authors: pytest fixtures on top of ``core.testing.pytest_plugin``.

In the plugin package's ``conftest.py``::

    pytest_plugins = ["core.testing.pytest_plugin", "plugins.testing"]

    @pytest.fixture
    def plugin_name():
        return "my_plugin"          # the entry-point name

and run pytest with ``DJANGO_SETTINGS_MODULE=config.settings``. Then:

* ``plugin_tenant``: the test tenant with the plugin enabled (through
  ``plugins.services.enable_plugin``, so ``plugin_enabled`` ran) and the
  connection in its schema; rolled back after the test.
* ``plugin_disabled_tenant``: the second tenant, without the plugin.
* ``plugin_dealer``, ``plugin_dealer_user``, ``plugin_staff_user``: a dealer
  and users in ``plugin_tenant``.
* ``plugin_client`` / ``plugin_disabled_client``: API clients bound to each
  tenant's host: ``status, body = plugin_client.graphql(query, variables, user=...)``.
* ``plugin_hooks``: ``hooks_for(plugin_tenant)``, to call hooks the way the
  core does; ``order_context(lines=[(sku, quantity), ...])`` builds the
  arguments of the order hooks.
* ``register_plugin(obj, name)``: register a plugin object in the process's
  manager for one test (unregistered afterwards).
* :func:`assert_plugin_disabled`: a GraphQL answer refused with ``PLUGIN_DISABLED``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from core.testing.pytest_plugin import gql, host_of, token_for

from .manager import DinghuoPluginManager, TenantHooks, get_manager
from .schema import PLUGIN_DISABLED
from .types import OrderContext, OrderLine


class PluginClient:
    """A Django test client bound to a tenant's host, with a GraphQL helper."""

    def __init__(self, tenant: Any):
        self.tenant = tenant
        self.client = Client(HTTP_HOST=host_of(tenant))

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: Any = None,
        api_key: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST an operation as ``user`` (a login token is minted in the tenant's schema)."""
        token = None
        if user is not None:
            previous = connection.tenant
            connection.set_tenant(self.tenant)
            try:
                token = token_for(user)
            finally:
                connection.set_tenant(previous)
        return gql(self.client, query, variables, token=token, api_key=api_key)

    def get(self, url: str, **kwargs: Any) -> Any:
        previous = connection.tenant
        try:
            return self.client.get(url, **kwargs)
        finally:
            connection.set_tenant(previous)


def assert_plugin_disabled(body: dict[str, Any], field: str) -> None:
    """``field`` answered no data and the response carries a ``PLUGIN_DISABLED`` error."""
    data = body.get("data") or {}
    assert data.get(field) is None, f"{field} leaked data: {data.get(field)!r}"
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    assert PLUGIN_DISABLED in codes, (
        f"expected a {PLUGIN_DISABLED} error, got {body.get('errors')!r}"
    )


@pytest.fixture
def plugin_name() -> str:
    """Override in your conftest: the entry-point name of the plugin under test."""
    pytest.fail("Define a `plugin_name` fixture returning your plugin's entry-point name.")


@pytest.fixture
def plugin_manager(plugin_name: str) -> DinghuoPluginManager:
    manager = get_manager()
    if plugin_name not in manager.infos:
        pytest.fail(
            f"Plugin {plugin_name!r} is not installed (found: {', '.join(manager.names) or 'none'}). "
            "Install your package (pip install -e .) so its dinghuo.plugins entry point is visible."
        )
    return manager


def _restore_modules(tenant: Any, modules: list[str]) -> None:
    """The test's transaction rolls the row back; put the in-memory tenant back too."""
    tenant.modules = modules
    tenant.__dict__.pop("_plugin_settings_cache", None)


@pytest.fixture
def plugin_tenant(db, tenant, plugin_name: str, plugin_manager: DinghuoPluginManager):
    """The test tenant with the plugin enabled; the connection in its schema."""
    from .services import enable_plugin

    previous = list(tenant.modules or [])
    enable_plugin(tenant=tenant, name=plugin_name, manager=plugin_manager)
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()
    _restore_modules(tenant, previous)


@pytest.fixture
def plugin_disabled_tenant(
    db, other_tenant, plugin_name: str, plugin_manager: DinghuoPluginManager
):
    """The second test tenant, with the plugin disabled."""
    from .services import disable_plugin

    previous = list(other_tenant.modules or [])
    disable_plugin(tenant=other_tenant, name=plugin_name, manager=plugin_manager)
    yield other_tenant
    connection.set_schema_to_public()
    _restore_modules(other_tenant, previous)


@pytest.fixture
def plugin_dealer(plugin_tenant):
    from core.testing.factories import DealerFactory

    return DealerFactory()


@pytest.fixture
def plugin_dealer_user(plugin_dealer):
    from core.testing.factories import DealerUserFactory

    return DealerUserFactory(dealer=plugin_dealer)


@pytest.fixture
def plugin_staff_user(plugin_tenant):
    from core.accounts.models import Role
    from core.testing.factories import UserFactory

    return UserFactory(role=Role.TENANT_ADMIN)


@pytest.fixture
def plugin_client(plugin_tenant) -> PluginClient:
    return PluginClient(plugin_tenant)


@pytest.fixture
def plugin_disabled_client(plugin_disabled_tenant) -> PluginClient:
    return PluginClient(plugin_disabled_tenant)


@pytest.fixture
def plugin_hooks(plugin_tenant) -> TenantHooks:
    return get_manager().hooks_for(plugin_tenant)


@pytest.fixture
def order_context(plugin_tenant, plugin_dealer) -> Callable[..., OrderContext]:
    """``order_context(lines=[(sku, quantity), (sku, quantity, "case", 2)], channel="web")``."""

    def make(
        lines: list[tuple[Any, ...]] = (),
        *,
        tenant: Any = None,
        dealer: Any = None,
        channel: str = "web",
        user: Any = None,
    ) -> OrderContext:
        built = []
        for index, entry in enumerate(lines):
            sku, quantity, *rest = entry
            unit = rest[0] if rest else ""
            unit_quantity = rest[1] if len(rest) > 1 else None
            built.append(
                OrderLine(
                    index=index, sku=sku, quantity=quantity, unit=unit, unit_quantity=unit_quantity
                )
            )
        return OrderContext(
            tenant=tenant or plugin_tenant,
            dealer=dealer or plugin_dealer,
            user=user,
            channel=channel,
            lines=built,
        )

    return make


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., Any]]:
    """``register_plugin(obj, "name")``: a plugin in the process's manager for this test."""
    manager = get_manager()
    added: list[str] = []

    def register(plugin: object, name: str) -> object:
        manager.register(plugin, name, source="test")
        added.append(name)
        return plugin

    yield register
    for name in added:
        manager.unregister(name)
