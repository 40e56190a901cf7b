"""Fixtures for the inventory tests: the plugin kit's, for stock changes a plugin follows."""

from plugins.testing import plugin_manager, plugin_tenant  # noqa: F401 - fixtures
