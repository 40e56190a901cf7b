"""Enabling plugins per tenant, and per-tenant plugin settings."""

from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import DomainError
from plugins.models import TenantPluginConfig
from plugins.services import (
    available_plugins,
    disable_plugin,
    enable_plugin,
    plugin_settings,
    set_enabled_plugins,
    set_plugin_settings,
    validate_plugin_names,
)
from tenants.models import Tenant

from .sample_plugins import Recorder


@pytest.fixture
def recorder(manager):
    plugin = Recorder("pharma_like")
    manager.register(plugin, "pharma_like")
    manager.register(Recorder("food_like"), "food_like")
    return plugin


def test_hook_plugin_enabled(manager, recorder, two_tenants):
    first, second = two_tenants([], [])
    enable_plugin(tenant=first, name="pharma_like", manager=manager)
    assert first.modules == ["pharma_like"]
    assert Tenant.objects.get(pk=first.pk).modules == ["pharma_like"]
    assert Tenant.objects.get(pk=second.pk).modules == []
    assert recorder.calls == [f"plugin_enabled:{first.schema_name}"]
    # Idempotent: enabling again changes nothing and does not run the hook again.
    enable_plugin(tenant=first, name="pharma_like", manager=manager)
    assert first.modules == ["pharma_like"] and len(recorder.calls) == 1
    # The tenant's hooks now include the plugin; the other tenant's do not.
    assert manager.hooks_for(first).enabled == {"pharma_like"}
    assert manager.hooks_for(second).enabled == frozenset()


def test_hook_plugin_enabled__runs_in_the_tenant_schema_and_may_refuse(manager, two_tenants):
    from plugins import hookimpl

    seen = []

    class Picky:
        @hookimpl
        def plugin_enabled(self, tenant):
            seen.append(connection.schema_name)
            raise DomainError("needs a licence", code="LICENCE_REQUIRED")

    manager.register(Picky(), "picky")
    first, _second = two_tenants([])
    with pytest.raises(DomainError) as exc:
        enable_plugin(tenant=first, name="picky", manager=manager)
    assert exc.value.code == "LICENCE_REQUIRED"
    assert seen == [first.schema_name]
    assert Tenant.objects.get(pk=first.pk).modules == [] and first.modules == []


def test_hook_plugin_disabled(manager, recorder, two_tenants):
    first, _second = two_tenants([])
    enable_plugin(tenant=first, name="pharma_like", manager=manager)
    connection.set_tenant(first)  # the console calls from the tenant's own host
    disable_plugin(tenant=first, name="pharma_like", manager=manager)
    connection.set_schema_to_public()
    assert first.modules == [] and Tenant.objects.get(pk=first.pk).modules == []
    assert recorder.calls[-1] == f"plugin_disabled:{first.schema_name}"
    disable_plugin(tenant=first, name="pharma_like", manager=manager)  # idempotent
    assert recorder.calls.count(f"plugin_disabled:{first.schema_name}") == 1


def test_unknown_plugin_is_refused(manager, recorder, two_tenants):
    first, _second = two_tenants([])
    with pytest.raises(DomainError) as exc:
        enable_plugin(tenant=first, name="pharma_typo", manager=manager)
    assert (exc.value.code, exc.value.field) == ("UNKNOWN_PLUGIN", "modules")
    assert validate_plugin_names(["food_like", "pharma_like", "food_like"], manager=manager) == [
        "food_like",
        "pharma_like",
    ]
    assert [p.name for p in available_plugins(manager=manager)] == ["food_like", "pharma_like"]


def test_set_enabled_plugins_replaces_the_set(manager, recorder, two_tenants):
    first, _second = two_tenants([])
    set_enabled_plugins(tenant=first, names=["pharma_like", "food_like"], manager=manager)
    assert Tenant.objects.get(pk=first.pk).modules == ["pharma_like", "food_like"]
    set_enabled_plugins(tenant=first, names=["food_like"], manager=manager)
    assert Tenant.objects.get(pk=first.pk).modules == ["food_like"]
    assert recorder.calls[-1] == f"plugin_disabled:{first.schema_name}"


