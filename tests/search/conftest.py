"""Search test fixtures: an Elasticsearch endpoint (a real one from ELASTICSEARCH_URL,
else noida-db started on loopback) and the backends under test."""

from __future__ import annotations

import pytest
from django.db import connection

from search.local_server import NoServer, elasticsearch_endpoint, noida_binary


@pytest.fixture(scope="session")
def elasticsearch_url():
    """An Elasticsearch-compatible endpoint for the whole run (search/local_server.py)."""
    import os

    if not os.environ.get("ELASTICSEARCH_URL") and noida_binary() is None:
        pytest.skip(
            "noida-db is not installed (pip install -e .[test]) and ELASTICSEARCH_URL is unset"
        )
    try:
        with elasticsearch_endpoint() as (url, _local):
            yield url
    except NoServer as exc:  # pragma: no cover - a broken install, reported as an error
        raise RuntimeError(str(exc)) from exc


def es_backend(url: str):
    from search.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend(url=url, prefix=f"test-{connection.settings_dict['NAME']}".lower())


@pytest.fixture(params=["postgres", "elasticsearch"])
def search_backend(request, tenant_db):
    """Each backend in turn, with the tenant's index emptied before and after."""
    if request.param == "postgres":
        from search.backends.postgres import PostgresBackend

        backend = PostgresBackend()
    else:
        backend = es_backend(request.getfixturevalue("elasticsearch_url"))
    backend.drop()
    yield backend
    connection.set_tenant(tenant_db)
    backend.drop()
