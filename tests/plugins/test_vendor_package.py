"""A vendor's plugin, installed with pip from its own package directory, works end to end:
discovered through its entry point, checked, enabled for one tenant only, its Django app
migrated into tenant schemas, its GraphQL fields gated, its own tests (on the kit) green."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from plugins.manager import DinghuoPluginManager
from plugins.services import enable_plugin

ROOT = Path(settings.BASE_DIR)
EXAMPLE = ROOT / "plugins" / "examples" / "dinghuo_example_vendor"
TEMPLATE = ROOT / "plugins" / "template"


def pip_install(source: Path, tmp: Path) -> Path:
    """``pip install --no-deps --target``: the project's environment is left as it was."""
    build = tmp / f"src-{source.name}"
    shutil.copytree(
        source, build, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = tmp / f"site-{source.name}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(build),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vendor")
    return {"example": pip_install(EXAMPLE, tmp), "template": pip_install(TEMPLATE, tmp)}


@pytest.fixture
def on_path(installed):
    added = []

    def add(name):
        path = str(installed[name])
        sys.path.insert(0, path)
        added.append(path)
        importlib.invalidate_caches()

    yield add
    for path in added:
        sys.path.remove(path)
    for module in [
        m
        for m in sys.modules
        if m.startswith(("dinghuo_example_vendor", "dinghuo_plugin_template"))
    ]:
        del sys.modules[module]
    importlib.invalidate_caches()


def test_the_example_is_discovered_checked_and_runs_for_its_tenant_only(on_path, two_tenants):
    manager = DinghuoPluginManager()
    assert "example_vendor" not in manager.discover()  # not installed: not found
    on_path("example")
    manager = DinghuoPluginManager()
    assert "example_vendor" in manager.discover()
    info = manager.infos["example_vendor"]
    assert (info.target, info.source) == (
        "dinghuo_example_vendor.plugin",
        "dinghuo-example-vendor 0.1.0",
    )
    assert (
        "dinghuo_example_vendor.apps.ExampleVendorConfig" in manager.django_apps()
    )  # with the built-ins
    first, second = two_tenants([], [])
    enable_plugin(tenant=first, name="example_vendor", manager=manager)
    assert [f.field for f in manager.hooks_for(first).search_filters(first)] == [
        "example_vendor_min_quantity"
    ]
    assert manager.hooks_for(second).search_filters(second) == []
    assert "BELOW_VENDOR_MINIMUM" in manager.order_error_codes()


def test_the_template_package_installs_and_passes_the_checks(on_path):
    on_path("template")
    manager = DinghuoPluginManager()
    assert "my_plugin" in manager.discover()
    assert "dinghuo_plugin_template.apps.MyPluginConfig" in manager.django_apps()


def test_the_example_vendors_own_suite_passes_with_its_app_in_tenant_schemas(
    installed, django_db_setup
):
    """A fresh process: settings discover the plugin's app, the test database's tenant
    schemas get its migration, and the vendor's tests (written with plugins.testing) pass."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(installed["example"])]),
        "TEST_DATABASE_NAME": f"{settings.DATABASES['default']['NAME']}_vendor",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "pytest",
            "-q",
            "-c",
            "pyproject.toml",
            "--rootdir",
            ".",
        ],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