def test_plan_limits_are_respected(manager, recorder, two_tenants):
    plans = pytest.importorskip("tenants.plans")
    from tenants.models import Plan, Subscription

    first, _second = two_tenants([])
    fields = {f.name for f in Subscription._meta.get_fields()}
    plan = Plan.objects.create(
        code="plugins-test",
        name="Plugins test",
        max_modules=1,
        allowed_modules=["pharma_like", "food_like"],
    )
    Subscription.objects.create(
        tenant=first, plan=plan, **({"status": "active"} if "status" in fields else {})
    )
    assert plans.plan_for_tenant(first) == plan
    enable_plugin(tenant=first, name="pharma_like", manager=manager)
    with pytest.raises(DomainError) as exc:
        enable_plugin(tenant=first, name="food_like", manager=manager)
    assert exc.value.code == plans.PLAN_LIMIT_CODE
    plan.allowed_modules, plan.max_modules = ["food_like"], 5
    plan.save()
    disable_plugin(tenant=first, name="pharma_like", manager=manager)
    with pytest.raises(DomainError) as exc:
        enable_plugin(tenant=first, name="pharma_like", manager=manager)
    assert exc.value.code == plans.PLAN_LIMIT_CODE and first.modules == []


def test_hook_plugin_settings(manager, recorder, two_tenants):
    first, second = two_tenants(["pharma_like"])
    defaults = {"limit": 5, "strict": False, "fee": Decimal("0.50"), "mode": "fefo", "label": ""}
    assert plugin_settings(tenant=first, name="pharma_like", manager=manager) == defaults
    values = set_plugin_settings(
        tenant=first,
        name="pharma_like",
        manager=manager,
        values={"limit": 7, "strict": True, "fee": "1.25", "mode": "fifo"},
    )
    assert values == {
        **defaults,
        "limit": 7,
        "strict": True,
        "fee": Decimal("1.25"),
        "mode": "fifo",
    }
    # Stored per tenant, in the public schema; the other tenant keeps the defaults.
    assert (
        TenantPluginConfig.objects.get(tenant=first, plugin="pharma_like").values["fee"] == "1.25"
    )
    assert plugin_settings(tenant=second, name="pharma_like", manager=manager) == defaults
    # None restores the default.
    assert (
        set_plugin_settings(
            tenant=first, name="pharma_like", manager=manager, values={"limit": None}
        )["limit"]
        == 5
    )


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"limit": 0}, "INVALID_SETTING", "limit"),
        ({"limit": 101}, "INVALID_SETTING", "limit"),
        ({"limit": "many"}, "INVALID_SETTING", "limit"),
        ({"strict": "yes"}, "INVALID_SETTING", "strict"),
        ({"fee": "abc"}, "INVALID_SETTING", "fee"),
        ({"fee": 0.1}, "INVALID_SETTING", "fee"),
        ({"mode": "lifo"}, "INVALID_SETTING", "mode"),
        ({"label": 3}, "INVALID_SETTING", "label"),
        ({"colour": "red"}, "UNKNOWN_SETTING", "colour"),
        # int("²") raised ValueError; NUL in text failed in PostgreSQL's jsonb (DataError)
        ({"limit": "²"}, "INVALID_SETTING", "limit"),
        ({"limit": "１０"}, "INVALID_SETTING", "limit"),
        ({"label": "a\x00b"}, "INVALID_SETTING", "label"),
        # a decimal without bounds of its own: finite Decimals no plugin can compute with
        ({"fee": "1e999999999"}, "INVALID_SETTING", "fee"),
        ({"fee": "-1e16"}, "INVALID_SETTING", "fee"),
        ({"fee": "1e-999999999"}, "INVALID_SETTING", "fee"),
        ({"fee": "0.12345678901"}, "INVALID_SETTING", "fee"),
        # 5,000 digits: int() raised ValueError (Python's digit limit)
        ({"limit": "9" * 5000}, "INVALID_SETTING", "limit"),
    ],
)
def test_bad_setting_values_are_refused_and_nothing_is_saved(
    manager, recorder, two_tenants, values, code, field
):
    first, _second = two_tenants(["pharma_like"])
    with pytest.raises(DomainError) as exc:
        set_plugin_settings(
            tenant=first, name="pharma_like", manager=manager, values={"limit": 9, **values}
        )
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not TenantPluginConfig.objects.filter(tenant=first).exists()


def test_an_unbounded_decimal_setting_takes_any_ordinary_amount(manager, recorder, two_tenants):
    first, _second = two_tenants(["pharma_like"])
    for fee, stored in (
        ("999999999999999", "999999999999999"),
        ("-0.0000000001", "-1E-10"),
        ("12.5000000000000", "12.5000000000000"),
        ("0E-30", "0E-30"),
    ):
        values = set_plugin_settings(
            tenant=first, name="pharma_like", manager=manager, values={"fee": fee}
        )
        assert values["fee"] == Decimal(fee)
        assert TenantPluginConfig.objects.get(tenant=first).values["fee"] == stored


def test_modules_are_enabled_for_tenants_not_the_platform(manager, recorder, db):
    public = Tenant.objects.get(schema_name="public")
    with pytest.raises(DomainError):
        enable_plugin(tenant=public, name="pharma_like", manager=manager)
