pytest_plugins = ["core.testing.pytest_plugin"]
