"""Discovery from entry points, the checks on load, and how hook calls are prepared."""

from importlib import metadata

import pytest

from plugins.manager import (
    ENTRY_POINT_GROUP,
    PYPROJECT,
    DinghuoPluginManager,
    DuplicatePluginError,
    PluginContractError,
    PluginError,
    builtin_entry_points,
    get_manager,
)

from .sample_plugins import Misspelled, Recorder, WrongArgument

TABLE = '[project]\nname = "x"\n\n[project.entry-points."dinghuo.plugins"]\n'


def _pyproject(tmp_path, body):
    path = tmp_path / "pyproject.toml"
    path.write_text(TABLE + body)
    return path


def _ep(name, value):
    return metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_builtins_come_from_the_pyproject_table(tmp_path):
    path = _pyproject(tmp_path, 'sample = "tests.plugins.sample_builtin"\n')
    manager = DinghuoPluginManager()
    # Installed distributions' entry points come too (the project itself, when it is
    # installed with pip -e, registers the built-ins): the table's plugin is among them.
    assert "sample" in manager.discover(pyproject=path)
    info = manager.infos["sample"]
    assert (info.target, info.source) == ("tests.plugins.sample_builtin", "pyproject.toml")
    assert info.description.startswith("A module-level plugin")
    assert "tests.plugins" in manager.django_apps()
    assert "SAMPLE_REFUSED" in manager.order_error_codes()


def test_the_project_pyproject_table_is_read():
    # The project's own table: every built-in listed there becomes a plugin of the process.
    names = {ep.name for ep in builtin_entry_points(PYPROJECT)}
    assert names <= set(get_manager().names)
    assert builtin_entry_points(PYPROJECT / "missing") == []


def test_one_plugin_found_in_pyproject_and_installed_metadata_is_loaded_once():
    manager = DinghuoPluginManager()
    entries = [
        (_ep("sample", "tests.plugins.sample_builtin"), "pyproject.toml", ""),
        (_ep("sample", "tests.plugins.sample_builtin "), "dinghuo 0.1.0", "0.1.0"),
    ]
    assert manager.load_entry_points(entries) == ["sample"]


def test_two_plugins_with_one_name_are_refused(tmp_path):
    manager = DinghuoPluginManager()
    entries = [
        (_ep("sample", "tests.plugins.sample_builtin"), "pyproject.toml", ""),
        (_ep("sample", "tests.plugins.sample_builtin_other"), "acme-sample 2.0", "2.0"),
    ]
    with pytest.raises(DuplicatePluginError) as exc:
        manager.load_entry_points(entries)
    message = str(exc.value)
    assert "Two plugins are named 'sample'" in message
    assert "tests.plugins.sample_builtin (from pyproject.toml)" in message
    assert "tests.plugins.sample_builtin_other (from acme-sample 2.0)" in message
    assert manager.names == []  # nothing half-loaded


def test_registering_a_taken_name_or_the_same_plugin_twice_is_refused():
    manager = DinghuoPluginManager()
    first = Recorder("a")
    manager.register(first, "first")
    with pytest.raises(DuplicatePluginError, match="Two plugins are named 'first'"):
        manager.register(Recorder("b"), "first")
    with pytest.raises(DuplicatePluginError, match="registered twice"):
        manager.register(first, "again")
    # A later entry point with a name already registered in this manager is refused too.
    with pytest.raises(DuplicatePluginError):
        manager.load_entry_points([(_ep("first", "tests.plugins.sample_builtin"), "vendor 1", "1")])


def test_check_pending_catches_a_misspelled_hook():
    manager = DinghuoPluginManager()
    with pytest.raises(PluginContractError) as exc:
        manager.register(Misspelled(), "typo")
    assert "'validate_order_line' (did you mean 'validate_order_lines'?)" in str(exc.value)
    assert manager.names == []
    manager.register(Recorder("fine"), "fine")  # the refused plugin left nothing behind
    assert manager.names == ["fine"]


def test_an_argument_the_spec_does_not_offer_is_refused():
    manager = DinghuoPluginManager()
    with pytest.raises(PluginContractError, match="warehouse"):
        manager.register(WrongArgument(), "wrong")


@pytest.mark.parametrize("name", ["", "X", "has-dash", "1st", "a" * 41])
def test_plugin_names_are_identifiers(name):
    with pytest.raises(PluginContractError, match="not allowed"):
        DinghuoPluginManager().register(Recorder(name), name)


def test_an_entry_point_that_cannot_be_imported_is_a_clear_error():
    manager = DinghuoPluginManager()
    with pytest.raises(PluginError, match="'ghost' .*cannot be imported"):
        manager.load_entry_points([(_ep("ghost", "tests.plugins.no_such_module"), "ghost 1", "1")])


def test_django_apps_must_be_a_list_of_paths():
    from plugins import hookimpl

    class Bad:
        @hookimpl
        def django_apps(self):
            return "bad.app"

    manager = DinghuoPluginManager()
    manager.register(Bad(), "bad")
    with pytest.raises(PluginContractError, match="list of dotted app paths"):
        manager.django_apps()


def test_hook_dispatch_is_prepared_once_per_module_set():
    """The order path calls hooks_for(tenant) and a hook per order: both are dictionary
    look-ups after the first call (what that costs is measured by ``bench plugins``:
    ``hook_dispatch_ns``)."""
    from types import SimpleNamespace

    from plugins import hookimpl
    from plugins.types import OrderContext, OrderLine

    class Quiet:
        @hookimpl
        def validate_order_lines(self, lines):
            return []

    manager = DinghuoPluginManager()
    names = [f"p{i}" for i in range(4)]
    for name in names:
        manager.register(Quiet(), name)
    four = manager.hooks_for(SimpleNamespace(modules=names))
    assert manager.hooks_for(SimpleNamespace(modules=list(names))) is four
    assert manager.hooks_for(list(reversed(names))) is four  # one set, one TenantHooks
    calls = four.calls("validate_order_lines")
    assert len(calls) == 4 and four.calls("validate_order_lines") is calls
    context = OrderContext(tenant=None, dealer=None)
    assert four.validate_order_lines(context, [OrderLine(index=0, sku=None, quantity=1)]) == []
    none = manager.hooks_for(SimpleNamespace(modules=[]))
    assert not none.has("validate_order_lines") and none.calls("validate_order_lines") == ()


def test_modules_in_their_database_form_are_decoded():
    """A tenant built from a raw row holds ``modules`` as JSON text: it is decoded, never read
    letter by letter (nothing enabled) nor searched for substrings."""
    from types import SimpleNamespace

    from plugins.manager import enabled_modules
    from plugins.schema import ensure_plugin_enabled
    from plugins.services import is_enabled

    manager = DinghuoPluginManager()
    manager.register(Recorder("alpha"), "alpha")
    manager.register(Recorder("alphabet"), "alphabet")
    raw = SimpleNamespace(modules='["alphabet"]')
    assert enabled_modules(raw) == ("alphabet",)
    assert manager.hooks_for(raw).enabled == {"alphabet"}
    assert is_enabled(raw, "alphabet") and not is_enabled(raw, "alpha")
    assert enabled_modules(SimpleNamespace(modules="not json")) == ()
    assert enabled_modules(SimpleNamespace(modules=None)) == ()
    from graphql import GraphQLError

    with pytest.raises(GraphQLError):
        ensure_plugin_enabled(SimpleNamespace(context=SimpleNamespace(tenant=raw)), "alpha")
