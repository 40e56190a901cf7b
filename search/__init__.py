"""Product search behind one interface, with two backends that pass one conformance suite.

``backend()`` is the deployment's backend (``SEARCH_BACKEND``: ``postgres``,
the default, or ``elasticsearch``); :func:`search` validates a query against
the tenant's filterable attributes, runs it there and highlights the hits.
Indexing is asynchronous: see :mod:`search.indexing`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backends.base import SearchBackend
    from .query import SearchQuery, SearchResult

_backends: dict[str, SearchBackend] = {}
_lock = threading.Lock()


def backend(name: str | None = None) -> SearchBackend:
    """The search backend named ``name``, or the deployment's (``SEARCH_BACKEND``)."""
    from django.conf import settings

    name = (name or settings.SEARCH_BACKEND or "postgres").lower()
    with _lock:
        found = _backends.get(name)
        if found is None:
            if name == "postgres":
                from .backends.postgres import PostgresBackend

                found = PostgresBackend()
            elif name == "elasticsearch":
                from .backends.elasticsearch import ElasticsearchBackend

                found = ElasticsearchBackend()
            else:
                raise ValueError(
                    f"Unknown SEARCH_BACKEND {name!r}: use 'postgres' or 'elasticsearch'."
                )
            _backends[name] = found
        return found


def search(query: SearchQuery, *, using: SearchBackend | None = None) -> SearchResult:
    """Validate ``query`` (raising :class:`search.query.SearchError`), run it, highlight the hits."""
    from dataclasses import replace

    from . import text
    from .documents import attribute_specs
    from .query import SearchResult, validate

    specs = attribute_specs()
    checked = validate(query, specs)
    if checked.scope.is_empty:
        return SearchResult(total=0, hits=())
    result = (using or backend()).search(checked, specs)
    if checked.text:
        hits = tuple(
            replace(h, highlight=text.highlight(h.name, checked.text)) for h in result.hits
        )
        result = replace(result, hits=hits)
    return result
