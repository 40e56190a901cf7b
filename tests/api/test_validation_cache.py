"""The GraphQL view validates a query string once and reuses the result."""

import pytest
from django.test import override_settings

from core.api import view
from core.testing.factories import UserFactory
from core.testing.pytest_plugin import gql, token_for

SHALLOW = "{ dealers { edges { node { parent { parent { code } } } } } }"


@pytest.fixture
def validations(monkeypatch):
    """Counts real validation runs (cache misses)."""
    view._validation_errors.cache_clear()
    calls = []
    real = view.validate

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(view, "validate", counting)
    yield calls
    view._validation_errors.cache_clear()


def test_a_repeated_query_is_validated_once(tenant_db, tenant_client, validations):
    token = token_for(UserFactory())
    for _ in range(3):
        status, body = gql(tenant_client, SHALLOW, token=token)
        assert status == 200 and "errors" not in body
    assert len(validations) == 1


def test_a_repeated_invalid_query_keeps_its_typed_errors(tenant_db, tenant_client, validations):
    for _ in range(2):
        status, body = gql(tenant_client, "{ noSuchField }")
        assert status == 400
        assert "noSuchField" in body["errors"][0]["message"]
    assert len(validations) == 1


def test_a_lower_depth_limit_is_never_answered_from_the_cache(
    tenant_db, tenant_client, validations
):
    token = token_for(UserFactory())
    assert gql(tenant_client, SHALLOW, token=token)[0] == 200
    with override_settings(GRAPHQL_MAX_DEPTH=3):
        status, body = gql(tenant_client, SHALLOW, token=token)
    assert status == 400 and "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert gql(tenant_client, SHALLOW, token=token)[0] == 200
