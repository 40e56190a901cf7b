import pytest

pytest_plugins = ["core.testing.pytest_plugin", "plugins.testing"]


@pytest.fixture
def plugin_name():
    return "my_plugin"
