"""The console's case-policy page checks through the service the API uses: a bad
value is a form error beside its field, nothing saved, never a 500."""

from __future__ import annotations

from core.accounts.models import Role
from core.testing.factories import UserFactory
from plugins.food.models import CasePolicy
from plugins.testing import PluginClient


def _admin_client(tenant) -> PluginClient:
    client = PluginClient(tenant)
    client.client.force_login(UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True))
    return client


def test_case_policy_page_shows_the_services_errors_and_saves_through_it(plugin_tenant, drinks):
    client = _admin_client(plugin_tenant)
    policy = CasePolicy.objects.get(sku=drinks.tea)
    url = f"/admin/food/casepolicy/{policy.pk}/change/"
    assert client.get(url).status_code == 200
    form = {
        "sku": drinks.tea.pk,
        "policy": "units_min",
        "min_units": 6,
        "case_unit": drinks.tea_case.pk,
    }
    for bad, field in (
        ({"shelf_life_days": 0}, "shelf_life_days"),
        ({"shelf_life_days": 40_000}, "shelf_life_days"),
        ({"min_units": 24, "shelf_life_days": 200}, "min_units"),
    ):
        response = client.client.post(url, {**form, **bad})
        assert response.status_code == 200, response.content.decode()[:500]
        assert field in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert (policy.min_units, policy.shelf_life_days) == (6, 270)
    response = client.client.post(url, {**form, "min_units": 12, "shelf_life_days": 120})
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert (policy.min_units, policy.shelf_life_days) == (12, 120)
    assert CasePolicy.objects.filter(sku=drinks.tea).count() == 1
