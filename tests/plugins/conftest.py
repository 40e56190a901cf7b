"""Fixtures for the plugin system's tests: the vendor kit, and a fresh manager per test."""

import pytest

from plugins.manager import DinghuoPluginManager
from plugins.testing import (  # noqa: F401 - fixtures
    order_context,
    plugin_client,
    plugin_dealer,
    plugin_disabled_client,
    plugin_disabled_tenant,
    plugin_hooks,
    plugin_manager,
    plugin_staff_user,
    plugin_tenant,
    register_plugin,
)


@pytest.fixture
def manager():
    """A manager with no plugin: tests register the plugins they need."""
    return DinghuoPluginManager()


@pytest.fixture
def two_tenants(db, tenant, other_tenant):
    """``tenant`` with the plugins named ``alpha_*`` enabled, ``other_tenant`` with none.

    Returns a function that sets each tenant's ``modules`` for the test (rolled back).
    """
    saved = (list(tenant.modules or []), list(other_tenant.modules or []))

    def set_modules(first, second=()):
        tenant.modules, other_tenant.modules = list(first), list(second)
        return tenant, other_tenant

    yield set_modules
    tenant.modules, other_tenant.modules = saved
