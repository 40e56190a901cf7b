"""Plan limits: what enforce_plan_limit lets through and what it refuses."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation

from core.exceptions import DomainError
from core.testing.factories import DealerFactory, SkuFactory
from tenants import limits
from tenants.limits import enforce_plan_limit, register_usage_counter, usage_summary
from tenants.models import Plan, Subscription
from tenants.plans import set_tenant_modules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def small_plan(tenant):
    plan = Plan.objects.create(
        code="tiny",
        name="Tiny",
        max_dealers=2,
        max_skus=1,
        max_orders_per_month=3,
        allowed_modules=["pharma", "food"],
        max_modules=1,
    )
    Subscription.objects.create(tenant=tenant, plan=plan)
    return plan


def test_dealers_up_to_the_limit_then_refused(tenant_db, small_plan):
    enforce_plan_limit("dealers")
    DealerFactory.create_batch(2)
    with pytest.raises(DomainError) as err:
        enforce_plan_limit("dealers")
    assert err.value.code == "PLAN_LIMIT_EXCEEDED" and err.value.field == "dealers"
    assert "allows 2 dealers and you have 2" in err.value.message
    assert err.value.as_dict()["limit"] == 2


def test_closed_dealers_do_not_count(tenant_db, small_plan):
    from core.accounts.models import DealerStatus

    DealerFactory.create_batch(2, status=DealerStatus.CLOSED)
    enforce_plan_limit("dealers", adding=2)


def test_adding_several_at_once_is_checked_as_a_whole(tenant_db, small_plan):
    DealerFactory()
    enforce_plan_limit("dealers", adding=1)
    with pytest.raises(DomainError):
        enforce_plan_limit("dealers", adding=2)


def test_skus(tenant_db, small_plan):
    SkuFactory()
    with pytest.raises(DomainError) as err:
        enforce_plan_limit("skus")
    assert err.value.field == "skus"


def test_message_in_chinese(tenant_db, small_plan):
    SkuFactory()
    with translation.override("zh-hans"), pytest.raises(DomainError) as err:
        enforce_plan_limit("skus")
    assert "请升级套餐" in err.value.message


def test_orders_per_month_uses_a_registered_counter(tenant_db, small_plan, monkeypatch):
    monkeypatch.setattr(limits, "_counters", {})
    enforce_plan_limit("orders_per_month", adding=3)
    register_usage_counter("orders_per_month", lambda t: 3)
    with pytest.raises(DomainError) as err:
        enforce_plan_limit("orders_per_month")
    assert err.value.field == "orders_per_month"
    with pytest.raises(ValueError):
        register_usage_counter("unicorns", lambda t: 0)


def test_without_a_subscription_there_is_no_limit(tenant_db):
    DealerFactory.create_batch(3)
    enforce_plan_limit("dealers", adding=1000)


def test_public_schema_has_no_limit(db):
    connection.set_schema_to_public()
    enforce_plan_limit("dealers", adding=10**6)


def test_unknown_resource_is_a_programming_error(tenant_db):
    with pytest.raises(ValueError):
        enforce_plan_limit("unicorns")


def test_limits_are_per_tenant(tenant, other_tenant, small_plan, in_tenant):
    with in_tenant(other_tenant):
        DealerFactory.create_batch(5)
        enforce_plan_limit("dealers")  # beta has no plan
    with in_tenant(tenant):
        enforce_plan_limit("dealers", adding=2)


def test_modules_beyond_the_plan_are_refused_when_enabling(tenant, small_plan):
    with pytest.raises(DomainError) as err:
        set_tenant_modules(tenant=tenant, modules=["pharma", "food"])
    assert err.value.code == "PLAN_LIMIT_EXCEEDED" and "at most 1" in err.value.message
    with pytest.raises(DomainError) as err:
        set_tenant_modules(tenant=tenant, modules=["electronics"])
    assert "does not include" in err.value.message
    set_tenant_modules(tenant=tenant, modules=["food"])
    tenant.refresh_from_db()
    assert tenant.modules == ["food"]


def test_usage_summary(tenant, small_plan, in_tenant):
    with in_tenant(tenant):
        DealerFactory()
    connection.set_schema_to_public()
    rows = {r["resource"]: r for r in usage_summary(tenant)}
    assert rows["dealers"]["used"] == 1 and rows["dealers"]["limit"] == 2
    assert rows["skus"]["limit"] == 1
