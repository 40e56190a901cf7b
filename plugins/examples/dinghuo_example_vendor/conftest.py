"""The plugin's tests run on the platform's test harness and the plugin test kit."""

import pytest

pytest_plugins = ["core.testing.pytest_plugin", "plugins.testing"]


@pytest.fixture
def plugin_name():
    return "example_vendor"
